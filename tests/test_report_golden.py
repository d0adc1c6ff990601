"""The timing report rendered from a saved set of records is the same text as before.

``tests/fixtures/report-records/`` holds the records of a real run
(``snakemake --cores 2 --configfile config/quick.yaml``: the plot, demo and exercise
records the ``timing_report`` rule reads, as ``results/timings/`` had them) and
``report.json``, what the rule passed besides them (the stations, the Snakemake
version, ``quick_run``, the demos in the rule's order) and what the report's own
process found then (its interpreter, versions and platform, when it wrote the report).
``tests/fixtures/report-golden/`` holds the Markdown and the HTML rendered from them.

A change to the report's wording, layout or arithmetic, or to how records are read,
shows here as a diff. Only what varies from machine to machine is held fixed: the
report process's environment and clock (set from ``report.json``) and the charts'
pixels (matplotlib's and the fonts' versions: the HTML's embedded PNGs are compared
as a placeholder; their presence and order still count).

Changed the report on purpose? Regenerate the expected text and review the diff:

    WEATHERPLOT_REGENERATE_GOLDEN=1 pytest -n 0 tests/test_report_golden.py
    git diff tests/fixtures/report-golden/
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from weatherplot import report
from weatherplot.report import analysis

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS = FIXTURES / "report-records"
GOLDEN = FIXTURES / "report-golden"
REGENERATE = os.environ.get("WEATHERPLOT_REGENERATE_GOLDEN") == "1"

# A chart's pixels depend on matplotlib's and the fonts' versions.
PNG_DATA = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


@pytest.fixture
def rendered(tmp_path, monkeypatch):
    """The Markdown and HTML report written from the saved records, laid out as the
    rule lays them out (results/report/ beside results/plots/)."""
    meta = json.loads((RECORDS / "report.json").read_text())
    real_environment = analysis.collect_environment

    def saved_environment(*args, **kwargs):
        return {**real_environment(*args, **kwargs), **meta["environment"]}

    monkeypatch.setattr(analysis, "collect_environment", saved_environment)
    monkeypatch.setattr(analysis.time, "time", lambda: meta["written"])

    inputs = report.load_inputs(
        plots=[RECORDS / "plots" / f"{s}.json" for s in meta["stations"]],
        demos=[RECORDS / "demos" / f"{d}.json" for d in meta["demos"]],
        exercise=RECORDS / "exercise.json",
        scaling=RECORDS / "scaling.json",  # absent: the report says so
        stations=meta["stations"],
        cores=json.loads((RECORDS / "exercise.json").read_text())["cores"],
        snakemake_version=meta["snakemake_version"],
        quick_run=meta["quick_run"],
    )
    out = tmp_path / "results" / "report"
    report.write_report(
        inputs,
        markdown_path=out / "timing_report.md",
        html_path=out / "timing_report.html",
        json_path=out / "timings.json",
        charts_dir=out / "timing_report_charts",
        plots_dir=tmp_path / "results" / "plots",
    )
    return {
        "timing_report.md": (out / "timing_report.md").read_text(),
        "timing_report.html": PNG_DATA.sub(
            "data:image/png;base64,<chart>", (out / "timing_report.html").read_text()
        ),
    }


@pytest.mark.parametrize("name", ["timing_report.md", "timing_report.html"])
def test_report_from_saved_records_is_unchanged(rendered, name):
    expected = GOLDEN / name
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        expected.write_text(rendered[name])
    assert rendered[name] == expected.read_text(), (
        f"the report rendered from {RECORDS} differs from {expected}; if the change "
        "is intended, regenerate it (this file's docstring says how) and review the "
        "diff"
    )
