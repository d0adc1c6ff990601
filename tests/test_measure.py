"""The measure layer (weatherplot.measure and the modules that time with it): its
imports run one way, its one timer says what failed, and the exercise's Pool starts
its workers by the configured start method. Real commands, real plots; no timed
assertion."""

from __future__ import annotations

import ast
import multiprocessing
import sys

import pytest
from helpers import FIXTURE_DATA, MELBOURNE, REPO

from weatherplot.baselines import run_baseline
from weatherplot.measure import MeasureError, run_command

PACKAGE = REPO / "workflow" / "weatherplot"
#: The modules that measure: they write records and never read the report.
MEASURE_LAYER = ("measure", "exercise", "baselines", "scaling", "scratch")


def package_imports(module: str) -> set[str]:
    """The package's modules that ``weatherplot.<module>`` imports, at any level
    (a function-level import makes a circle too), as dotted names under it."""
    imported = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            imported |= {name.split(".")[0] for name in names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "weatherplot."
        ):
            imported.add(node.module.split(".")[1])
    return imported


def test_the_measure_layer_imports_no_report_and_no_circle():
    graph = {m: package_imports(m) for m in MEASURE_LAYER}
    for module, imported in graph.items():
        assert "report" not in imported, module
        assert "__main__" not in imported, module

    def reaches(start: str, goal: str, seen: set) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    circles = [m for m in MEASURE_LAYER if reaches(m, m, set())]
    assert circles == []


def test_a_timed_command_gives_its_wall_and_cpu_time():
    burn = "sum(i * i for i in range(2_000_000))"
    run = run_command([sys.executable, "-c", burn], "burn", timeout=120)
    assert run["wall"] > 0 and run["cpu"] > 0
    # Epoch seconds near 1.8e9 are floats with a 2.4e-7 s step: equal to that step.
    assert run["command_end"] - run["command_start"] == pytest.approx(
        run["wall"], abs=1e-6
    )


def test_a_failed_command_says_its_own_line_or_the_command_and_its_stderr():
    own = "import sys; print('ERROR: station X1: broken', file=sys.stderr); exit(1)"
    with pytest.raises(MeasureError) as caught:
        run_command([sys.executable, "-c", own], "a baseline", timeout=60)
    assert str(caught.value) == "station X1: broken"
    crash = "import sys; print('Traceback: boom', file=sys.stderr); exit(3)"
    with pytest.raises(MeasureError) as caught:
        run_command([sys.executable, "-c", crash], "nested snakemake", timeout=60)
    message = str(caught.value)
    assert message.startswith(f"nested snakemake failed (3): {sys.executable} -c")
    assert message.endswith("Traceback: boom\n")


def test_a_command_that_does_not_finish_is_stopped_and_named():
    with pytest.raises(MeasureError, match=r"^sleeper did not finish in 1 s: "):
        run_command([sys.executable, "-c", "import time; time.sleep(60)"], "sleeper", 1)


STATION = [
    {
        "id": MELBOURNE,
        "file": str(FIXTURE_DATA / f"{MELBOURNE}.dly.gz"),
        "format": "ghcnd",
    }
]


@pytest.mark.parametrize("setting", ["spawn", "default"])
def test_the_pool_starts_its_workers_by_the_start_method(setting):
    """spawn is a macOS student's Pool: every worker imports NumPy and Matplotlib
    itself; it draws the same plot as the loop. "default" is this interpreter's own
    method, which the run names."""
    pool = run_baseline("pool", 2, STATION, log=lambda m: None, start_method=setting)
    serial = run_baseline("serial", 1, STATION, log=lambda m: None)
    expected = multiprocessing.get_all_start_methods()[0]
    assert pool["start_method"] == (expected if setting == "default" else setting)
    assert pool["digests"] == serial["digests"]
    assert pool["cpu"] > 0 and pool["wall"] > pool["loop_seconds"] > 0
