"""config/quick.yaml, the quick run for a class: it validates, runs every rule of the
default target on shipped stations with the demos scaled down, and the timing report
says it is a quick run (and only then)."""

from __future__ import annotations

import pytest
import yaml
from helpers import REPO, copy_workflow, planned_jobs, run_snakemake

from weatherplot.report.analysis import Inputs, compute
from weatherplot.report.render import render_html, render_markdown

QUICK = REPO / "config" / "quick.yaml"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
QUICK_LINE = "A quick run (`quick_run: true`, as in `config/quick.yaml`)"


def quick_config() -> dict:
    return yaml.safe_load(QUICK.read_text())


def test_quick_config_scales_the_demos_down_and_says_so():
    quick = quick_config()
    assert quick["quick_run"] is True
    lesson = yaml.safe_load(SCHEMA.read_text())["properties"]["demos"]["properties"]
    sizes = quick["demos"]
    # Smaller than the lesson's where time goes; never larger anywhere.
    for key in ("sleep_seconds", "array_size", "pure_python_n", "contended_increments"):
        assert sizes[key] < lesson[key]["default"], key
    for key, value in sizes.items():
        assert value <= lesson[key]["default"], key
    assert quick["baselines"]["repeats"] == 1
    # Only shipped stations: the quick run needs no network.
    shipped = {p.name.split(".")[0] for p in (REPO / "data").glob("*.dly.gz")}
    assert {s["id"] for s in quick["stations"]} <= shipped


@pytest.mark.integration
def test_quick_config_validates_and_plans_the_whole_workflow(tmp_path):
    stations = [s["id"] for s in quick_config()["stations"]]
    workdir = copy_workflow(tmp_path, stations)
    dry = run_snakemake(workdir, "-n", "--configfile", "config/quick.yaml")
    jobs = planned_jobs(dry)
    assert jobs == {
        "demo": 7,
        "station_table": 1,
        "exercise": 1,
        "plot_station": len(stations),
        "timing_report": 1,
        "all": 1,
        "total": 11 + len(stations),
    }, jobs


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_the_report_says_a_quick_run_is_one_and_only_then(render):
    assert QUICK_LINE.replace("`", "") in strip_code(
        render(compute(Inputs(quick_run=True)), {})
    )
    assert "A quick run" not in render(compute(Inputs()), {})


def strip_code(text: str) -> str:
    """The text without Markdown backticks or HTML code tags."""
    return text.replace("`", "").replace("<code>", "").replace("</code>", "")
