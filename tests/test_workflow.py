"""The real snakemake on a temporary copy of the workflow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import (
    DATA,
    THREE_STATIONS,
    copy_workflow,
    read_config,
    run_snakemake,
    write_config,
)
from PIL import Image

pytestmark = pytest.mark.integration


def planned_jobs(result) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = result.stdout.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_dry_run_plans_one_plot_job_per_station(tmp_path):
    workdir = copy_workflow(tmp_path)  # the default twelve
    jobs = planned_jobs(
        run_snakemake(workdir, "-n", "results/plots/USC00042319.png", "--forceall")
    )
    assert jobs["plot_station"] == 1
    all_jobs = planned_jobs(run_snakemake(workdir, "-n", "--until", "plot_station"))
    assert all_jobs["plot_station"] == 12


def test_adding_a_station_adds_exactly_one_plot_job(workflow_copy):
    run_snakemake(workflow_copy, "--cores", "2", "--until", "plot_station")
    config = read_config(workflow_copy)
    config["stations"].append(
        {"id": "OXFORD-TEST", "file": str(DATA / "UK000056225.dly.gz")}
    )
    write_config(workflow_copy, config)
    jobs = planned_jobs(run_snakemake(workflow_copy, "-n", "--until", "plot_station"))
    assert jobs["plot_station"] == 1


def test_run_makes_a_png_and_timing_record_per_station(workflow_copy):
    run_snakemake(workflow_copy, "--cores", "2", "--until", "plot_station")
    for station in THREE_STATIONS:
        png = workflow_copy / "results" / "plots" / f"{station}.png"
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.size == (1200, 1050)
        record = json.loads(
            (
                workflow_copy / "results" / "timings" / "plots" / f"{station}.json"
            ).read_text()
        )
        assert record["name"] == station
        assert record["process_start"] <= record["start"] < record["end"]
        # Plotted by a worker forked from the run's warm plot server.
        assert record["worker"] == "forked"
        assert set(record["phases"]) == {"handoff", "read", "plot", "save"}
        assert (workflow_copy / "logs" / "plot_station" / f"{station}.log").exists()
        assert (
            workflow_copy / "benchmarks" / "plot_station" / f"{station}.tsv"
        ).exists()
    # The server served the three jobs and left with the run.
    server_log = (workflow_copy / "logs" / "plot_server.log").read_text()
    assert "stopped after 3 plot(s)" in server_log
    server_pid = int(server_log.split("plot server ")[1].split()[0])
    assert not Path(f"/proc/{server_pid}").exists()
    # The same data gives the same bytes, also from a second, independent run in
    # fresh processes (no server).
    first = {
        s: (workflow_copy / "results/plots" / f"{s}.png").read_bytes()
        for s in THREE_STATIONS
    }
    run_snakemake(
        workflow_copy,
        "--cores",
        "2",
        "--until",
        "plot_station",
        "--forceall",
        "--config",
        "plot_server=False",
    )
    for station, content in first.items():
        assert (
            workflow_copy / "results/plots" / f"{station}.png"
        ).read_bytes() == content
        record = json.loads(
            (workflow_copy / "results/timings/plots" / f"{station}.json").read_text()
        )
        assert record["worker"] == "fresh"
        assert set(record["phases"]) == {"imports", "read", "plot", "save"}
