"""The scaling study: its arithmetic on fixed numbers, the many-station config
generator, and one tiny real run of the ``scaling`` target."""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import FIXTURE_DATA, MELBOURNE, copy_workflow, run_snakemake
from PIL import Image

from weatherplot import report
from weatherplot.report.analysis import analyse_scaling
from weatherplot.scaling import summarise, worker_counts
from weatherplot.scratch import generate_config
from weatherplot.stations import STATION_ID_PATTERN, resolve_stations


def point(method, workers, *times):
    return {"method": method, "workers": workers, **summarise(times)}


def test_worker_counts_cover_cpus_and_cores():
    assert worker_counts(2) == [1, 2]
    assert worker_counts(2, 4) == [1, 2, 3, 4]
    assert worker_counts(4, 2) == [1, 2, 3, 4]
    assert worker_counts(0) == [1]


def test_summarise_gives_median_and_spread():
    s = summarise([3.0, 1.0, 2.0])
    assert (s["median"], s["min"], s["max"], s["repeats"]) == (2.0, 1.0, 3.0, 3)


def test_speedup_karp_flatt_and_amdahl_fit_on_fixed_numbers():
    points = [
        point("serial", 1, 8.0, 9.0, 7.0),  # median 8
        point("pool", 1, 8.0),
        point("pool", 2, 5.0),
        point("snakemake", 1, 10.0),
        point("snakemake", 2, 6.0),
        point("snakemake", 4, 6.4),
    ]
    result = analyse_scaling(points, cpus=2)
    assert result["reference_serial_time"] == 8.0
    rows = {(r["method"], r["workers"]): r for r in result["points"]}
    # S = 8 / 5 = 1.6 on p = 2: Karp-Flatt (2 / 1.6 - 1) / (2 - 1) = 0.25
    assert rows["pool", 2]["speedup"] == pytest.approx(1.6)
    assert rows["pool", 2]["efficiency"] == pytest.approx(0.8)
    assert rows["pool", 2]["karp_flatt"] == pytest.approx(0.25)
    assert rows["pool", 1]["karp_flatt"] is None  # undefined for one worker
    # One informative point: the fit is that point's Karp-Flatt value.
    assert result["fits"]["pool"]["serial_fraction"] == pytest.approx(0.25)
    assert result["fits"]["pool"]["amdahl_limit"] == pytest.approx(4.0)
    # Slower than serial on one worker: speedup 0.8, counted against the serial loop.
    assert rows["snakemake", 1]["speedup"] == pytest.approx(0.8)
    # Against its own one-worker time the fan-out scales 10 / 6 = 1.67x on p = 2.
    assert rows["snakemake", 2]["self_speedup"] == pytest.approx(10 / 6)
    assert rows["snakemake", 2]["self_karp_flatt"] == pytest.approx(0.2)
    # 4 workers on 2 CPUs run 2 at a time: p = 2 in Karp-Flatt and in the fit.
    assert rows["snakemake", 4]["effective_workers"] == 2
    # S = 8 / 6.4 = 1.25: f = 2 / 1.25 - 1 = 0.6
    assert rows["snakemake", 4]["karp_flatt"] == pytest.approx(0.6)
    # Least squares over the two p = 2 points (f = 0.5 and 0.6, same x): their mean.
    assert result["fits"]["snakemake"]["serial_fraction"] == pytest.approx(0.55)
    # Against its own 10 s: f = 2 / (10/6) - 1 = 0.2 and 2 / (10/6.4) - 1 = 0.28.
    assert result["fits"]["snakemake"]["self_serial_fraction"] == pytest.approx(0.24)


def test_each_methods_points_are_listed_by_workers_in_the_order_methods_came():
    points = [point("pool", 2, 5.0), point("serial", 1, 8.0), point("pool", 1, 8.0)]
    rows = analyse_scaling(points, cpus=2)["points"]
    assert [(r["method"], r["workers"]) for r in rows] == [
        ("pool", 1),
        ("pool", 2),
        ("serial", 1),
    ]


def test_without_the_serial_loop_each_method_is_its_own_reference():
    points = [
        point("serial", 2, 9.0),  # not the one-worker loop: no reference
        point("pool", 1, 12.0),
        point("pool", 2, 7.5),
        point("threads", 2, 6.0),  # no one-worker time either: no speedup
    ]
    result = analyse_scaling(points, cpus=2)
    assert result["reference_serial_time"] is None
    rows = {(r["method"], r["workers"]): r for r in result["points"]}
    assert rows["pool", 1]["speedup"] == pytest.approx(1.0)
    assert rows["pool", 2]["speedup"] == pytest.approx(1.6)  # 12 / 7.5
    assert rows["threads", 2]["speedup"] is None
    # f = (2 / 1.6 - 1) / (2 - 1) = 0.25; on 2 CPUs 1 / (0.25 + 0.75 / 2) = 1.6
    assert result["fits"]["pool"]["serial_fraction"] == pytest.approx(0.25)
    assert result["fits"]["pool"]["amdahl_at_cpus"] == pytest.approx(1.6)


def test_generated_config_points_every_station_at_a_real_file(tmp_path):
    (tmp_path / "data").symlink_to(FIXTURE_DATA, target_is_directory=True)
    config = generate_config(25, tmp_path / "data")
    ids = [s["id"] for s in config["stations"]]
    assert ids[0] == "X00001" and ids[-1] == "X00025"
    assert len(set(ids)) == 25
    files = {s["file"] for s in config["stations"]}
    assert len(files) == len(
        list(FIXTURE_DATA.glob("*.dly.gz"))
    )  # cycles over all of them
    stations = resolve_stations({**config, "data_dir": "data"}, workdir=tmp_path)
    assert list(stations) == ids
    assert all(re.fullmatch(STATION_ID_PATTERN, i) for i in ids)


@pytest.mark.integration
def test_scaling_target_writes_the_study_and_its_chart(tmp_path):
    """The smallest station, one repeat: serial at p = 1, Pool and the nested
    snakemake (with and without the plot server) at p = 1 and 2 (about 30 s on the
    2-core development machine). Not part of rule all: test_commands.py's dry run of
    the default target checks that it never plans it."""
    one = [MELBOURNE]
    workdir = copy_workflow(tmp_path, one)
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["scaling"] = {"repeats": 1}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    # The study times 1, 2, ... up to the usable CPUs: on a bigger runner it would
    # time more points (and take longer) than checked here, so it gets two CPUs.
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(cpus)[:2])
    try:
        run_snakemake(workdir, "--cores", "2", "scaling")
    finally:
        os.sched_setaffinity(0, cpus)

    study = json.loads((workdir / "results/report/scaling.json").read_text())
    assert study["stations"] == one
    assert study["repeats"] == 1
    got = {(p["method"], p["workers"]) for p in study["points"]}
    assert got == {
        ("serial", 1),
        ("pool", 1),
        ("pool", 2),
        ("snakemake", 1),
        ("snakemake", 2),
        ("snakemake_fresh", 1),
        ("snakemake_fresh", 2),
    }
    rows = {(p["method"], p["workers"]): p for p in study["points"]}
    assert rows["serial", 1]["speedup"] == 1.0
    # Each point's figures from its raw times, by this test's own arithmetic: the
    # speedup over the serial loop's time, the efficiency on min(workers, 2 CPUs),
    # Karp-Flatt's f = (p/S - 1)/(p - 1); the fitted serial fraction by NumPy's
    # least squares of Amdahl's law written for 1/S (through the origin).
    serial = statistics.median(rows["serial", 1]["times"])
    for (method, workers), point in rows.items():
        speedup = serial / statistics.median(point["times"])
        p_eff = min(workers, 2)
        assert point["speedup"] == pytest.approx(speedup, rel=1e-12), method
        assert point["efficiency"] == pytest.approx(speedup / p_eff, rel=1e-12)
        if p_eff == 2:
            assert point["karp_flatt"] == pytest.approx(2 / speedup - 1, rel=1e-9)
        else:
            assert point["karp_flatt"] is None
    for method in ("pool", "snakemake", "snakemake_fresh"):
        x = np.array([1 - 1 / 1, 1 - 1 / 2])
        y = np.array([1 / rows[method, p]["speedup"] - 1 / p for p in (1, 2)])
        (fitted,), *_ = np.linalg.lstsq(x[:, None], y, rcond=None)
        assert study["fits"][method]["serial_fraction"] == pytest.approx(fitted)
    for method in ("snakemake", "snakemake_fresh"):
        for p in (1, 2):
            # The plot jobs run inside the snakemake command: their makespan is
            # part of its wall time, which adds start-up, DAG build and exit.
            point = rows[method, p]
            assert 0 < point["makespan_median"] < point["median"]
            assert point["makespan_median"] == point["makespan_times"][0]
    # The record holds numbers, ids and conditions: its only words are its kind,
    # the stations and the methods. What each column is, the report says.
    assert strings(study) <= {"scaling", *one, *(m for m, _ in got)}
    md = rendered_scaling(workdir, one)
    assert (
        "Every time is the wall time of the whole command timed from outside; for "
        "the snakemake runs the plot jobs' makespan (first job start to last job "
        "end) is a second column." in " ".join(md.split())
    )
    fan = rows["snakemake_fresh", 2]
    assert (
        f"| snakemake (fresh process per job) | 2 | {fan['median']:.2f} s | "
        f"{fan['makespan_median']:.2f} s |" in md
    )
    assert set(study["fits"]) == {"serial", "pool", "snakemake", "snakemake_fresh"}
    with Image.open(workdir / "results/report/scaling.png") as image:
        assert image.format == "PNG" and image.size == (750, 450)
    log = (workdir / "logs/report/scaling.log").read_text()
    assert log.count("repeat 1/1") == 4


def strings(value) -> set[str]:
    """Every string in a JSON value: dict keys aside, the values."""
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list)):
        return set().union(*map(strings, items))
    return set()


def rendered_scaling(workdir, stations) -> str:
    """The timing report's Markdown from the study alone (no other record)."""
    out = workdir / "rendered"
    inputs = report.load_inputs(
        scaling=workdir / "results/report/scaling.json", stations=stations
    )
    report.write_report(inputs, out / "r.md", out / "r.html", out / "r.json")
    return (out / "r.md").read_text()


def test_a_generated_config_points_into_the_data_folder_it_was_given(tmp_path):
    """`python -m weatherplot exercise --stations N --data DIR` generates its stations
    from DIR: their files must be DIR's, not a data/ folder that may not exist."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.symlink_to(FIXTURE_DATA, target_is_directory=True)
    config = generate_config(3, elsewhere)
    for entry in config["stations"]:
        assert Path(entry["file"]).parent == elsewhere
        assert Path(entry["file"]).is_file()
    # A relative folder stays relative (the scale configs live beside their data/).
    assert generate_config(1, "data")["stations"][0]["file"].startswith("data/")
