"""The README's commands that no other test runs, at the smallest size that runs them
end to end: ``python docs/benchmark.py``, ``python -m weatherplot generate``
(and the dry run of its config), ``python -m weatherplot scaling`` and
``python -m weatherplot exercise``.
Each runs in a scratch copy, importing that copy's package. Their figures are not
checked (a benchmark asserts nothing on a shared machine); what they report is."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    DEATH_VALLEY,
    MELBOURNE,
    REPO,
    copy_workflow,
    planned_jobs,
    read_config,
    run_module,
    run_snakemake,
    snakemake_env,
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
    # The developer's script, importing the copy's package (and so timing the copy).
    script = [sys.executable, REPO / "docs" / "benchmark.py", "--data", data]
    out = subprocess.run(
        [*script, "--repeats", "1", "--jobs", "1", "--json", "figures.json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env={**snakemake_env(), "PYTHONPATH": str(workdir / "workflow")},
    )
    assert out.returncode == 0, out.stderr
    figures = json.loads((workdir / "figures.json").read_text())
    assert figures["parse"]["files"] == 1
    parse = figures["parse"]
    # The speedup is the two readers' median times' ratio, and the throughput is
    # the uncompressed size (gunzipped here) over the median time.
    numpy_reader, pandas_reader = parse["numpy reader"], parse["pandas read_fwf"]
    assert parse["speedup"] == pytest.approx(
        pandas_reader["median_s"] / numpy_reader["median_s"]
    )
    size = len(gzip.decompress((data / f"{MELBOURNE}.dly.gz").read_bytes()))
    assert parse["megabytes"] == pytest.approx(size / 1e6)
    for reader in (numpy_reader, pandas_reader):
        assert reader["min_s"] == reader["median_s"] == reader["max_s"]  # 1 repeat
        assert reader["mb_per_s"] == pytest.approx(size / 1e6 / reader["median_s"])
    for kind in ("fresh", "forked"):
        jobs = figures["plot_jobs"][kind]["jobs"]
        assert [(j["station"], j["worker"]) for j in jobs] == [(MELBOURNE, kind)]
    for section in ("1. .dly parsing", "2. Fixed cost", "3. 1 real plot jobs"):
        assert section in out.stdout


def test_scaling_generate_writes_a_config_whose_dag_builds(tmp_path):
    workdir = copy_workflow(tmp_path)
    out = run_module(workdir, "weatherplot", "generate", "7", "big.json")
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
        *("weatherplot", "scaling", "--repeats", "1", "--workers", "1"),
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
    for point in study["points"]:  # one repeat: its median is its one time
        assert point["times"] == [point["median"]], point
    assert (workdir / "study.png").read_bytes()[:8] == PNG_MAGIC
    for point in study["points"]:  # one summary line each on the terminal
        assert f"{point['method']:10s} p=1" in out.stdout


def test_exercise_benchmark_times_three_whole_commands_with_their_cpu(tmp_path):
    workdir = copy_workflow(tmp_path, [MELBOURNE])
    out = run_module(
        workdir,
        *("weatherplot", "exercise", "--stations", "1", "--cores", "1"),
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
    # The figures are the raw runs' (one repeat each), and the printed extra CPU
    # and its per-job rest are worked out here from those runs.
    raw = {name: method["runs"][0] for name, method in record["methods"].items()}
    for name, run in raw.items():
        assert summary[f"cpu_{name}"] == run["cpu"]
        assert summary[f"wall_{name}"] == run["wall"]
    extra = raw["snakemake"]["cpu"] - raw["pool"]["cpu"]
    assert f"extra CPU against the Pool: {extra:.2f} s, " in out.stdout
    per_job = (extra - summary["dry_run_cpu"]) * 1000  # one job
    assert f"the rest is {per_job:.0f} ms per job" in out.stdout
    speedup = raw["serial"]["wall"] / raw["snakemake"]["wall"]
    assert f"snakemake: {speedup:.2f}x the loop" in out.stdout
    assert "1 stations, --cores 1" in out.stdout
    assert "ms per job (target <= 20 ms: " in out.stdout


def test_the_timed_commands_read_the_stations_from_one_file(tmp_path):
    """The exercise and the scaling study get the resolved stations from
    rule station_table's file, not in their command line: an argument holds at most
    128 KiB (a few hundred stations), and a failed job prints its whole command.
    A changed station list rewrites the file, so both time the new list."""
    workdir = copy_workflow(tmp_path / "wf")
    config = read_config(workdir)
    planned = run_snakemake(
        workdir, "-n", "-p", "results/timings/exercise.json", "scaling"
    )
    commands = [
        line
        for line in planned.stdout.splitlines()
        if "-m weatherplot exercise" in line or "-m weatherplot scaling" in line
    ]
    assert len(commands) == 2, planned.stdout[-3000:]
    for command in commands:
        assert "--station-entries results/stations.json" in command
        assert config["stations"][0]["id"] not in command  # no station in the line

    run_snakemake(workdir, "--cores", "1", "results/stations.json")
    table = json.loads((workdir / "results" / "stations.json").read_text())
    assert [s["id"] for s in table] == [s["id"] for s in config["stations"]]
    assert all(Path(s["file"]).name.startswith(s["id"]) for s in table)

    config["stations"] = config["stations"][:1]
    write_config(workdir, config)
    again = run_snakemake(workdir, "-n", "results/timings/exercise.json", "scaling")
    assert planned_jobs(again)["station_table"] == 1  # the list changed


def test_the_command_line_builds_without_deprecated_argparse_and_says_a_bad_file(
    tmp_path,
):
    """argparse.FileType is deprecated from Python 3.14 (a warning in every run on the
    3.14 CI stage); --station-entries is read while parsing instead, so a missing or
    broken file is still argparse's one-line error (exit 2), not a traceback."""
    command = [sys.executable, "-W", "error::PendingDeprecationWarning"]
    command += ["-W", "error::DeprecationWarning", "-m", "weatherplot"]
    helped = subprocess.run([*command, "exercise", "--help"], capture_output=True)
    assert helped.returncode == 0, helped.stderr
    broken = tmp_path / "stations.json"
    broken.write_text("[{")
    for path in (tmp_path / "missing.json", broken):
        run = subprocess.run(
            [*command, "exercise", "--station-entries", str(path)],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2, run.stderr
        assert f"argument --station-entries: can't read '{path}'" in run.stderr
