"""The file-format registry (weatherplot.io.FORMATS): a new format is its io module
and one entry there; no other module names a format on its own."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
import yaml
from helpers import CDO, FIXTURE_DATA, REPO

from weatherplot.io import DATA_SUFFIXES, FORMATS, formats_for, read_station, reader

PACKAGE = REPO / "workflow" / "weatherplot"
# A real file of each format (tests/data, tests/fixtures).
SAMPLES = {
    "ghcnd": FIXTURE_DATA / "USC00042319.dly.gz",
    "cdo": CDO / "USC00042319_2021_standard.csv",
}


def test_the_config_schema_offers_exactly_the_registered_formats():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    station = schema["properties"]["stations"]["items"]["properties"]
    assert station["format"]["enum"] == list(FORMATS)


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_has_a_reader_and_is_found_by_its_suffixes(name):
    assert callable(reader(name))
    for suffix in FORMATS[name].suffixes:
        assert suffix in DATA_SUFFIXES
        assert name in formats_for(f"data/X1{suffix.upper()}")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_file_of_each_format_reads_through_the_registry(name):
    daily, metadata = read_station(SAMPLES[name], format=name, units="standard")
    assert len(daily) > 300 and metadata


def test_the_plot_servers_preloaded_readers_bring_no_pandas():
    """Run in a fresh interpreter: this one has pandas already."""
    code = (
        "import sys; from weatherplot.io import preload_readers; preload_readers(); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def _strings(tree):
    """String constants, not the fragments of an f-string (paths, URLs, prose)."""
    fragments = {
        id(v)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for v in node.values
    }
    for node in ast.walk(tree):
        string = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if string and id(node) not in fragments:
            yield node.lineno, node.value


def test_no_module_outside_io_names_a_format_on_its_own():
    """A format's name or suffix as a value outside weatherplot/io/ (and the rules
    files) means a second place to change for a new format: ask FORMATS instead."""
    named = set(FORMATS) | set(DATA_SUFFIXES)
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent).as_posix()
        if where.startswith("weatherplot/io/"):
            continue
        for line, value in _strings(ast.parse(path.read_text())):
            if value in named:
                found.append(f"{where}:{line}: {value!r}")
    rules = [*(REPO / "workflow" / "rules").glob("*.smk"), REPO / "workflow/Snakefile"]
    quoted = re.compile(r"""["']([^"'\n]*)["']""")
    for path in rules:
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            for value in quoted.findall(text.split("#", 1)[0]):
                if value in named:
                    found.append(f"{path.relative_to(REPO)}:{number}: {value!r}")
    assert not found, "name a format through weatherplot.io.FORMATS:\n" + "\n".join(
        found
    )
