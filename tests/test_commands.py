"""The README's commands that no other test runs, at the smallest size that runs them
end to end: ``python -m weatherplot.benchmark``, ``python -m weatherplot.scaling
generate`` (and the dry run of its config), ``python -m weatherplot.scaling study`` and
``python -m weatherplot.exercise``.
Each runs in a scratch copy, importing that copy's package. Their figures are not
checked (a benchmark asserts nothing on a shared machine); what they report is."""

from __future__ import annotations

import json

import pytest
from helpers import (
    DEATH_VALLEY,
    MELBOURNE,
    copy_workflow,
    planned_jobs,
    read_config,
    run_module,
    run_snakemake,
    write_config,
)

pytestmark = pytest.mark.integration

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_benchmark_times_the_data_folder_whatever_the_config_lists(tmp_path):
    workdir = copy_workflow(tmp_path / "copy")
    # One small station to time, which the config does not list.
    data = tmp_path / "one"
    data.mkdir()
    for name in (f"{MELBOURNE}.dly.gz", "stations.csv"):
        (data / name).write_bytes((workdir / "data" / name).read_bytes())
    config = read_config(workdir)
    config["stations"] = [{"id": DEATH_VALLEY}]
    write_config(workdir, config)
    out = run_module(
        workdir,
        *("weatherplot.benchmark", "--data", str(data), "--repeats", "1"),
        *("--jobs", "1", "--json", "figures.json"),
    )
    figures = json.loads((workdir / "figures.json").read_text())
    assert figures["parse"]["files"] == 1
    assert figures["parse"]["speedup"] > 0
    for kind in ("fresh", "forked"):
        jobs = figures["plot_jobs"][kind]["jobs"]
        assert [(j["station"], j["worker"]) for j in jobs] == [(MELBOURNE, kind)]
    for section in ("1. .dly parsing", "2. Fixed cost", "3. 1 real plot jobs"):
        assert section in out.stdout


def test_scaling_generate_writes_a_config_whose_dag_builds(tmp_path):
    workdir = copy_workflow(tmp_path)
    out = run_module(workdir, "weatherplot.scaling", "generate", "7", "big.json")
    assert out.stdout.strip() == "big.json: 7 stations"
    big = json.loads((workdir / "big.json").read_text())
    assert len(big["stations"]) == 7
    assert big["demos"] == read_config(workdir)["demos"]  # the rest from the base
    # The README's next command, without --quiet, which would hide the job counts.
    dry = run_snakemake(workdir, "-n", "--configfile", "big.json")
    jobs = planned_jobs(dry)
    assert jobs["plot_station"] == 7
    # The default target: the scaling study is long, so rule all never plans it.
    assert jobs["timing_report"] == 1 and "scaling" not in jobs


def test_scaling_study_without_snakemake_writes_its_figures_and_chart(tmp_path):
    workdir = copy_workflow(tmp_path, [MELBOURNE])
    out = run_module(
        workdir,
        *("weatherplot.scaling", "study", "--repeats", "1", "--workers", "1"),
        *("--json", "study.json", "--png", "study.png"),
    )
    study = json.loads((workdir / "study.json").read_text())
    assert study["stations"] == [MELBOURNE]
    methods = {(p["method"], p["workers"]) for p in study["points"]}
    assert methods == {
        ("serial", 1),
        ("pool", 1),
        ("snakemake", 1),
        ("snakemake_fresh", 1),
    }
    assert all(p["median"] > 0 for p in study["points"])
    assert (workdir / "study.png").read_bytes()[:8] == PNG_MAGIC
    for point in study["points"]:  # one summary line each on the terminal
        assert f"{point['method']:10s} p=1" in out.stdout


def test_exercise_benchmark_times_three_whole_commands_with_their_cpu(tmp_path):
    workdir = copy_workflow(tmp_path, [MELBOURNE])
    out = run_module(
        workdir,
        *("weatherplot.exercise", "--stations", "1", "--cores", "1"),
        *("--repeats", "1", "--json", "exercise.json"),
    )
    record = json.loads((workdir / "exercise.json").read_text())
    # A generated station (on the data folder's one file), all three commands.
    assert record["stations"] == ["X00001"]
    assert set(record["methods"]) == {"serial", "pool", "snakemake"}
    for method in record["methods"].values():
        (run,) = method["runs"]
        assert run["cpu"] > 0
    assert record["methods"]["snakemake"]["runs"][0]["jobs"] == 1
    summary = record["summary"]
    # The whole process tree's CPU: the real run does what a dry run does, and plots
    # (in the plot server's workers, grandchildren of the timed process).
    assert summary["cpu_snakemake"] > summary["dry_run_cpu"] > 0
    assert summary["extra_cpu"] == pytest.approx(
        summary["cpu_snakemake"] - summary["cpu_pool"]
    )
    assert "1 stations, --cores 1" in out.stdout
    assert "ms per job (target <= 20 ms: " in out.stdout
