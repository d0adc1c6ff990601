"""The real snakemake on a temporary copy of the workflow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import helpers
import pytest
from helpers import (
    FIXTURE_DATA,
    FIXTURE_STATIONS,
    OXFORD,
    THREE_STATIONS,
    copy_workflow,
    fixture_config,
    planned_jobs,
    read_config,
    run_snakemake,
    write_config,
)
from PIL import Image

from weatherplot.scratch import copy_workflow_code

pytestmark = pytest.mark.integration


def test_dry_run_plans_one_plot_job_per_station(tmp_path):
    workdir = copy_workflow(tmp_path)  # the fixture's stations
    jobs = planned_jobs(
        run_snakemake(workdir, "-n", "results/plots/USC00042319.png", "--forceall")
    )
    assert jobs["plot_station"] == 1
    all_jobs = run_snakemake(workdir, "-n", "--until", "plot_station")
    assert planned_jobs(all_jobs)["plot_station"] == len(FIXTURE_STATIONS)
    for station in FIXTURE_STATIONS:  # each from its file in data_dir
        assert f"data/{station}.dly.gz" in all_jobs.stdout


def test_the_users_config_never_reaches_a_scratch_copy(tmp_path, monkeypatch):
    """A checkout whose config/config.yaml would break every test (other stations,
    no plot server, a demo no machine can hold): its scratch copies still get the
    fixture config, and the copy's DAG builds."""
    (tmp_path / "checkout").mkdir()
    checkout = copy_workflow_code(tmp_path / "checkout", helpers.REPO)
    hostile = {
        "stations": [{"id": "JA000047759"}, {"id": "USW00023183"}],
        "plot_server": False,
        "demos": {"array_size": 10**12},
    }
    write_config(checkout, hostile)
    monkeypatch.setattr(helpers, "REPO", checkout)
    workdir = copy_workflow(tmp_path / "copy")
    assert read_config(workdir) == fixture_config()
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--until", "plot_station"))
    assert jobs["plot_station"] == len(FIXTURE_STATIONS)


def test_adding_a_station_adds_exactly_one_plot_job(finished_run, tmp_path):
    """As the README says: put the file in data/, add one entry with its id (in a
    copy of the finished run, which it must leave as it is)."""
    workdir = tmp_path / "copy"
    shutil.copytree(finished_run, workdir, symlinks=True)  # copy2: keeps the mtimes
    (workdir / "data" / f"{OXFORD}.dly.gz").write_bytes(
        (FIXTURE_DATA / f"{OXFORD}.dly.gz").read_bytes()
    )
    config = read_config(workdir)
    config["stations"].append({"id": OXFORD})
    write_config(workdir, config)
    dry = run_snakemake(workdir, "-n", "--until", "plot_station")
    assert planned_jobs(dry)["plot_station"] == 1
    assert f"results/plots/{OXFORD}.png" in dry.stdout


def test_run_makes_a_png_and_timing_record_per_station(finished_run, workflow_copy):
    """Both plot-server settings, each set explicitly: forked workers (the finished
    run: the fixture config sets plot_server: true), then fresh processes in a run of
    its own, and the same bytes from both."""
    assert fixture_config()["plot_server"] is True
    for station in THREE_STATIONS:
        png = finished_run / "results" / "plots" / f"{station}.png"
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.size == (1200, 1050)
        record = json.loads(
            (
                finished_run / "results" / "timings" / "plots" / f"{station}.json"
            ).read_text()
        )
        assert record["name"] == station
        assert record["process_start"] <= record["start"] < record["end"]
        # Plotted by a worker forked from the run's warm plot server.
        assert record["worker"] == "forked"
        assert set(record["phases"]) == {"handoff", "read", "plot", "save"}
        assert (finished_run / "logs" / "plot_station" / f"{station}.log").exists()
        # The plotting process's own CPU time and peak memory (no benchmark: file).
        assert 0 < record["cpu_seconds"] < 600 and 0 < record["max_rss_mb"] < 4000
    # The server served the three jobs and left with the run.
    server_log = (finished_run / "logs" / "plot_server.log").read_text()
    assert "stopped after 3 plot(s)" in server_log
    server_pid = int(server_log.split("plot server ")[1].split()[0])
    assert not Path(f"/proc/{server_pid}").exists()
    # The same data gives the same bytes, also from a second, independent run in
    # fresh processes (no server).
    plot = ("--cores", "2", "--until", "plot_station")
    run_snakemake(workflow_copy, *plot, "--config", "plot_server=False")
    for station in THREE_STATIONS:
        assert (workflow_copy / "results/plots" / f"{station}.png").read_bytes() == (
            finished_run / "results/plots" / f"{station}.png"
        ).read_bytes()
        record = json.loads(
            (workflow_copy / "results/timings/plots" / f"{station}.json").read_text()
        )
        assert record["worker"] == "fresh"
        assert set(record["phases"]) == {"imports", "read", "plot", "save"}
    assert not (workflow_copy / "logs" / "plot_server.log").exists()
