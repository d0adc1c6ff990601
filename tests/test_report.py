"""The timing report's arithmetic and rendering, on hand-written timing records.

Nothing here runs a demo or times anything: the records are synthetic, with round
numbers so every expected figure can be worked out by hand.
"""

from __future__ import annotations

import base64
import json
import math
import re

import pytest

from weatherplot import report
from weatherplot.report import (
    Inputs,
    _extra_cpu_sentence,
    _fanout_blocks,
    amdahl_speedup,
    analyse_demo,
    analyse_scaling,
    efficiency,
    exclusive_overlaps,
    exercise_comparison,
    fanout_stats,
    fit_serial_fraction,
    karp_flatt,
    latest_session,
    max_expected_speedup,
    predict_variant,
    speedup,
)

T0 = 1_700_000_000.0
CPUS = {"usable": 2, "os_cpu_count": 2, "affinity": 2, "cgroup_quota": None}


def variant(name, kind, workers, median, label=None, **extra):
    return {
        "name": name,
        "label": label or name,
        "kind": kind,
        "workers": workers,
        "times": [median],
        "median": median,
        "min": median,
        "max": median,
        **extra,
    }


def plot_record(station, pid, process_start, session="run2", imports=0.2, **extra):
    """A plot job: 0.3 s to our first line, imports, 1.2 s of work; 1.8 s in all."""
    rec = {
        "kind": "plot_station",
        "name": station,
        "host": "node",
        "pid": pid,
        "slurm_job_id": None,
        "session": session,
        "process_start": process_start,
        "start": process_start + 0.3,
        "end": process_start + 1.8,
        "phases": {"imports": imports, "read": 0.3, "plot": 0.6, "save": 0.3},
    }
    rec.update(extra)
    return rec


def sleep_demo(start_cost=0.0):
    return {
        "kind": "demo",
        "name": "sleep",
        "start": T0 - 100,
        "end": T0 - 70,
        "params": {"t": 5, "workers": 4, "repeats": 1},
        "cpus": CPUS,
        "single_call": {"label": "do_nothing(t) once", "measured": False, "median": 5},
        "variants": [
            variant("loop", "serial", 1, 20.0),
            variant("threads", "threads", 4, 5.0),
            variant("processes", "processes", 4, 5.5),
        ],
        "results": {"process_start_cost": start_cost},
    }


def numpy_demo():
    return {
        "kind": "demo",
        "name": "numpy",
        "start": T0 - 70,
        "end": T0 - 20,
        "python": "3.11.7",
        "start_method": "fork",
        "params": {"n": 100_000_000, "workers": 4, "repeats": 3},
        "cpus": CPUS,
        "single_call": {"label": "np.random.rand(n) once", "median": 1.0},
        "variants": [
            variant("loop", "serial", 1, 4.0, label="4 calls in a loop"),
            variant("threads", "threads", 4, 4.4, label="4 calls in 4 threads"),
            variant("processes", "processes", 4, 2.5, label="4 calls in 4 processes"),
            variant(
                "threads_generator",
                "threads",
                4,
                1.2,
                label="4 threads, own Generator",
                single_call_median=0.5,
            ),
        ],
        "results": {"process_start_cost": 0.1, "numpy_version": "9.9.9"},
    }


def shared_list_demo(start, end):
    return {
        "kind": "demo",
        "name": "shared_list",
        "start": start,
        "end": end,
        "params": {"threads": 10},
        "cpus": CPUS,
        "single_call": None,
        "variants": [variant("threads", "threads", 10, 0.01)],
        "results": {
            "threads": [11, 2, 3],
            "processes": [1, 2, 3],
            "expected": 201,
            "unlocked_lost_updates": 37,
            "locked_lost_updates": 0,
        },
    }


def pool_demo():
    return {
        "kind": "demo",
        "name": "pool",
        "start": T0 - 130,
        "end": T0 - 120,
        "params": {"t": 5, "workers": 4, "inputs": [2, 1, 9]},
        "cpus": CPUS,
        "single_call": {"label": "func(a) once", "measured": False, "median": 5},
        "variants": [variant("pool", "processes", 4, 5.3, label="Pool(4).map")],
        "results": {
            "result": [3, 2, 10],
            "inputs": [2, 1, 9],
            "process_start_cost": 0.2,
        },
    }


def baseline(name, workers, median, stations):
    return {
        "kind": "baseline",
        "name": name,
        "workers": workers,
        "stations": stations,
        "times": [median],
        "median": median,
        "min": median,
        "max": median,
        "repeats": 1,
        "start": T0 - 300,
        "end": T0 - 300 + median,
        "cpus": CPUS,
    }


STATIONS = ["A", "B", "C", "D"]


def run_records():
    """Latest run: A, B start at T0, C, D at T0+2 (a shared-list demo ran at 1.9-2.0).

    An older run (session run1) plotted A earlier and ended before.
    """
    return [
        plot_record("A", 101, T0),
        plot_record("B", 102, T0),
        plot_record("C", 103, T0 + 2.0),
        plot_record("D", 104, T0 + 2.0),
        plot_record("A", 50, T0 - 1000, session="run1"),
    ]


def full_inputs(**overrides):
    kwargs = {
        "plots": run_records(),
        "demos": {
            "sleep": sleep_demo(),
            "numpy": numpy_demo(),
            "shared_list": shared_list_demo(T0 + 1.9, T0 + 2.0),
            "pool": pool_demo(),
        },
        "baselines": {
            "serial": baseline("serial", 1, 6.0, STATIONS),
            "pool": baseline("pool", 2, 4.0, STATIONS),
        },
        "stations": STATIONS,
        "cores": 2,
        "snakemake_version": "9.99",
    }
    kwargs.update(overrides)
    return Inputs(**kwargs)


# ----------------------------------------------------------------- arithmetic


def test_speedup_efficiency_and_limits():
    assert speedup(10.0, 4.0) == pytest.approx(2.5)
    assert speedup(10.0, 0.0) is None
    assert speedup(None, 4.0) is None
    assert efficiency(1.5, 2) == pytest.approx(0.75)
    assert efficiency(None, 2) is None
    assert max_expected_speedup(4, 12, 2) == 2.0
    assert max_expected_speedup(4, 3, None) == 3.0
    assert max_expected_speedup(None) is None


def test_karp_flatt_is_amdahl_solved_for_f():
    # S = 1.6 at p = 2: f = (2/1.6 - 1)/(2 - 1) = 0.25
    assert karp_flatt(1.6, 2) == pytest.approx(0.25)
    assert karp_flatt(2.0, 2) == pytest.approx(0.0)
    assert karp_flatt(1.5, 1) is None
    f = 0.1
    for p in (2, 3, 8):
        assert karp_flatt(amdahl_speedup(f, p), p) == pytest.approx(f)


def test_fit_serial_fraction_recovers_f_and_reduces_to_karp_flatt():
    points = [(p, amdahl_speedup(0.2, p)) for p in (1, 2, 4, 8)]
    assert fit_serial_fraction(points) == pytest.approx(0.2)
    assert fit_serial_fraction([(2, 1.6)]) == pytest.approx(karp_flatt(1.6, 2))
    # Noisy points: f between the per-point metrics (0.25 at p=2, 0.5 at p=3).
    f = fit_serial_fraction([(2, 1.6), (3, 1.5)])
    assert 0.25 < f < 0.5
    assert fit_serial_fraction([(1, 1.0)]) is None


def test_predictions_follow_the_lesson():
    demo = analyse_demo(numpy_demo())
    by = {v["name"]: v for v in demo["variants"]}
    # k = 4 calls, s = 1.0, c = 2 CPUs, process start 0.1 s
    assert by["loop"]["predicted"] == pytest.approx(4.0)
    assert by["threads"]["predicted"] == pytest.approx(4.0)  # legacy RNG: k*s
    assert by["processes"]["predicted"] == pytest.approx(2.0 + 0.1)  # ceil(4/2)*s
    assert by["threads_generator"]["predicted"] == pytest.approx(1.0)  # 2 * s_gen
    assert by["threads"]["ratio"] == pytest.approx(1.1)
    assert by["threads_generator"]["ratio"] == pytest.approx(1.2)
    assert by["processes"]["speedup_vs_loop"] == pytest.approx(1.6)


def test_sleep_predictions_need_no_cpu():
    demo = analyse_demo(sleep_demo(start_cost=0.4))
    by = {v["name"]: v for v in demo["variants"]}
    assert by["loop"]["predicted"] == pytest.approx(20.0)
    assert by["threads"]["predicted"] == pytest.approx(5.0)
    assert by["processes"]["predicted"] == pytest.approx(5.4)
    # The CPU count does not matter for sleeping.
    one_cpu = analyse_demo(sleep_demo(start_cost=0.4), cpus=1)
    assert [v["predicted"] for v in one_cpu["variants"]] == pytest.approx([20, 5, 5.4])


def test_pool_prediction_and_no_prediction_for_shared_list():
    pool = analyse_demo(pool_demo())["variants"][0]
    assert pool["predicted"] == pytest.approx(5.0 + 0.2)  # ceil(3/4) * t + start
    seven = predict_variant(
        "pool",
        {"name": "pool", "kind": "processes", "workers": 2},
        single_call=5,
        calls=2,
        cpus=2,
        items=7,
    )
    assert seven[0] == pytest.approx(20.0)  # ceil(7/2) = 4 waves
    shared = analyse_demo(shared_list_demo(T0, T0 + 1))["variants"][0]
    assert shared["predicted"] is None
    assert shared["ratio"] is None


def test_cpu_bound_threads_with_more_cpus_than_workers():
    pred, _ = predict_variant(
        "numpy",
        {"name": "threads_generator", "kind": "threads", "workers": 4},
        single_call=1.0,
        calls=4,
        cpus=8,
    )
    assert pred == pytest.approx(1.0)  # ceil(4/8) = 1 wave, s_gen defaults to s


# ------------------------------------------------------------------- fan-out


def test_latest_session_is_the_one_that_ended_last():
    session, recs = latest_session(run_records())
    assert session == "run2"
    assert sorted(r["name"] for r in recs) == STATIONS
    # A rerun of one station later on becomes the latest session on its own.
    later = [*run_records(), plot_record("B", 200, T0 + 500, session="run3")]
    session, recs = latest_session(later)
    assert session == "run3"
    assert [r["name"] for r in recs] == ["B"]


def test_one_run_whose_session_start_jitters_is_one_session():
    # Every job computes the snakemake process's start from the clocks itself, so
    # the ids of one run differ in the last digits (seen in real records).
    recs = [
        plot_record("A", 1, T0, session="vm:8004:1795632165.7392514"),
        plot_record("B", 2, T0 + 3, session="vm:8004:1795632165.739252"),
        plot_record("C", 3, T0 + 6, session="vm:8004:1795632165.7392516"),
        plot_record("D", 4, T0 - 500, session="vm:7000:1795631000.5"),
        plot_record("E", 5, T0 - 400, session="vm:8004:1795631100.0"),  # pid reused
    ]
    session, same = latest_session(recs)
    assert session == "vm:8004:1795632165.7392516"
    assert sorted(r["name"] for r in same) == ["A", "B", "C"]
    assert report.count_sessions(recs) == 3
    assert not report.same_session("slurm:run-a", "slurm:run-b")
    assert not report.same_session(None, "vm:1:2.0")


def test_exclusive_overlaps_are_clipped_and_merged():
    recs = [
        {"kind": "demo", "name": "x", "start": 0.0, "end": 2.0},
        {"kind": "demo", "name": "y", "start": 1.0, "end": 3.0},
        {"kind": "baseline", "name": "z", "start": 8.0, "end": 20.0},
        {"kind": "demo", "name": "outside", "start": 30.0, "end": 40.0},
    ]
    out = exclusive_overlaps((1.5, 10.0), recs)
    assert [(e["start"], e["end"]) for e in out] == [(1.5, 3.0), (8.0, 10.0)]
    assert out[0]["jobs"] == ["demo x", "demo y"]
    assert sum(e["seconds"] for e in out) == pytest.approx(3.5)


def test_fanout_stats_on_fixed_records():
    excl = [shared_list_demo(T0 + 1.9, T0 + 2.0), sleep_demo()]
    fan = fanout_stats(run_records(), excl, STATIONS)
    assert fan["n_jobs"] == 4
    assert fan["records_ignored"] == 1
    assert fan["raw_makespan"] == pytest.approx(3.8)
    assert fan["excluded_seconds"] == pytest.approx(0.1)
    assert fan["makespan"] == pytest.approx(3.7)
    assert fan["summed_job_time"] == pytest.approx(4 * 1.8)
    assert fan["effective_parallelism"] == pytest.approx(7.2 / 3.7)
    # overhead = 0.3 s before our first line + 0.2 s imports; work = 1.2 s
    assert fan["overhead_median"] == pytest.approx(0.5)
    assert fan["work_median"] == pytest.approx(1.2)
    assert fan["overhead_share_of_work"] == pytest.approx(0.5 / 1.2)
    assert fan["stations_missing"] == []
    assert {j["row"] for j in fan["jobs"]} == {
        f"node:{p}" for p in (101, 102, 103, 104)
    }


def test_fanout_without_process_start_and_with_slurm():
    recs = [
        {**plot_record("A", 1, T0), "process_start": None, "slurm_job_id": "77"},
        plot_record("B", 2, T0),
    ]
    fan = fanout_stats(recs, [], ["A", "B", "C"])
    a = next(j for j in fan["jobs"] if j["station"] == "A")
    assert a["job_start"] == pytest.approx(T0 + 0.3)
    assert a["overhead"] == pytest.approx(0.2)  # imports only
    assert a["row"] == "slurm 77"
    assert fan["makespan"] == pytest.approx(1.8)  # B's process started at T0
    assert fan["stations_missing"] == ["C"]


def forked_record(station, pid, process_start, handoff=0.05):
    """A job whose worker was forked from the warm plot server: no imports phase."""
    rec = plot_record(station, pid, process_start, worker="forked", job_pid=pid - 1)
    rec["start"] = process_start + 0.03
    rec["phases"] = {"handoff": handoff, "read": 0.3, "plot": 0.6, "save": 0.3}
    return rec


def test_a_forked_workers_hand_over_is_its_overhead_and_the_text_says_so():
    recs = [forked_record("A", 11, T0, handoff=0.9), forked_record("B", 13, T0)]
    recs += [forked_record("C", 15, T0 + 1.5), forked_record("D", 17, T0 + 1.5)]
    fan = fanout_stats(recs, [], ["A", "B", "C", "D"])
    # 0.03 s to the client's first line + the hand-over; the first job waited for
    # the server's warm-up.
    assert fan["overhead_median"] == pytest.approx(0.08)
    assert fan["overhead_max"] == pytest.approx(0.93)
    assert fan["workers"] == {"forked": 4}
    a = next(j for j in fan["jobs"] if j["station"] == "A")
    assert a["startup"] == pytest.approx(0.9) and a["worker"] == "forked"
    text = " ".join(b[1] for b in _fanout_blocks(fan, {}, 2, 2) if b[0] == "p")
    assert "forked from the run's warm plot server" in text
    assert "fresh Python process" not in text
    # Mixed runs (a job found no server) say how many of each.
    mixed = fanout_stats([*recs[:3], plot_record("D", 20, T0 + 1.5)], [], None)
    assert mixed["workers"] == {"forked": 3, "fresh": 1}
    text = " ".join(b[1] for b in _fanout_blocks(mixed, {}, 2, 2) if b[0] == "p")
    assert "3 of the 4 jobs ran in processes forked from the warm plot server" in text


def test_exercise_speedups_and_amdahl():
    fan = fanout_stats(run_records(), [], STATIONS)
    ex = exercise_comparison(
        baseline("serial", 1, 6.0, STATIONS),
        baseline("pool", 2, 4.0, STATIONS),
        fan,
        cores=4,
        cpus=2,
        n_stations=4,
    )
    assert ex["pool"]["speedup"] == pytest.approx(1.5)
    assert ex["pool"]["efficiency"] == pytest.approx(0.75)
    assert ex["pool"]["karp_flatt"] == pytest.approx(2 / 1.5 - 1)
    sm = ex["snakemake"]
    assert sm["time"] == pytest.approx(3.8)
    assert sm["speedup"] == pytest.approx(6.0 / 3.8)
    # --cores 4 on 2 usable CPUs: at most 2x, and efficiency counts 2 workers
    assert sm["max_expected"] == 2.0
    assert sm["effective_workers"] == 2.0
    assert sm["efficiency"] == pytest.approx(6.0 / 3.8 / 2)
    assert sm["vs_pool"] == pytest.approx(3.8 / 4.0)
    # Amdahl per method; the headline is the Pool's own serial fraction.
    f_pool = karp_flatt(1.5, 2)  # 1/3
    assert ex["pool"]["serial_fraction"] == pytest.approx(f_pool)
    assert ex["serial_fraction"] == pytest.approx(f_pool)
    assert ex["amdahl_limit"] == pytest.approx(3.0)
    assert ex["amdahl_at_cpus"] == pytest.approx(amdahl_speedup(f_pool, 2))
    assert ex["amdahl_at_cpus"] == pytest.approx(1.5)
    assert sm["serial_fraction"] == pytest.approx(karp_flatt(6.0 / 3.8, 2))


def test_fanout_slower_than_the_loop_is_not_given_an_amdahl_limit():
    fan = fanout_stats(run_records(), [], STATIONS)
    ex = exercise_comparison(
        baseline("serial", 1, 3.0, STATIONS),
        baseline("pool", 2, 2.0, STATIONS),
        fan,
        cores=2,
        cpus=2,
        n_stations=4,
    )
    assert ex["snakemake"]["speedup"] < 1
    assert ex["snakemake"]["serial_fraction"] > 1
    assert ex["snakemake"]["amdahl_limit"] is None
    assert ex["amdahl_limit"] == pytest.approx(1 / karp_flatt(1.5, 2))


def test_exercise_scales_serial_time_when_the_run_covered_fewer_stations():
    fan = fanout_stats(run_records()[:2], [], STATIONS)  # A and B only
    ex = exercise_comparison(
        baseline("serial", 1, 6.0, STATIONS), None, fan, cores=2, cpus=2, n_stations=4
    )
    assert ex["snakemake"]["reference_serial_time"] == pytest.approx(3.0)
    assert ex["snakemake"]["speedup"] == pytest.approx(3.0 / 1.8)
    assert ex["pool"] is None
    assert "scaled to 2 stations" in ex["notes"][0]


def test_exercise_without_baselines_does_not_crash():
    fan = fanout_stats(run_records(), [], STATIONS)
    ex = exercise_comparison(None, None, fan, cores=2, cpus=2, n_stations=4)
    assert ex["serial"] is None
    assert ex["snakemake"]["speedup"] is None
    assert ex["serial_fraction"] is None


def test_scaling_points_karp_flatt_and_fit():
    data = {
        "points": [
            {"method": "serial", "workers": 1, "median": 8.0},
            {"method": "pool", "workers": 1, "median": 8.0},
            {"method": "pool", "workers": 2, "median": 5.0},
            {"method": "snakemake", "workers": 2, "median": 6.0},
            {"method": "snakemake", "workers": 4, "median": 6.0},
        ]
    }
    sc = analyse_scaling(data, cpus=2)
    pool = {r["workers"]: r for r in sc["methods"]["pool"]["points"]}
    assert pool[2]["speedup"] == pytest.approx(1.6)
    assert pool[2]["karp_flatt"] == pytest.approx(0.25)
    assert sc["methods"]["pool"]["serial_fraction"] == pytest.approx(0.25)
    snake = {r["workers"]: r for r in sc["methods"]["snakemake"]["points"]}
    # 4 workers on 2 CPUs count as p = 2
    assert snake[4]["effective_workers"] == 2
    assert snake[4]["karp_flatt"] == pytest.approx(karp_flatt(8 / 6, 2))
    # Other shapes are accepted, unknown ones give None rather than an exception.
    assert analyse_scaling({"pool": {"1": 8.0, "2": 5.0}}, cpus=2)["methods"]["pool"][
        "serial_fraction"
    ] == pytest.approx(0.25)
    assert analyse_scaling({"unexpected": "shape"}, cpus=2) is None


def test_environment_reports_the_build():
    env = report.collect_environment(cpus=2, cores=4, snakemake_version="9.99")
    assert env["usable_cpus"] == 2 and env["cores"] == 4
    assert env["snakemake"] == "9.99"
    assert env["python"].count(".") == 2
    assert isinstance(env["free_threaded_build"], bool)
    assert isinstance(env["gil_enabled"], bool)
    assert env["numpy"]


# ------------------------------------------------------------------ rendering


def written(tmp_path, inputs):
    paths = {
        "md": tmp_path / "report" / "timing_report.md",
        "html": tmp_path / "report" / "timing_report.html",
        "json": tmp_path / "report" / "timings.json",
    }
    figures = report.write_report(inputs, paths["md"], paths["html"], paths["json"])
    return figures, {k: p.read_text() for k, p in paths.items()}


def test_report_files_say_the_numbers(tmp_path):
    figures, out = written(tmp_path, full_inputs())
    md = out["md"]
    # How long each variant takes, against the prediction
    assert "4 calls in 4 threads took 4.40 s; the lesson predicts 4.00 s" in md
    assert "4 threads, own Generator took 1.20 s; the lesson predicts 1.00 s" in md
    assert "Pool(4).map took 5.30 s; the lesson predicts 5.20 s" in md
    # Why the legacy generator does not scale with threads
    assert "global `RandomState`" in md and "releases the GIL" in md
    # Shared list and pool results
    assert "leave [11, 2, 3]" in md and "sees [1, 2, 3]" in md
    assert "lost 37 updates out of 201" in md and "it lost 0" in md
    assert "returned [3, 2, 10]" in md
    # Max expected speedup, Amdahl and what we got
    assert "usable CPUs (2)" in md
    assert "for Snakemake with --cores 2 it is 2.00x" in md
    f = figures["exercise"]["serial_fraction"]
    assert f"f = {f:.3f}" in md
    assert "a speedup of 1.50x (75% efficiency)" in md  # Pool: 6.0 / 4.0
    assert "makespan of 3.70 s" in md  # 3.8 s window minus the shared-list demo
    assert "demo shared_list" in md and "subtracted" in md
    assert "older plot records" in md
    assert "No scaling study was run" in md
    assert "Snakemake | 9.99" in md
    assert "numpy 9.9.9" in md  # the version the numpy demo recorded
    assert "as the timing jobs measured them" in md
    # JSON holds the same figures
    data = json.loads(out["json"])
    assert data["fanout"]["makespan"] == pytest.approx(3.7)
    assert data["exercise"]["pool"]["speedup"] == pytest.approx(1.5)
    assert data["demos"]["numpy"]["variants"][1]["predicted"] == pytest.approx(4.0)


def test_html_is_self_contained_and_references_every_chart(tmp_path):
    _, out = written(tmp_path, full_inputs())
    page = out["html"]
    imgs = re.findall(
        r'<img id="chart-(\w+)"[^>]*src="data:image/png;base64,([^"]+)"', page
    )
    assert sorted(name for name, _ in imgs) == ["demos", "gantt", "speedup"]
    for _, data in imgs:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page
    assert "lost 37 updates" in page


def test_report_tolerates_missing_pieces(tmp_path):
    inputs = full_inputs(demos={}, baselines={}, cpus=2)
    figures, out = written(tmp_path, inputs)
    md = out["md"]
    assert "No demo records were found" in md
    assert "No serial baseline was found" in md
    assert "No Pool baseline was found" in md
    assert figures["fanout"]["makespan"] == pytest.approx(3.8)
    assert 'id="chart-gantt"' in out["html"]
    assert 'id="chart-demos"' not in out["html"]


def test_report_includes_scaling_when_present(tmp_path):
    scaling = [
        {"method": "serial", "workers": 1, "median": 8.0},
        {"method": "pool", "workers": 2, "median": 5.0},
        {"method": "snakemake_fresh", "workers": 2, "median": 10.0},
    ]
    _, out = written(tmp_path, full_inputs(scaling=scaling))
    assert "## Scaling study" in out["md"]
    assert "| multiprocessing.Pool | 2 | 5.00 s | 1.60x | 80% | 0.250 |" in out["md"]
    assert "multiprocessing.Pool: Amdahl fit over all points gives a" in out["md"]
    assert "serial fraction f = 0.250" in out["md"]
    # Each kind of fan-out is named for what it is.
    assert "| Snakemake fan-out (fresh processes) | 2 | 10.00 s | 0.80x |" in out["md"]


def test_load_inputs_skips_missing_files(tmp_path):
    rec = tmp_path / "A.json"
    rec.write_text(json.dumps(plot_record("A", 1, T0)))
    demo = tmp_path / "numpy.json"
    demo.write_text(json.dumps(numpy_demo()))
    inputs = report.load_inputs(
        plots=[rec, tmp_path / "missing.json"],
        demos=[demo],
        baselines=[tmp_path / "serial.json"],
        scaling=tmp_path / "scaling.json",
        stations=["A"],
        cores="2",
    )
    assert len(inputs.plots) == 1
    assert list(inputs.demos) == ["numpy"]
    assert inputs.baselines == {}
    assert inputs.scaling is None
    assert inputs.cores == 2


def test_interrupted_report_leaves_no_file(tmp_path, monkeypatch):
    def broken(_figures):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(report, "charts", broken)
    with pytest.raises(RuntimeError):
        written(tmp_path, full_inputs())
    assert not (tmp_path / "report").exists() or not any(
        (tmp_path / "report").iterdir()
    )


def test_json_has_no_infinities(tmp_path):
    # A perfect speedup gives f = 0 and an unbounded Amdahl limit.
    plots = [plot_record("A", 1, T0), plot_record("B", 2, T0)]
    inputs = full_inputs(
        plots=plots,
        stations=["A", "B"],
        demos={},
        baselines={"serial": baseline("serial", 1, 3.6, ["A", "B"])},
    )
    figures, out = written(tmp_path, inputs)
    assert figures["exercise"]["serial_fraction"] == pytest.approx(0.0, abs=1e-6)
    assert math.isinf(figures["exercise"]["amdahl_limit"])
    assert json.loads(out["json"])["exercise"]["amdahl_limit"] is None
    assert "unbounded" in out["md"]


def test_concurrency_above_the_cpus_is_explained_as_oversubscription():
    # Four jobs at once on two CPUs (a run with --cores 4): each started at T0.
    recs = [plot_record(s, 1, T0) for s in ("A", "B", "C", "D")]
    fan = fanout_stats(recs, [], ["A", "B", "C", "D"])
    assert fan["max_concurrent"] == 4
    ex = exercise_comparison(
        baseline("serial", 1, 6.0, ["A", "B", "C", "D"]),
        None,
        fan,
        cores=2,  # the report's own run may use other --cores than the fan-out
        cpus=2,
        n_stations=4,
    )
    text = " ".join(str(b[1]) for b in _fanout_blocks(fan, ex, 2, 2))
    assert "Up to 4 jobs ran at once on 2 usable CPUs" in text


def test_extra_cpu_work_explains_a_slow_parallel_variant():
    loop = {"name": "loop", "ratio": 1.0, "cpu_seconds": 3.0}
    slow = {"name": "processes", "ratio": 2.2, "cpu_seconds": 6.0}
    fair = {"name": "threads", "ratio": 2.2, "cpu_seconds": 3.1}
    demo = {"variants": [loop, slow, fair], "cpus": 2}
    sentence = _extra_cpu_sentence(slow, demo)
    assert "6.00 CPU-seconds where the loop used 3.00" in sentence
    assert "2.0x the CPU work" in sentence and "3.00 s, not 1.50 s" in sentence
    assert _extra_cpu_sentence(fair, demo) is None  # slow, but not from extra CPU
    assert _extra_cpu_sentence(loop, demo) is None
