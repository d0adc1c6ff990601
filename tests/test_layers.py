"""Imports run one way (issue 31): no import circle in the package; nothing below the
report imports it; nothing outside an optional part (the plot server, the CPython
build) imports that part, so either can be removed (test_optional_parts.py runs the
workflow without them).

The graph is read from the source with ast: every import, at module level or inside
a function, relative or absolute, that names a module of the package. Run this file
with python to print the graph and its circles."""

from __future__ import annotations

import ast
import graphlib
import sys
from importlib.util import resolve_name
from pathlib import Path

from helpers import REPO

PACKAGE = REPO / "workflow" / "weatherplot"

# Imported by nothing outside themselves: the report reads the records the layers below
# it write; the optional parts are used only by the workflow's rules and scripts.
TOP = ("weatherplot.report", "weatherplot.plotserver", "weatherplot.ftbuild")
# Above the report, like the rules' scripts: the package's command line (python -m
# weatherplot), which measures and prints the report's analysis of it. (Not above
# the optional parts: it must run without them.)
ENTRY = "weatherplot.__main__"

# What was there before issue 31 and is still being taken out (issue 31, item 1): the
# tests fail on any other circle or arrow, and once one of these is gone (then take it
# out here, so that it cannot come back unseen).
KNOWN_CIRCLES = []
KNOWN_ARROWS = set()


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at root -> the package's modules it imports."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = resolve_name("." * node.level + (node.module or ""), package)
                for alias in node.names:  # `from . import x` may name a module x
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles: each found one is listed and broken, until none is left."""
    graph = {name: set(targets) for name, targets in graph.items()}
    found = []
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return found
        except graphlib.CycleError as error:
            cycle = error.args[1][:0:-1]  # graphlib: against the arrows, ends twice
            found.append(cycle)
            graph[cycle[0]].discard(cycle[1])


def inside(module: str, part: str) -> bool:
    return module == part or module.startswith(part + ".")


def wrong_arrows(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Arrows into a TOP part from a module outside it (the report's from ENTRY
    aside)."""
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        for part in TOP
        if inside(target, part)
        and not inside(source, part)
        and (source, part) != (ENTRY, "weatherplot.report")
    }


def parts(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between the package's parts (its top-level modules and subpackages):
    demos.common -> report.metrics is an arrow demos -> report."""

    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    collapsed: dict[str, set[str]] = {}
    for source, targets in graph.items():
        collapsed.setdefault(part(source), set()).update(
            part(t) for t in targets if part(t) != part(source)
        )
    return collapsed


def test_the_package_has_no_import_circle():
    assert [set(circle) for circle in circles(import_graph(PACKAGE))] == KNOWN_CIRCLES
    # Nor between its parts (a subpackage's modules may import each other).
    assert circles(parts(import_graph(PACKAGE))) == []


def test_no_module_imports_the_report_or_an_optional_part_from_outside():
    assert wrong_arrows(import_graph(PACKAGE)) == KNOWN_ARROWS


def test_the_readers_import_nothing_above_them():
    """io is the bottom layer: the readers and the table they return import only
    each other and the package's errors (a reader importing core would make the core
    a layer below the files it reads)."""
    above = {
        (source, target)
        for source, targets in import_graph(PACKAGE).items()
        if inside(source, "weatherplot.io")
        for target in targets
        if not inside(target, "weatherplot.io") and target != "weatherplot.errors"
    }
    assert above == set()


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "weatherplot"


def test_the_graph_sees_relative_absolute_and_function_level_imports(tmp_path):
    package = write(
        tmp_path,
        {
            "weatherplot/__init__.py": "",
            "weatherplot/io/__init__.py": "from . import csv\n",
            "weatherplot/io/csv.py": "import json\nfrom ..errors import Bad\n",
            "weatherplot/errors.py": "",
            "weatherplot/daily.py": "def f():\n    from .io import csv, read\n",
            "weatherplot/climate.py": "import weatherplot.daily\n",
        },
    )
    assert import_graph(package) == {
        "weatherplot": set(),
        "weatherplot.io": {"weatherplot.io.csv"},
        "weatherplot.io.csv": {"weatherplot.errors"},
        "weatherplot.errors": set(),
        "weatherplot.daily": {"weatherplot.io", "weatherplot.io.csv"},
        "weatherplot.climate": {"weatherplot.daily"},
    }


def test_a_planted_circle_and_wrong_arrows_are_found(tmp_path):
    package = write(
        tmp_path,
        {
            "weatherplot/__init__.py": "",
            "weatherplot/exercise.py": "from .scaling import run\n",
            "weatherplot/scaling.py": "def f():\n    from . import exercise\n",
            "weatherplot/daily.py": "from .plotserver.client import ENV_VAR\n",
            "weatherplot/plotserver/__init__.py": "",
            "weatherplot/plotserver/client.py": "from ..errors import Bad\n",
            "weatherplot/errors.py": "",
            "weatherplot/report/__init__.py": "from .. import daily\n",
            "weatherplot/timing.py": "from weatherplot.report import render\n",
            "weatherplot/__main__.py": "from .report import render\n"
            "from .plotserver import client\n",
            # No module in a circle, but the parts demos and report are.
            "weatherplot/demos/__init__.py": "",
            "weatherplot/demos/common.py": "from ..report.lesson import Prediction\n",
            "weatherplot/report/lesson.py": "",
            "weatherplot/report/analysis.py": "from ..demos import common\n",
        },
    )
    graph = import_graph(package)
    assert [set(circle) for circle in circles(graph)] == [
        {"weatherplot.exercise", "weatherplot.scaling"}
    ]
    assert sorted(sorted(circle) for circle in circles(parts(graph))) == [
        ["weatherplot.demos", "weatherplot.report"],
        ["weatherplot.exercise", "weatherplot.scaling"],
    ]
    assert wrong_arrows(graph) == {
        ("weatherplot.daily", "weatherplot.plotserver.client"),
        ("weatherplot.timing", "weatherplot.report"),
        ("weatherplot.__main__", "weatherplot.plotserver.client"),
        ("weatherplot.demos.common", "weatherplot.report.lesson"),
    }


def graph_text(root: Path) -> str:
    graph = import_graph(root)
    lines = [
        f"{name.removeprefix('weatherplot.')} -> "
        + ", ".join(sorted(t.removeprefix("weatherplot.") for t in targets))
        for name, targets in sorted(graph.items())
        if targets
    ]
    lines += [f"circle: {' -> '.join(c + c[:1])}" for c in circles(graph)]
    lines += [f"parts' circle: {' -> '.join(c + c[:1])}" for c in circles(parts(graph))]
    lines += [f"wrong arrow: {s} -> {t}" for s, t in sorted(wrong_arrows(graph))]
    return "\n".join(lines)


if __name__ == "__main__":  # python tests/test_layers.py [PACKAGE_DIR]
    print(graph_text(Path(sys.argv[1]) if sys.argv[1:] else PACKAGE))
