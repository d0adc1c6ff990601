"""The whole workflow (plots, demos, the exercise timing, report) with the fixture
config's tiny demo sizes, then Snakemake's own HTML report on the same run."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from helpers import THREE_STATIONS, run_snakemake

pytestmark = pytest.mark.integration


def test_every_timing_record_is_written(finished_run):
    timings = finished_run / "results" / "timings"
    for station in THREE_STATIONS:
        assert json.loads((timings / "plots" / f"{station}.json").read_text())["end"]
    demos = {
        p.stem: json.loads(p.read_text()) for p in (timings / "demos").glob("*.json")
    }
    assert set(demos) == {"sleep", "numpy", "shared_list", "pool"}
    assert demos["shared_list"]["results"]["threads"] == [11, 2, 3]
    assert demos["shared_list"]["results"]["processes"] == [1, 2, 3]
    assert demos["pool"]["results"]["result"] == [3, 2, 10]
    exercise = json.loads((timings / "exercise.json").read_text())
    assert sorted(exercise["stations"]) == sorted(THREE_STATIONS)
    assert set(exercise["methods"]) == {"serial", "pool", "snakemake"}
    fan = exercise["methods"]["snakemake"]["runs"][0]
    # The nested snakemake ran every station's plot job, all inside its own wall
    # time: start-up before the first job, exit after the last.
    assert fan["jobs"] == len(THREE_STATIONS)
    assert fan["command_start"] < fan["first_job_start"]
    assert fan["last_job_end"] < fan["command_end"]


def test_timing_jobs_never_overlap_the_plot_fan_out(finished_run):
    timings = finished_run / "results" / "timings"
    plots = [json.loads(p.read_text()) for p in (timings / "plots").glob("*.json")]
    exclusive = [json.loads(p.read_text()) for p in (timings / "demos").glob("*.json")]
    exclusive.append(
        {"name": "exercise", **json.loads((timings / "exercise.json").read_text())}
    )
    fan_out = (min(r["process_start"] for r in plots), max(r["end"] for r in plots))
    for record in exclusive:
        assert record["end"] <= fan_out[0] or record["start"] >= fan_out[1], record[
            "name"
        ]


def test_report_files_answer_the_lessons_questions(finished_run):
    report = finished_run / "results" / "report"
    markdown = (report / "timing_report.md").read_text()
    for question in (
        "How long does each variant take?",
        "What is the maximum speedup you can expect?",
        "What do you actually get?",
    ):
        assert question in markdown
    assert "[11, 2, 3]" in markdown and "[3, 2, 10]" in markdown
    html = (report / "timing_report.html").read_text()
    charts = re.findall(r'<img[^>]+src="data:image/png;base64,', html)
    assert len(charts) >= 3  # whole commands, demos, Gantt timeline
    assert markdown.index("What do you actually get?") < markdown.index(
        "## The exercise"
    )
    figures = json.loads((report / "timings.json").read_text())
    assert figures["environment"]["cores"] == 2


def test_snakemake_html_report_includes_plots_and_timing(finished_run):
    run_snakemake(finished_run, "--report", "report.zip")
    with zipfile.ZipFile(finished_run / "report.zip") as archive:
        names = archive.namelist()
    assert any(name.endswith("USC00042319.png") for name in names)
    assert any(name.endswith("timing_report.html") for name in names)
