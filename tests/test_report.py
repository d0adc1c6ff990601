"""The timing report's arithmetic and rendering, on hand-written timing records.

Nothing here runs a demo or times anything: the records are synthetic, with round
numbers so every expected figure can be worked out by hand.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re

import pytest

from weatherplot import report
from weatherplot.report import Inputs
from weatherplot.report.analysis import (
    analyse_exercise,
    analyse_scaling,
    collect_environment,
)
from weatherplot.report.fanout import (
    count_sessions,
    exclusive_overlaps,
    fanout_stats,
    latest_session,
    same_session,
)
from weatherplot.report.lesson import (
    analyse_demo,
    extra_cpu,
    no_prediction,
    predict_numpy,
    predict_pool,
    predict_sleep,
)
from weatherplot.report.metrics import (
    amdahl_speedup,
    efficiency,
    fit_serial_fraction,
    karp_flatt,
    max_expected_speedup,
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
        "repeats": 1,
        "cpu_seconds": [],
        "cpu_median": None,
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
        "worker": "fresh",
    }
    rec.update(extra)
    return rec


#: What every demo record holds besides its figures (records.DemoRecord).
DEMO_META = {
    "host": "node",
    "pid": 7,
    "python": "3.11.7",
    "start_method": "fork",
    "loadavg": [0.1, 0.1, 0.1],
}


def sleep_demo(start_cost=0.0):
    return {
        **DEMO_META,
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
        **DEMO_META,
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
        **DEMO_META,
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
        **DEMO_META,
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


def exercise_record(stations=("A", "B", "C", "D")):
    """Hand-worked whole-command timings of 4 stations on 2 CPUs, --cores 2.

    serial loop: 10 s in all, 8 s of it the loop (8 s of plotting);
    Pool(2): 6 s in all, 4.5 s the map, 8 s of plotting = 4 s per CPU;
    snakemake: 9 s, first job 2 s after the command started, last job ended 1 s
    before it exited; 8 s of plotting = 4 s per CPU, so 6 - 4 = 2 s of per-job cost.
    """
    return {
        "kind": "exercise",
        "stations": list(stations),
        "repeats": 1,
        "cores": 2,
        "plot_server": True,
        "dry_run_wall": 1.5,
        "methods": {
            "serial": {
                "workers": 1,
                "runs": [{"wall": 10.0, "loop_seconds": 8.0, "work_total": 8.0}],
            },
            "pool": {
                "workers": 2,
                "runs": [{"wall": 6.0, "loop_seconds": 4.5, "work_total": 8.0}],
            },
            "snakemake": {
                "workers": 2,
                "runs": [
                    {
                        "wall": 9.0,
                        "command_start": T0 - 400,
                        "command_end": T0 - 391,
                        "first_job_start": T0 - 398,
                        "last_job_end": T0 - 392,
                        "jobs": 4,
                        "work_total": 8.0,
                        "overhead_total": 1.2,
                        "workers": {"forked": 4},
                    }
                ],
            },
        },
        "cpus": CPUS,
        "loadavg": {"before": [0.5, 0.4, 0.3], "after": [1.9, 0.8, 0.4]},
        "start": T0 - 400,
        "end": T0 - 370,
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
        "exercise": exercise_record(),
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
    # Amdahl with f = 0.1, S = 1/(0.1 + 0.9/p), worked by hand: 20/11 at p = 2,
    # 40/13 at p = 4, 80/17 at p = 8; e.g. (4 * 13/40 - 1)/(4 - 1) = 0.3/3.
    for p, s in ((2, 20 / 11), (4, 40 / 13), (8, 80 / 17)):
        assert karp_flatt(s, p) == pytest.approx(0.1)
        assert amdahl_speedup(0.1, p) == pytest.approx(s)


def test_fit_serial_fraction_recovers_f_and_reduces_to_karp_flatt():
    # Amdahl with f = 0.2 by hand, S = 1/(0.2 + 0.8/p): 5/3 at p = 2, 2.5 at p = 4,
    # 10/3 at p = 8; the point at p = 1 carries nothing.
    assert fit_serial_fraction(
        [(1, 1.0), (2, 5 / 3), (4, 2.5), (8, 10 / 3)]
    ) == pytest.approx(0.2)
    assert fit_serial_fraction([(2, 1.6)]) == pytest.approx(0.25)  # Karp-Flatt's
    # Noisy points: x = 1 - 1/p, y = 1/S - 1/p: (1/2, 1/8) and (2/3, 1/3), so
    # f = (1/16 + 2/9) / (1/4 + 4/9) = (41/144) / (100/144) = 0.41.
    assert fit_serial_fraction([(2, 1.6), (3, 1.5)]) == pytest.approx(0.41)
    assert fit_serial_fraction([(1, 1.0)]) is None


def test_predictions_follow_the_lesson():
    demo = analyse_demo(numpy_demo(), predict_numpy)
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
    demo = analyse_demo(sleep_demo(start_cost=0.4), predict_sleep)
    by = {v["name"]: v for v in demo["variants"]}
    assert by["loop"]["predicted"] == pytest.approx(20.0)
    assert by["threads"]["predicted"] == pytest.approx(5.0)
    assert by["processes"]["predicted"] == pytest.approx(5.4)
    # The CPU count does not matter for sleeping.
    one_cpu = analyse_demo(sleep_demo(start_cost=0.4), predict_sleep, cpus=1)
    assert [v["predicted"] for v in one_cpu["variants"]] == pytest.approx([20, 5, 5.4])


def test_pool_prediction_and_no_prediction_for_shared_list():
    pool = analyse_demo(pool_demo(), predict_pool)["variants"][0]
    assert pool["predicted"] == pytest.approx(5.0 + 0.2)  # ceil(3/4) * t + start
    seven = pool_demo()
    seven["results"]["inputs"] = [1, 2, 3, 4, 5, 6, 7]
    two = variant("pool", "processes", 2, 20.0)
    assert predict_pool(two, seven, 2)[0] == pytest.approx(4 * 5 + 0.2)  # 4 waves
    shared = analyse_demo(shared_list_demo(T0, T0 + 1), no_prediction)
    assert shared["variants"][0]["predicted"] is None
    assert shared["variants"][0]["ratio"] is None
    assert not shared["has_predictions"]


def test_cpu_bound_threads_with_more_cpus_than_workers():
    generator = numpy_demo()["variants"][-1]  # s_gen = 0.5, 4 threads
    pred, _ = predict_numpy(generator, numpy_demo(), 8)
    assert pred == pytest.approx(0.5)  # ceil(4/8) = 1 wave of s_gen


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
    assert count_sessions(recs) == 3
    assert not same_session("slurm:run-a", "slurm:run-b")
    assert not same_session(None, "vm:1:2.0")


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


def test_a_slurm_group_job_is_shown_as_one_group_with_a_row_per_station():
    records = [
        {**plot_record("A", 1, T0), "slurm_job_id": "81"},
        {**plot_record("B", 2, T0 + 0.1), "slurm_job_id": "81"},
        {**plot_record("C", 3, T0 + 0.2), "slurm_job_id": "82"},
    ]
    rows = [j["row"] for j in fanout_stats(records)["jobs"]]
    assert rows == [
        "slurm 81 (group of 2): A",
        "slurm 81 (group of 2): B",
        "slurm 82",
    ]


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


@pytest.mark.render
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
    text = rendered_fanout(fan)
    assert "plotted by a worker forked from the run's warm plot server" in text
    assert "fresh Python process" not in text
    # Mixed runs (a job found no server) say how many of each.
    mixed = fanout_stats([*recs[:3], plot_record("D", 20, T0 + 1.5)], [], None)
    assert mixed["workers"] == {"forked": 3, "fresh": 1}
    text = rendered_fanout(mixed)
    assert (
        "3 of the 4 jobs were plotted by workers forked from the warm plot server"
        in text
    )


def rendered_fanout(fan, cpus=2):
    """The report's Markdown for figures that hold only this fan-out."""
    from weatherplot.report.render import render_markdown

    figures = report.compute(Inputs(cpus=cpus, cores=2))
    return render_markdown({**figures, "fanout": fan}, {})


def test_jobs_stretched_by_sharing_cpus_do_not_hide_the_per_job_cost():
    """--cores 4 on 2 CPUs: each job's own plotting time doubles (16 s summed), but
    the plotting work is the loop's 8 s, so 4 s per CPU; the rest of the 6 s fan-out
    is per-job cost and sharing, not work."""
    record = exercise_record()
    for run in record["methods"]["snakemake"]["runs"]:
        run["work_total"] = 16.0
    sm = analyse_exercise(record, STATIONS, cpus=2)["methods"]["snakemake"]
    assert sm["parts"] == pytest.approx(
        {"startup": 2.0, "work": 4.0, "per_job": 2.0, "exit": 1.0}
    )
    assert sm["plotting_per_cpu"] == 4.0 and sm["per_job_measured"] is True


def test_exercise_speedups_from_whole_command_times():
    ex = analyse_exercise(exercise_record(), STATIONS, cpus=2)
    serial, pool, sm = (ex["methods"][m] for m in ("serial", "pool", "snakemake"))
    assert (serial["time"], pool["time"], sm["time"]) == (10.0, 6.0, 9.0)
    assert serial["speedup"] == 1.0
    assert pool["speedup"] == pytest.approx(10 / 6)
    assert pool["efficiency"] == pytest.approx(10 / 12)
    assert sm["speedup"] == pytest.approx(10 / 9)
    # Karp-Flatt by hand at p = 2: f = 2/S - 1.
    assert pool["karp_flatt"] == pytest.approx(0.2)
    assert sm["karp_flatt"] == pytest.approx(0.8)
    assert pool["amdahl_limit"] == pytest.approx(5.0)
    assert sm["amdahl_limit"] == pytest.approx(1.25)
    assert sm["max_expected"] == 2.0  # min(--cores 2, 4 stations, 2 CPUs)


def test_each_commands_wall_time_splits_into_its_parts():
    ex = analyse_exercise(exercise_record(), STATIONS, cpus=2)
    parts = {m: v["parts"] for m, v in ex["methods"].items()}
    assert parts["serial"] == pytest.approx(
        {"startup": 2.0, "work": 8.0, "per_job": 0.0, "exit": 0.0}
    )
    assert parts["pool"] == pytest.approx(
        {"startup": 1.5, "work": 4.0, "per_job": 0.5, "exit": 0.0}
    )
    assert parts["snakemake"] == pytest.approx(
        {"startup": 2.0, "work": 4.0, "per_job": 2.0, "exit": 1.0}
    )
    for v in ex["methods"].values():  # the parts are the whole command, no more
        assert sum(v["parts"].values()) == pytest.approx(v["time"])
    sm = ex["methods"]["snakemake"]
    assert sm["per_job_wall_each"] == pytest.approx(1.0)  # 2 s x 2 CPUs / 4 jobs
    assert sm["job_overhead_mean"] == pytest.approx(0.3)
    # The best each could do with its fixed cost and the loop's 8 s spread on 2 CPUs.
    assert ex["methods"]["pool"]["max_with_fixed"] == pytest.approx(10 / 5.5)
    assert sm["max_with_fixed"] == pytest.approx(10 / 7)


def test_slower_than_the_loop_gets_no_amdahl_limit():
    record = exercise_record()
    record["methods"]["snakemake"]["runs"][0]["wall"] = 12.5
    sm = analyse_exercise(record, STATIONS, cpus=2)["methods"]["snakemake"]
    assert sm["speedup"] == pytest.approx(0.8)
    assert sm["serial_fraction"] == pytest.approx(1.5)  # 2/0.8 - 1
    assert sm["amdahl_limit"] is None and sm["amdahl_at_cpus"] is None


def test_the_median_run_is_the_one_split():
    record = exercise_record()
    run = record["methods"]["pool"]["runs"][0]
    record["methods"]["pool"]["runs"] = [
        {**run, "wall": 7.0, "loop_seconds": 5.0},
        run,
        {**run, "wall": 5.0, "loop_seconds": 3.0},
    ]
    pool = analyse_exercise(record, STATIONS, cpus=2)["methods"]["pool"]
    assert (pool["time"], pool["min"], pool["max"]) == (6.0, 5.0, 7.0)
    assert pool["parts"]["startup"] == pytest.approx(1.5)  # the 6 s run's


def test_a_station_added_after_the_timing_is_named_never_folded_in():
    ex = analyse_exercise(exercise_record(), [*STATIONS, "E"], cpus=2)
    assert not ex["matches_config"]
    assert ex["stations_not_timed"] == ["E"]
    assert ex["n_stations"] == 4
    # The speedups stay those of the four stations all three commands plotted.
    assert ex["methods"]["snakemake"]["speedup"] == pytest.approx(10 / 9)


def test_scaling_analysis_karp_flatt_and_fit():
    points = [
        {"method": "serial", "workers": 1, "median": 8.0},
        {"method": "pool", "workers": 1, "median": 8.0},
        {"method": "pool", "workers": 2, "median": 5.0},
        {"method": "snakemake", "workers": 2, "median": 6.0},
        {"method": "snakemake", "workers": 4, "median": 6.0},
    ]
    sc = analyse_scaling(points, cpus=2)
    rows = {(r["method"], r["workers"]): r for r in sc["points"]}
    assert rows["pool", 2]["speedup"] == pytest.approx(1.6)
    assert rows["pool", 2]["karp_flatt"] == pytest.approx(0.25)  # 2/1.6 - 1
    assert sc["fits"]["pool"]["serial_fraction"] == pytest.approx(0.25)
    assert sc["fits"]["pool"]["amdahl_limit"] == pytest.approx(4.0)
    # 4 workers on 2 CPUs count as p = 2: S = 8/6, f = 2 * 6/8 - 1 = 0.5
    assert rows["snakemake", 4]["effective_workers"] == 2
    assert rows["snakemake", 4]["karp_flatt"] == pytest.approx(0.5)


def test_environment_matches_the_interpreter():
    import platform

    import numpy

    env = collect_environment(cpus=2, cores=4, snakemake_version="9.99")
    assert (env["usable_cpus"], env["cores"], env["snakemake"]) == (2, 4, "9.99")
    assert env["python"] == platform.python_version()
    assert env["numpy"] == numpy.__version__


# ---------------------------------------------- records -> figures, no rendering
# analysis.py's figures checked on the records themselves, against numbers worked
# out by hand (fast: mutation testing runs these, not the rendering tests).


def test_an_even_number_of_runs_splits_the_faster_of_the_middle_two():
    record = exercise_record()
    run = record["methods"]["pool"]["runs"][0]  # 6 s, 4.5 s of it the map
    record["methods"]["pool"]["runs"] = [
        {**run, "wall": 8.0, "loop_seconds": 6.5},
        {**run, "wall": 7.0, "loop_seconds": 5.0},
        run,
        {**run, "wall": 5.0, "loop_seconds": 3.0},
    ]
    pool = analyse_exercise(record, STATIONS, cpus=2)["methods"]["pool"]
    assert (pool["time"], pool["repeats"]) == (6.5, 4)  # (6 + 7) / 2
    assert pool["parts"]["startup"] == pytest.approx(1.5)  # the 6 s run's, not 7's 2


def test_a_loop_or_fan_out_shorter_than_its_plotting_has_no_per_job_part():
    """The loop's 8 s of plotting on 2 CPUs is 4 s each; a 3 s map or fan-out (a
    busy machine slowed the loop) leaves 3 s of work, no per-job cost, and says it
    was not measured."""
    record = exercise_record()
    record["methods"]["pool"]["runs"][0]["loop_seconds"] = 3.0
    record["methods"]["snakemake"]["runs"][0]["last_job_end"] = T0 - 395  # 3 s
    methods = analyse_exercise(record, STATIONS, cpus=2)["methods"]
    assert methods["pool"]["parts"] == pytest.approx(
        {"startup": 3.0, "work": 3.0, "per_job": 0.0, "exit": 0.0}
    )
    assert methods["snakemake"]["parts"] == pytest.approx(
        {"startup": 2.0, "work": 3.0, "per_job": 0.0, "exit": 4.0}
    )
    for m in ("pool", "snakemake"):
        assert methods[m]["span"] == 3.0 and methods[m]["plotting_per_cpu"] == 4.0
        assert methods[m]["per_job_measured"] is False
    # Exactly the plotting's length: measured (nothing left for per-job cost).
    record["methods"]["pool"]["runs"][0]["loop_seconds"] = 4.0
    pool = analyse_exercise(record, STATIONS, cpus=2)["methods"]["pool"]
    assert pool["per_job_measured"] is True and pool["parts"]["per_job"] == 0.0


def test_fewer_stations_than_workers_and_workers_than_cpus_bound_each_command():
    """3 stations, `--cores 4` and a Pool of 4 on 2 CPUs: 3 jobs at once at most,
    2 of them running (p = 2); unknown CPUs: the 3 jobs."""
    record = exercise_record(("A", "B", "C"))
    record["methods"]["pool"]["workers"] = 4
    record["methods"]["snakemake"]["workers"] = 4
    on_two = analyse_exercise(record, ["A", "B", "C"], cpus=2)["methods"]
    unknown = analyse_exercise(record, ["A", "B", "C"], cpus=None)["methods"]
    for m in ("pool", "snakemake"):
        assert on_two[m]["workers"] == 4
        assert (on_two[m]["effective_workers"], on_two[m]["max_expected"]) == (2, 2)
        assert (unknown[m]["effective_workers"], unknown[m]["max_expected"]) == (3, 3)
    assert on_two["snakemake"]["jobs_at_once"] == unknown["snakemake"]["jobs_at_once"]
    assert on_two["snakemake"]["jobs_at_once"] == 3
    # 8 s of plotting over 3 workers: 8/3 s a worker.
    assert unknown["pool"]["plotting_per_cpu"] == pytest.approx(8 / 3)


def test_fewer_workers_than_stations_and_cpus_bound_the_speedup():
    """A Pool of 2 and `--cores 2` for 4 stations on 4 CPUs: at most 2x."""
    methods = analyse_exercise(exercise_record(), STATIONS, cpus=4)["methods"]
    assert methods["pool"]["max_expected"] == methods["snakemake"]["max_expected"]
    assert methods["pool"]["max_expected"] == 2.0


def test_a_speedup_up_to_2_percent_above_the_limit_is_not_flagged():
    record = exercise_record()
    record["methods"]["serial"]["runs"][0]["wall"] = 10.2
    record["methods"]["pool"]["runs"][0].update(wall=5.0, loop_seconds=3.5)
    assert analyse_exercise(record, STATIONS, cpus=2)["above_limit"] == []  # 2.04x
    record["methods"]["pool"]["runs"][0]["wall"] = 4.99  # 2.044x
    assert analyse_exercise(record, STATIONS, cpus=2)["above_limit"] == ["pool"]


def test_the_fan_outs_own_figures_come_from_its_median_run():
    methods = analyse_exercise(exercise_record(), STATIONS, cpus=2)["methods"]
    sm = methods["snakemake"]
    assert (sm["jobs"], sm["job_workers"], sm["jobs_at_once"]) == (4, {"forked": 4}, 2)
    assert sm["span"] == 6.0  # first job start to last job end
    assert sm["fixed"] == 3.0  # 2 s start-up + 1 s exit
    assert "jobs" not in methods["pool"]  # the Pool has no jobs of Snakemake's
    # The Pool's one point (10/6 at p = 2): f = 0.2, and on the 2 CPUs 1/(0.2 + 0.4).
    assert methods["pool"]["amdahl_at_cpus"] == pytest.approx(10 / 6)


def test_cpu_time_is_the_median_runs_and_none_when_a_run_lacks_it():
    record = exercise_record()
    serial = record["methods"]["serial"]
    serial["runs"] = [
        {**serial["runs"][0], "wall": w, "cpu": c}
        for w, c in ((10.0, 9.5), (11.0, 10.0), (12.0, 12.5))
    ]
    record["methods"]["pool"]["runs"][0]["cpu"] = 10.5
    record["methods"]["pool"]["runs"].append(
        {"wall": 6.0, "loop_seconds": 4.5, "work_total": 8.0}
    )
    methods = analyse_exercise(record, STATIONS, cpus=2)["methods"]
    assert methods["serial"]["cpu"] == 10.0
    assert methods["pool"]["cpu"] is None  # one of its runs has no CPU time
    assert methods["snakemake"]["cpu"] is None


def test_busy_is_the_loops_share_of_a_cpu_else_the_one_minute_load_above_the_cpus():
    def busy(cpu=None, before=(0.1, 0.1, 0.1), after=(0.1, 0.1, 0.1), cpus=2, wall=10):
        record = exercise_record()
        record["methods"]["serial"]["runs"][0]["wall"] = wall
        if cpu is not None:
            record["methods"]["serial"]["runs"][0]["cpu"] = cpu
        record["loadavg"] = {"before": list(before), "after": list(after)}
        return analyse_exercise(record, STATIONS, cpus)["busy"]

    assert busy(cpu=9.0, after=(5.0, 5.0, 5.0)) is False  # 90 %: its own CPU
    assert busy(cpu=8.9) is True  # 89 %: it shared one, whatever the load says
    assert busy(cpu=0.95, wall=1.0, before=(5.0, 5.0, 5.0)) is False  # a 1 s loop
    # No CPU time recorded: the 1-minute load before or after, against the CPUs.
    assert busy() is False
    assert busy(before=(2.5, 0.1, 0.1)) is True
    assert busy(after=(2.5, 0.1, 0.1)) is True
    assert busy(after=(2.0, 0.1, 0.1)) is False  # at the CPU count, not above
    assert busy(before=(0.1, 3.0, 3.0), after=(0.1, 3.0, 3.0)) is False
    assert busy(after=(2.5, 0.1, 0.1), cpus=None) is False  # CPUs unknown


def test_exercise_figures_say_the_records_run():
    record = {**exercise_record(), "start_method": "spawn"}
    ex = analyse_exercise(record, ["D", "C", "B", "A"], cpus=2)
    assert ex["matches_config"] is True  # the same stations, in another order
    assert ex["stations_not_timed"] == ex["stations_no_longer_configured"] == []
    assert {k: ex[k] for k in ("repeats", "cores", "plot_server", "start_method")} == {
        "repeats": 1,
        "cores": 2,
        "plot_server": True,
        "start_method": "spawn",
    }
    assert (ex["dry_run_wall"], ex["start"], ex["end"]) == (1.5, T0 - 400, T0 - 370)
    assert ex["loadavg"] == {"before": [0.5, 0.4, 0.3], "after": [1.9, 0.8, 0.4]}
    assert ex["above_limit"] == [] and ex["stations"] == STATIONS
    # Records from before the start method was recorded; no station list given.
    ex = analyse_exercise(exercise_record(), None, cpus=2)
    assert ex["start_method"] is None and ex["matches_config"] is True
    # A station timed then but no longer configured is named.
    ex = analyse_exercise(exercise_record(), ["A", "B", "C"], cpus=2)
    assert ex["matches_config"] is False
    assert ex["stations_no_longer_configured"] == ["D"]
    assert ex["stations_not_timed"] == []
    assert analyse_exercise(None, STATIONS, cpus=2) is None


def test_the_loop_is_the_reference_and_a_pool_of_three_on_two_cpus_starts_twice():
    record = exercise_record()
    record["methods"]["pool"]["workers"] = 3
    # 2.5x on 2 CPUs: only disturbed runs do that.
    record["methods"]["pool"]["runs"][0].update(wall=4.0, loop_seconds=3.0)
    ex = analyse_exercise(record, STATIONS, cpus=2)
    serial, pool = ex["methods"]["serial"], ex["methods"]["pool"]
    assert (serial["speedup"], serial["efficiency"]) == (1.0, 1.0)
    assert serial["karp_flatt"] is None and "serial_fraction" not in serial
    assert (serial["fixed"], serial["max_with_fixed"]) == (2.0, 1.0)  # 10 / (2 + 8)
    # A spawned Pool of 3 on 2 CPUs starts its workers in 2 rounds, each paying the
    # loop's 2 s start-up: 4 + 2 * 2.
    assert pool["spawn_estimate"] == pytest.approx(8.0)
    assert ex["above_limit"] == ["pool"]  # 10 / 4 = 2.5x > 1.02 x 2


def test_load_inputs_reads_nothing_given_as_unknown():
    inputs = report.load_inputs()
    assert inputs.cores is None and inputs.stations is None
    assert inputs.cpus is None and inputs.snakemake_version is None
    assert inputs.quick_run is False and inputs.station_names == {}
    assert (inputs.plots, inputs.demos, inputs.demos_free_threaded) == ([], {}, {})
    assert inputs.exercise is inputs.exercise_builds is inputs.scaling is None


@pytest.mark.parametrize(
    "broken, missing",
    [
        (lambda r: r.pop("variants"), "variants"),
        (lambda r: [r.pop("host"), r.pop("pid")], "host, pid"),
        (lambda r: r["variants"][1].pop("cpu_median"), "cpu_median"),
    ],
)
def test_a_demo_record_lacking_a_field_or_a_variants_is_refused(
    tmp_path, broken, missing
):
    record = numpy_demo()
    broken(record)
    path = tmp_path / "numpy.json"
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError) as refused:
        report.load_inputs(demos=[path])
    assert str(refused.value) == (
        f"{path}: a record in an older format (no {missing}); delete it and run "
        "snakemake again to rewrite it"
    )


def test_environment_of_the_report_process(monkeypatch):
    import platform
    import sys
    import sysconfig
    from importlib import metadata

    import matplotlib
    import numpy

    from weatherplot.report import analysis

    monkeypatch.setattr(analysis, "usable_cpus", lambda: {"usable": 7})
    env = collect_environment(cores=3)
    assert env["usable_cpus"] == 7  # not given: the report's own process's
    assert env["cores"] == 3
    assert env["snakemake"] == metadata.version("snakemake")  # not given: installed
    assert (env["python"], env["python_build"]) == (
        platform.python_version(),
        sys.version,
    )
    assert env["implementation"] == platform.python_implementation()
    assert (env["numpy"], env["matplotlib"]) == (
        numpy.__version__,
        matplotlib.__version__,
    )
    assert env["platform"] == platform.platform()
    assert env["machine"] == platform.machine()
    assert env["os_cpu_count"] == os.cpu_count()
    # The build the interpreter says it is, and whether the GIL is on now.
    ft = sysconfig.get_config_var("Py_GIL_DISABLED") == 1
    assert env["free_threaded_build"] is ft
    assert env["gil_enabled"] is (sys._is_gil_enabled() if ft else True)
    assert collect_environment(cpus=0)["usable_cpus"] == 0  # given, even 0
    assert analysis._version("no-such-distribution-here") is None


#: The report process's environment, as collect_environment gives it (the part
#: run_details reads).
REPORT_ENV = {
    "usable_cpus": 2,
    "os_cpu_count": 4,
    "cores": 3,
    "python": "3.11.7",
    "implementation": "CPython",
    "free_threaded_build": False,
    "gil_enabled": True,
}


def test_run_details_span_every_record_and_name_every_host(monkeypatch):
    from weatherplot.report import analysis

    monkeypatch.setattr(analysis.time, "time", lambda: T0)  # 2023-11-14 22:13:20
    sleep = {**sleep_demo(), "host": "n1", "start_method_default": "forkserver"}
    numpy = {**numpy_demo(), "python": "3.13.1", "start_method": "spawn"}
    plots = [plot_record("A", 1, T0, host="n2"), plot_record("B", 2, T0, host="")]
    inputs = Inputs(
        plots=plots, demos={"sleep": sleep, "numpy": numpy}, exercise=exercise_record()
    )
    env = REPORT_ENV
    # The exercise ran first (T0 - 400); the fan-out ended last, 10 min after T0.
    details = analysis.run_details(inputs, {"window": [T0, T0 + 600]}, env)
    assert details == {
        "timed_from": "2023-11-14 22:06 UTC",
        "timed_to": "2023-11-14 22:23 UTC",
        "written": "2023-11-14 22:13 UTC",
        "hosts": ["n1", "n2", "node"],
        "cpus": 2,
        "os_cpu_count": 4,
        "cores": 3,
        "python": "3.11.7",
        "implementation": "CPython",
        "free_threaded_build": False,
        "gil_enabled": True,
        "start_methods_used": ["fork", "spawn"],
        "start_method_defaults": ["forkserver"],
        "demo_pythons": ["3.13.1"],  # the report's own 3.11.7 is not repeated
    }
    # Without a fan-out: the demos' span (numpy's end, T0 - 20, is the last).
    details = analysis.run_details(inputs, None, env)
    assert details["timed_to"] == "2023-11-14 22:13 UTC"
    assert details["timed_from"] == "2023-11-14 22:06 UTC"
    # Nothing timed at all.
    details = analysis.run_details(Inputs(), None, env)
    assert details["timed_from"] is details["timed_to"] is None
    assert details["hosts"] == details["start_methods_used"] == []


def test_run_details_say_utc_whatever_the_machines_time_zone(monkeypatch):
    import time

    from weatherplot.report import analysis

    monkeypatch.setenv("TZ", "JST-9")  # 9 hours ahead of UTC (POSIX form)
    time.tzset()
    try:
        details = analysis.run_details(
            Inputs(exercise=exercise_record()), None, REPORT_ENV
        )
    finally:
        monkeypatch.undo()
        time.tzset()
    assert details["timed_from"] == "2023-11-14 22:06 UTC"  # T0 - 400
    assert details["timed_to"] == "2023-11-14 22:07 UTC"  # T0 - 370


def test_compute_passes_each_input_to_the_figure_that_needs_it(monkeypatch):
    """compute() on its own (no chart drawn): the CPUs, the stations, the exclusive
    jobs cut from the fan-out, the scaling study's points, each build's demos."""
    from weatherplot.report import analysis

    monkeypatch.setattr(analysis, "usable_cpus", lambda: {"usable": 7})
    # A, B, C from T0 to T0 + 1.8; D ended last, at T0 + 101.8 (22:15 UTC).
    plots = [plot_record(s, i, T0) for i, s in enumerate("ABC")]
    plots.append(plot_record("D", 3, T0 + 100))
    ft_sleep = {**sleep_demo(), "start": T0 + 0.2, "end": T0 + 0.3}
    ft_sleep["variants"] = [variant("loop", "serial", 1, 40.0)]

    def command(workers, wall):
        return {"workers": workers, "runs": [{"wall": wall, "loop_seconds": wall - 1}]}

    gil = {
        "interpreter": {},
        "draw": {"share": None},
        "threads_png_identical": True,
        "methods": {
            "serial": command(1, 9),
            "pool": command(4, 5),
            "threads": command(4, 9),
        },
    }
    builds = {
        "kind": "exercise_builds",
        "stations": STATIONS,
        "repeats": 1,
        "builds": {"gil": gil},
        "loadavg": {"before": [0.1] * 3, "after": [0.2] * 3},
        "start": T0 + 1.0,
        "end": T0 + 1.1,
    }
    scaling = {
        "points": [
            {"method": "serial", "workers": 1, "median": 8.0},
            {"method": "pool", "workers": 4, "median": 5.0},
        ],
        "stations": ["A"],
        "repeats": 3,
        "cpus": CPUS,
    }
    exercise = {**exercise_record(), "start": T0 + 0.5, "end": T0 + 0.7}
    exercise["methods"]["pool"]["workers"] = 4
    inputs = Inputs(
        plots=plots,
        demos={"sleep": sleep_demo(), "numpy": numpy_demo()},
        demos_free_threaded={"sleep": ft_sleep},
        exercise=exercise,
        exercise_builds=builds,
        scaling=scaling,
        stations=[*STATIONS, "E"],
        cores=4,
        cpus=3,  # the records say 2
        snakemake_version="9.99",
        quick_run=True,
        station_names={"A": "Alpha"},
    )
    figures = analysis.compute(inputs)
    assert (figures["cpus"], figures["cpus_source"]) == (3, "given to the report")
    assert (figures["cores"], figures["quick_run"]) == (4, True)
    assert figures["stations"] == [*STATIONS, "E"]
    assert figures["station_names"] == {"A": "Alpha"}
    env = figures["environment"]
    assert (env["usable_cpus"], env["cores"], env["snakemake"]) == (3, 4, "9.99")
    # The free-threaded demo, the exercise and the builds' exercise each had the
    # machine to themselves: 0.1 + 0.2 + 0.1 s cut from the 101.8 s fan-out.
    fan = figures["fanout"]
    assert fan["excluded_jobs"] == [
        "demo sleep",
        "exercise exercise",
        "exercise_builds exercise_builds",
    ]
    assert fan["makespan"] == pytest.approx(101.4)
    assert fan["stations_missing"] == ["E"]
    assert figures["exercise"]["stations_not_timed"] == ["E"]
    assert figures["exercise"]["methods"]["pool"]["effective_workers"] == 3  # of 4
    assert figures["run"]["timed_to"] == "2023-11-14 22:15 UTC"  # the fan-out's end
    # The scaling study on the report's 3 CPUs: 4 workers count as 3; S = 8/5 = 1.6,
    # Karp-Flatt (3/1.6 - 1) / (3 - 1) = 0.4375.
    sc = figures["scaling"]
    assert (sc["stations"], sc["repeats"], sc["cpus"]) == (["A"], 3, CPUS)
    assert sc["reference_serial_time"] == 8.0
    assert sc["points"][1]["effective_workers"] == 3
    assert sc["points"][1]["karp_flatt"] == pytest.approx(0.4375)
    # Each demo against its own prediction, on the report's CPUs: sleep's loop
    # k * s = 4 * 5 = 20 s; numpy's explanation is its template.
    sleep = figures["demos"]["sleep"]
    assert sleep["explain"] is None and sleep["cpus"] == 3
    assert [v["predicted"] for v in sleep["variants"]] == [20.0, 5.0, 5.0]
    assert figures["demos"]["numpy"]["explain"] == "numpy.j2"
    ft = figures["free_threading"]
    assert ft["available"] is True and ft["cpus"] == 3
    assert ft["exercise"]["builds"]["gil"]["effective_workers"] == 3  # 4 on 3 CPUs
    assert ft["demos"]["sleep"]["gil"]["cpus"] == 3
    assert ft["demos"]["sleep"]["gil"]["variants"][0]["measured"] == 20.0
    assert ft["demos"]["sleep"]["free-threaded"]["variants"][0]["measured"] == 40.0
    assert ft["demos"]["sleep"]["free-threaded"]["variants"][0]["predicted"] == 20.0


@pytest.mark.parametrize(
    "argument, record",
    [
        ("plots", [{"kind": "plot_station"}]),
        ("demos_free_threaded", [{"kind": "demo"}]),
        ("exercise", {"kind": "exercise"}),
        ("scaling", {"kind": "scaling"}),
        ("exercise_builds", {"kind": "exercise_builds"}),
    ],
)
def test_every_kind_of_record_in_an_older_format_is_refused(tmp_path, argument, record):
    def saved(rec):
        path = tmp_path / f"{argument}.json"
        path.write_text(json.dumps(rec))
        return path

    given = [saved(r) for r in record] if isinstance(record, list) else saved(record)
    with pytest.raises(ValueError, match=f"{argument}.json: a record in an older"):
        report.load_inputs(**{argument: given})


def test_compute_without_records_gives_no_figures():
    figures = report.compute(Inputs(cpus=2))
    assert figures["exercise"] is figures["scaling"] is figures["fanout"] is None
    assert figures["demos"] == {} and figures["free_threading"]["available"] is False
    assert figures["quick_run"] is False and figures["stations"] is None


def test_the_cpus_are_the_reports_else_the_timing_jobs_else_its_own(monkeypatch):
    from weatherplot.report import analysis

    monkeypatch.setattr(analysis, "usable_cpus", lambda: {"usable": 7})
    no_cpus = {**sleep_demo(), "cpus": {}}
    three = {**exercise_record(), "cpus": {**CPUS, "usable": 3}}
    assert analysis.compute(Inputs(cpus=5, exercise=three))["cpus"] == 5
    figures = analysis.compute(Inputs(demos={"sleep": no_cpus}, exercise=three))
    assert figures["cpus"] == 3
    assert figures["cpus_source"] == "as the timing jobs measured them"
    figures = analysis.compute(Inputs(demos={"sleep": no_cpus}))
    assert figures["cpus"] == 7
    assert figures["cpus_source"] == "as the report's own process found them"


# ------------------------------------------------------------------ rendering


def written(tmp_path, inputs):
    paths = {
        "md": tmp_path / "report" / "timing_report.md",
        "html": tmp_path / "report" / "timing_report.html",
        "json": tmp_path / "report" / "timings.json",
    }
    figures = report.write_report(inputs, paths["md"], paths["html"], paths["json"])
    return figures, {k: p.read_text() for k, p in paths.items()}


@pytest.mark.render
def test_report_opens_with_the_three_answers_and_one_chart(tmp_path):
    _, out = written(tmp_path, full_inputs())
    md = out["md"]
    headings = re.findall(r"^(#+ .*)$", md, re.M)
    assert headings[:5] == [
        "# Timing report: what parallelism bought",
        "## The answers",
        "### How long does each variant take?",
        "### What is the maximum speedup you can expect?",
        "### What do you actually get?",
    ]
    answers = md.split("## The exercise")[0]
    assert "| numpy: 4 calls in 4 threads | 4.00 s | 4.40 s | 1.10x | no |" in answers
    assert "big miss, with what the measurements say about why: none here" in answers
    assert "At most 2.00x" in answers
    assert "at most 1.82x for the Pool and 1.43x for snakemake" in answers
    assert (
        "the serial loop took 10.00 s, the Pool of 2 6.00 s (a speedup of 1.67x) "
        "and `snakemake --cores 2` 9.00 s (a speedup of 1.11x" in answers
    )
    assert "about 1.000 s a job" in " ".join(answers.split())
    # One chart in the opening, the whole-command one.
    assert answers.count("*Chart:") == 1 and "Wall time of each whole" in answers
    page = out["html"]
    first = page.index('id="chart-')
    assert page[first:].startswith('id="chart-wall"')
    assert first < page.index('<h2 id="the-exercise')


@pytest.mark.render
def test_report_details_say_the_numbers(tmp_path):
    _, out = written(tmp_path, full_inputs())
    md = out["md"]
    flat = " ".join(md.split())
    assert (
        "4 calls in 4 threads took 4.40 s against the lesson's 4.00 s, 1.10x the "
        "prediction. Its speedup over the loop: 0.91x." in flat
    )
    assert (
        "Pool(4).map (start method fork) took 5.30 s against the lesson's 5.20 s, "
        "1.02x the" in flat
    )
    assert "measured/predicted" not in flat.split("## The exercise")[1]
    assert "global `RandomState`" in md and "releases the GIL" in md
    assert "leave [11, 2, 3]" in md and "sees [1, 2, 3]" in md
    assert "lost 37 updates out of 201" in md and "it lost 0" in md
    assert "returned [3, 2, 10]" in md
    assert "For the Pool, f = 0.200" in md and "For snakemake, f = 0.800" in md
    pool = "| `python: multiprocessing.Pool(2).map(plot, stations)` | 2 | 6.00 s |"
    pool += " 6.00-6.00 | - | 1.67x | 83% | 0.200 |"
    assert pool in md
    assert (
        "| per-job cost (job start-ups, scheduling, tail) | 0.00 s | 0.50 s | 2.00 s |"
        in md
    )
    assert "| exit after the last job | (in start-up) | (in start-up) | 1.00 s |" in md
    assert "dry run of the same workflow" in md and "1.50 s" in md
    # This run's own jobs: the job-by-job view, never a speedup.
    fan = md.split("## This run's plot jobs")[1].split("## Scaling")[0]
    assert "3.70 s" in fan and "demo shared_list" in fan
    assert "speedup of" not in fan
    assert "older plot records" in md
    assert "No scaling study was run" in md
    assert "| Snakemake | 9.99 |" in md
    assert "as the timing jobs measured them" in md


@pytest.mark.render
def test_no_empty_headers_and_no_rows_that_say_nothing(tmp_path):
    _, out = written(tmp_path, full_inputs())
    md = out["md"]
    for header in re.findall(r"^(\|.*\|)\n\|(?:---\|)+$", md, re.M):
        assert all(cell.strip() for cell in header.strip("|").split("|")), header
    assert "<th></th>" not in out["html"]
    # The shared-list demo is about results: no timing rows or sentences for it.
    shared = md.split("### Demo: shared_list")[1].split("###")[0]
    assert "took" not in shared and "|" not in shared


@pytest.mark.render
def test_each_commands_cpu_time_is_the_median_runs_and_absent_from_old_records(
    tmp_path,
):
    record = exercise_record()
    for method, cpus in {"serial": [9.5], "pool": [10.5], "snakemake": [13.0]}.items():
        record["methods"][method]["runs"][0]["cpu"] = cpus[0]
    extra = {**record["methods"]["snakemake"]["runs"][0], "wall": 9.2, "cpu": 15.0}
    record["methods"]["snakemake"]["runs"] += [extra, {**extra, "cpu": 14.0}]
    _, out = written(tmp_path, full_inputs(exercise=record))
    rows = {
        line.split("|")[1].strip(): line
        for line in out["md"].splitlines()
        if line.startswith("| `")
    }
    assert "| 9.50 s |" in rows["`python: for station in stations: plot(station)`"]
    assert (
        "| 14.00 s |" in rows["`snakemake --cores 2 --until plot_station`"]
    )  # median of 13, 15, 14
    _, old = written(tmp_path, full_inputs())  # no cpu in the runs
    assert "| - |" in next(
        line
        for line in old["md"].splitlines()
        if line.startswith("| `python: for station in stations: plot(station)`")
    )


@pytest.mark.render
def test_a_busy_machine_is_said_with_its_load(tmp_path):
    record = exercise_record()
    record["loadavg"] = {"before": [3.5, 2.0, 1.0], "after": [9.2, 4.0, 2.0]}
    _, out = written(tmp_path, full_inputs(exercise=record))
    assert "load average 3.5 before, 9.2 after, on 2 usable CPUs" in out["md"]
    _, quiet = written(tmp_path, full_inputs())  # 0.5 and 1.9 on 2 CPUs
    assert "was busy with other work" not in quiet["md"]


@pytest.mark.render
def test_busy_is_judged_by_the_loops_share_of_a_cpu_not_by_the_load_it_made(tmp_path):
    # The commands' own processes raise the load average above the CPUs: with CPU
    # times recorded, only a loop that got under 90 % of a CPU means other work.
    record = exercise_record()
    record["loadavg"] = {"before": [1.8, 1.0, 1.0], "after": [4.4, 2.0, 1.0]}
    record["methods"]["serial"]["runs"][0]["cpu"] = 9.8  # of 10 s: a CPU to itself
    _, out = written(tmp_path, full_inputs(exercise=record))
    assert "was busy with other work" not in out["md"]
    record["methods"]["serial"]["runs"][0]["cpu"] = 6.0  # 60 % of a CPU
    _, out = written(tmp_path, full_inputs(exercise=record))
    assert "busy with other work while the commands ran (the serial loop" in out["md"]
    assert "got 60% of a CPU" in " ".join(out["md"].split())


@pytest.mark.render
def test_a_station_added_after_the_timing_is_said_plainly(tmp_path):
    _, out = written(tmp_path, full_inputs(stations=[*STATIONS, "E"]))
    assert "the config now also lists E, not timed" in out["md"]
    assert "(a speedup of 1.11x" in out["md"]  # still the four stations' figure


@pytest.mark.render
def test_html_is_self_contained_and_references_every_chart(tmp_path):
    _, out = written(tmp_path, full_inputs())
    page = out["html"]
    imgs = re.findall(
        r'<img id="chart-(\w+)"[^>]*src="data:image/png;base64,([^"]+)"', page
    )
    assert sorted(name for name, _ in imgs) == ["demos", "gantt", "wall"]
    for _, data in imgs:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "<script" not in page
    assert "lost 37 updates" in page and "<code>np.random.rand</code>" in page


def written_in_results(tmp_path, inputs):
    """The report written as the rule writes it: results/report/, with its charts'
    directory, linking the plots in results/plots/."""
    out = tmp_path / "results" / "report"
    report.write_report(
        inputs,
        out / "timing_report.md",
        out / "timing_report.html",
        out / "timings.json",
        charts_dir=out / "timing_report_charts",
        plots_dir=tmp_path / "results" / "plots",
    )
    return out


@pytest.mark.render
def test_html_has_contents_anchors_a_viewport_and_the_plots_as_thumbnails(tmp_path):
    out = written_in_results(tmp_path, full_inputs())
    page = (out / "timing_report.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        page
    )
    ids = re.findall(r'<h[23] id="([^"]+)">', page)
    assert {"the-answers", "glossary", "the-station-plots", "environment"} <= set(ids)
    assert len(ids) == len(set(ids))  # unique anchors
    contents = page.split('<nav id="contents">')[1].split("</nav>")[0]
    assert re.findall(r'<a href="#([^"]+)"', contents) == ids  # every heading, in order
    assert (
        page.index("<h1>")
        < page.index('<nav id="contents">')
        < page.index('<h2 id="the-answers"')
    )
    for ident in ids:  # each heading links to itself
        assert f'<a class="anchor" href="#{ident}"' in page
    for station in STATIONS:
        assert (
            f'<a href="../plots/{station}.png"><img src="../plots/{station}.png"'
            in page
        )
    assert "/tmp" not in page and str(tmp_path) not in page  # relative links only


@pytest.mark.render
def test_markdown_links_its_charts_written_beside_it(tmp_path):
    out = written_in_results(tmp_path, full_inputs())
    md = (out / "timing_report.md").read_text()
    linked = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md)
    assert linked == [
        "timing_report_charts/wall.png",
        "timing_report_charts/demos.png",
        "timing_report_charts/gantt.png",
    ]
    for href in linked:
        assert (out / href).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "embedded in timing_report.html" not in md
    assert "- [A](../plots/A.png)" in md


@pytest.mark.render
def test_a_long_station_list_shows_the_first_thumbnails_and_counts_the_rest(tmp_path):
    from weatherplot.report.render import MAX_THUMBNAILS

    many = [f"S{i:04d}" for i in range(MAX_THUMBNAILS + 15)]
    out = written_in_results(tmp_path, full_inputs(stations=many))
    page = (out / "timing_report.html").read_text()
    assert page.count('<img src="../plots/') == MAX_THUMBNAILS
    assert "the other 15 are in the same directory" in " ".join(page.split())


@pytest.mark.render
def test_report_tolerates_missing_pieces(tmp_path):
    figures, out = written(tmp_path, full_inputs(demos={}, exercise=None, cpus=2))
    md = out["md"]
    assert "No demo records were found" in md
    assert "No exercise timing was found" in md
    assert figures["fanout"]["makespan"] == pytest.approx(3.8)
    assert 'id="chart-gantt"' in out["html"]
    assert 'id="chart-demos"' not in out["html"]


@pytest.mark.render
def test_report_includes_scaling_when_present(tmp_path):
    from weatherplot.timing import summarise

    points = [
        {"method": "serial", "workers": 1, **summarise([8.0])},
        {"method": "pool", "workers": 2, **summarise([5.0])},
        {
            "method": "snakemake_fresh",
            "workers": 2,
            **summarise([10.0]),
            "makespan_median": 7.0,
        },
    ]
    study = {"points": points, "stations": STATIONS, "repeats": 1, "cpus": CPUS}
    _, out = written(tmp_path, full_inputs(scaling=study))
    md = out["md"]
    assert "## Scaling study" in md
    assert "| multiprocessing.Pool | 2 | 5.00 s | - | 1.60x | 80% | 0.250 |" in md
    assert "| snakemake (fresh process per job) | 2 | 10.00 s | 7.00 s | 0.80x |" in md
    assert "multiprocessing.Pool: Amdahl fit over all points gives a" in md
    assert 'id="chart-scaling"' in out["html"]


def test_load_inputs_skips_missing_files(tmp_path):
    rec = tmp_path / "A.json"
    rec.write_text(json.dumps(plot_record("A", 1, T0)))
    demo = tmp_path / "numpy.json"
    demo.write_text(json.dumps(numpy_demo()))
    inputs = report.load_inputs(
        plots=[rec, tmp_path / "missing.json"],
        demos=[demo],
        exercise=tmp_path / "exercise.json",
        scaling=tmp_path / "scaling.json",
        stations=["A"],
        cores=2,
    )
    assert len(inputs.plots) == 1
    assert list(inputs.demos) == ["numpy"]
    assert inputs.exercise is None and inputs.scaling is None
    assert inputs.cores == 2


def test_load_inputs_fills_every_field_from_its_own_file(tmp_path):
    def saved(name, record):
        (tmp_path / name).write_text(json.dumps(record))
        return tmp_path / name

    numpy, exercise = numpy_demo(), exercise_record()
    inputs = report.load_inputs(
        plots=[
            saved("A.json", plot_record("A", 1, T0)),
            saved("B.json", plot_record("B", 2, T0)),
        ],
        demos=[saved("numpy.json", numpy)],
        exercise=saved("exercise.json", exercise),
        stations=["A", "B"],
        cores=2,
        cpus=3,
        snakemake_version="9.1.0",
        demos_free_threaded=[saved("ft-numpy.json", numpy)],
        quick_run=True,
        station_names={"A": "Alpha"},
    )
    assert [p["name"] for p in inputs.plots] == ["A", "B"]
    assert inputs.demos == inputs.demos_free_threaded == {"numpy": numpy}
    assert inputs.exercise == exercise
    assert inputs.scaling is None and inputs.exercise_builds is None
    assert inputs.stations == ["A", "B"]
    assert (inputs.cores, inputs.cpus, inputs.snakemake_version) == (2, 3, "9.1.0")
    assert inputs.quick_run is True and inputs.station_names == {"A": "Alpha"}


@pytest.mark.render
def test_interrupted_report_leaves_no_file(tmp_path, monkeypatch):
    from weatherplot.report import charts

    def broken(_figures):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(charts, "charts", broken)
    with pytest.raises(RuntimeError):
        written(tmp_path, full_inputs())
    assert not (tmp_path / "report").exists() or not any(
        (tmp_path / "report").iterdir()
    )


@pytest.mark.render
def test_json_has_no_infinities(tmp_path):
    # A perfect Pool speedup (the loop's 8 s of work halved, no fixed cost above
    # the loop's) gives f = 0 and an unbounded Amdahl limit.
    record = exercise_record()
    record["methods"]["pool"]["runs"][0]["wall"] = 5.0
    figures, out = written(tmp_path, full_inputs(exercise=record))
    pool = figures["exercise"]["methods"]["pool"]
    assert pool["serial_fraction"] == pytest.approx(0.0, abs=1e-9)
    assert math.isinf(pool["amdahl_limit"])
    data = json.loads(out["json"])
    assert data["exercise"]["methods"]["pool"]["amdahl_limit"] is None
    assert "caps its speedup at unbounded" in out["md"]


@pytest.mark.render
def test_concurrency_above_the_cpus_is_explained_as_oversubscription():
    # Four jobs at once on two CPUs (a run with --cores 4): each started at T0.
    recs = [plot_record(s, 1, T0) for s in ("A", "B", "C", "D")]
    fan = fanout_stats(recs, [], ["A", "B", "C", "D"])
    assert fan["max_concurrent"] == 4
    assert "Up to 4 jobs ran at once on 2 usable CPUs" in rendered_fanout(fan)


@pytest.mark.render
def test_a_job_stamped_to_begin_just_before_its_workers_last_ended_follows_it():
    """--cores 2: each worker's next job began 0.02 s before its previous one ended
    (clock ticks, the end stamped after the reply): two jobs at once, not three or
    four, and no "ran at once on 2 usable CPUs" oversubscription sentence."""
    recs = [
        plot_record("A", 1, T0),  # 1.8 s each
        plot_record("B", 2, T0 + 1.78),
        plot_record("C", 3, T0 + 0.5),
        plot_record("D", 4, T0 + 2.28),
    ]
    fan = fanout_stats(recs, [], ["A", "B", "C", "D"])
    assert fan["max_concurrent"] == 2
    assert "jobs ran at once on 2 usable CPUs" not in rendered_fanout(fan)
    # A real overlap, far above the tolerance, is still counted.
    recs.append(plot_record("E", 5, T0 + 1.0))
    assert fanout_stats(recs, [], None)["max_concurrent"] == 3


@pytest.mark.render
def test_each_station_label_sits_inside_its_own_bar_in_the_timeline():
    """A label at a bar's end sat on the next job's bar: a reader gave it to the wrong
    job. Short jobs with long ids: each label is shrunk or shortened to fit its bar."""
    for n in (8, 30):
        recs = [plot_record(f"USW000{i:05d}", 1, T0 + 1.8 * i) for i in range(n)]
        recs.append(plot_record("ASN00086282", 2, T0))
        labels_inside_their_bars(fanout_stats(recs, [], None))


def labels_inside_their_bars(fan):
    from weatherplot.report.charts import gantt_figure

    fig = gantt_figure(fan)
    fig.canvas.draw()
    ax = fig.axes[0]
    t0 = fan["window"][0]
    labels = {t.get_gid(): t for t in ax.texts if str(t.get_gid()).startswith("st")}
    assert len(labels) == len(fan["jobs"])
    renderer = fig.canvas.get_renderer()
    for job in fan["jobs"]:
        text = labels[f"station:{job['station']}"]
        box = text.get_window_extent(renderer)
        x0, x1 = ax.transData.transform(
            [(job["job_start"] - t0, 0), (job["end"] - t0, 0)]
        )[:, 0]
        assert x0 - 0.5 <= box.x0 and box.x1 <= x1 + 0.5, job["station"]
        assert text.get_text().strip()[-2:] == job["station"][-2:]  # says which


@pytest.mark.render
def test_each_demo_gets_its_own_panel_so_short_bars_stay_readable():
    from weatherplot.report.charts import demos_figure

    demos = report.compute(full_inputs())["demos"]
    fig = demos_figure(demos)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["sleep demo", "numpy demo", "pool demo"]  # no shared_list
    numpy_ax = fig.axes[1]
    tallest = max(p.get_height() for p in numpy_ax.patches)
    assert tallest == pytest.approx(4.4)  # the numpy threads' bar, not sleep's 20 s
    assert tallest > 0.8 * numpy_ax.get_ylim()[1]


@pytest.mark.render
def test_the_per_job_figures_each_have_one_name_and_add_up(tmp_path):
    """Three figures (0.097 s, 0.147 s, a median of 0.04 s) stood side by side with
    nothing reconciling them: the per-job cost (from outside) is named apart from a
    job's start-up (inside), the difference is said, and the fan-out's start-up is
    given as a mean beside the exercise's mean."""
    _, out = written(tmp_path, full_inputs())
    flat = " ".join(out["md"].split())
    assert (
        "The per-job cost, 1.000 s a job, is measured from outside: the fan-out's "
        "time less the plotting work per CPU, times the 2 CPUs, over the 4 jobs. Of "
        "it, the job start-up (process start to the start of plotting, measured "
        "inside each job) took 0.300 s on average; the other 0.700 s is Snakemake's "
        "handling between jobs" in flat
    )
    assert (
        "median 0.500 s, mean 0.500 s, at most 0.500 s (the exercise's snakemake "
        "runs: a mean of 0.300 s)" in flat
    )
    assert "overhead" not in flat.lower()  # one name per figure, not three


def fresh_clone_exercise():
    """The fresh clone's first run: 12 stations, `--cores 4` on 2 CPUs. 12 s of
    plotting = 6 s per CPU; the fan-out took 6.48 s, so 0.48 s x 2 CPUs / 12 jobs =
    0.080 s a job from outside, while the jobs' start-ups, each measured inside its
    job, took 0.139 s on average (4 jobs at once on 2 CPUs: they waited for a CPU)."""
    stations = [f"S{i:02d}" for i in range(12)]
    record = exercise_record(stations)
    record["cores"] = 4
    record["methods"]["serial"]["runs"][0].update(
        wall=14.0, loop_seconds=12.0, work_total=12.0
    )
    record["methods"]["pool"]["runs"][0].update(work_total=12.0)
    fan = record["methods"]["snakemake"]
    fan.update(workers=4, command="snakemake --cores 4")
    fan["runs"][0].update(
        wall=9.0,
        first_job_start=T0 - 398,
        last_job_end=T0 - 398 + 6.48,
        jobs=12,
        work_total=13.0,
        overhead_total=12 * 0.139,
    )
    return record, stations


@pytest.mark.render
def test_a_start_up_longer_than_the_per_job_cost_is_said_never_clamped(tmp_path):
    """The fresh clone's report said "0.080 s a job ... Of it, the job start-up took
    0.139 s on average; the other 0.000 s is Snakemake's handling": a part larger
    than its whole, clamped to zero. Both figures are said with what each measures,
    and why they cannot be subtracted."""
    record, stations = fresh_clone_exercise()
    figures, out = written(
        tmp_path, full_inputs(exercise=record, stations=stations, cores=4)
    )
    sm = figures["exercise"]["methods"]["snakemake"]
    assert sm["per_job_wall_each"] == pytest.approx(0.080)
    assert sm["job_overhead_mean"] == pytest.approx(0.139)
    flat = " ".join(out["md"].split())
    assert "The per-job cost, 0.080 s a job, is measured from outside" in flat
    assert (
        "The job start-up (process start to the start of plotting, measured inside "
        "each job) took 0.139 s on average, more than the per-job cost: so it is not "
        "a part of it" in flat
    )
    assert (
        "(`--cores 4` ran up to 4 jobs at once on 2 usable CPUs: a starting job "
        "shared a CPU with plotting ones" in flat
    )
    assert "0.000 s" not in flat and "Of it," not in flat
    assert "is Snakemake's handling" not in flat


@pytest.mark.render
def test_a_fan_out_shorter_than_the_loops_plotting_leaves_the_per_job_cost_unmeasured(
    tmp_path,
):
    """On a busy machine the serial loop's plotting (14 s, 7 s per CPU) can take
    longer than the whole fan-out (6 s): the per-job cost is then not 0 but not
    measured, and the report says so (it said "0.00 s of its wall time, about 0.000 s
    a job")."""
    record = exercise_record()
    record["methods"]["serial"]["runs"][0].update(
        wall=16.0, loop_seconds=14.0, work_total=14.0
    )
    figures, out = written(tmp_path, full_inputs(exercise=record))
    sm = figures["exercise"]["methods"]["snakemake"]
    assert sm["per_job_measured"] is False
    assert figures["exercise"]["methods"]["pool"]["per_job_measured"] is False
    flat = " ".join(out["md"].split())
    assert (
        "and its per-job cost, which this run cannot measure: its jobs, from the "
        "first one's start to the last one's end, took 6.00 s, less than the serial "
        "loop's plotting spread over 2 CPUs (7.00 s)." in flat
    )
    assert "0.000 s a job" not in flat and "Two per-job figures" not in flat
    assert "This run's per-job cost is not measured" in flat
    assert (
        "| per-job cost (job start-ups, scheduling, tail) | 0.00 s | not measured | "
        "not measured |" in out["md"]
    )


@pytest.mark.render
def test_the_run_details_open_the_report_and_a_glossary_explains_the_terms(tmp_path):
    _, out = written(tmp_path, full_inputs())
    md = out["md"]
    opening = md.split("## The answers")[0]
    assert "| timed | 2023-11-14 22:06 to 22:13 UTC |" in opening  # T0-400 to T0+3.8
    assert "| host | node |" in opening
    assert "| CPUs | 2 usable (os.cpu_count() " in opening and "--cores 2 |" in opening
    assert "| interpreter | Python 3." in opening
    glossary = md.split("## Glossary")[1].split("\n## ")[0]
    terms = [line.split("|")[1].strip() for line in glossary.splitlines()[4:]]
    for term in (
        "makespan",
        "serial fraction f, Karp-Flatt",
        "effective parallelism",
        "speedup",
        "Amdahl's law",
        "job start-up",
        "per-job cost",
    ):
        assert term in terms
    assert len(glossary.splitlines()) < 25  # short


@pytest.mark.render
def test_the_amdahl_cap_holds_for_these_stations_only(tmp_path):
    _, out = written(tmp_path, full_inputs())
    flat = " ".join(out["md"].split())
    assert (
        "caps its speedup at 5.00x however many CPUs there are, for these 4 stations "
        "only: f is the share of the time that did not shrink with the workers, and "
        "that share changes with the number of stations" in flat
    )
    assert "1.43x for snakemake on these 4 stations, before any per-job cost" in flat


def missed_numpy_demo():
    """The issue's run: 4 processes 2.28x the prediction with twice the CPU work of
    4 single calls; per-thread Generators 1.92x it with the predicted CPU work on one
    CPU's worth of time; processes 1.01x the loop."""
    demo = numpy_demo()
    demo["single_call"]["cpu_median"] = 1.0
    by = {v["name"]: v for v in demo["variants"]}
    by["loop"].update(median=4.8, min=4.8, max=4.8, cpu_median=4.0)
    by["processes"].update(
        median=4.75, min=4.7, max=5.0, repeats=3, cpu_median=8.0
    )  # predicted 2*1.0 + 0.1
    by["threads_generator"].update(
        median=1.92, min=1.9, max=2.0, repeats=3, cpu_median=2.0
    )  # predicted 2 * 0.5; s_gen's CPU 0.5
    by["threads_generator"]["single_call"] = {"median": 0.5, "cpu_median": 0.5}
    return demo


def test_a_big_miss_is_flagged_with_the_reason_the_measurements_give():
    demo = analyse_demo(missed_numpy_demo(), predict_numpy, cpus=2)
    by = {v["name"]: v for v in demo["variants"]}
    assert by["threads"]["miss"] is None  # 4.4 / 4.0: within 1.5x
    proc = by["processes"]["miss"]
    assert proc["factor"] == pytest.approx(4.75 / 2.1) and proc["slower"]
    assert (
        "it used 8.00 CPU-seconds, 2.0x the 4.00 the loop used for the same calls"
        in proc["reason"]
    )
    gen = by["threads_generator"]["miss"]
    assert gen["factor"] == pytest.approx(1.92)
    assert "kept 1.0 CPUs busy on average, not 2.0" in gen["reason"]
    # A disturbed median whose fastest repeat was near the prediction says so.
    noisy = missed_numpy_demo()
    noisy["variants"][-1]["min"] = 1.1
    gen = analyse_demo(noisy, predict_numpy, cpus=2)["variants"][-1]["miss"]
    assert gen["reason"].startswith("its fastest of 3 repeats took 1.10 s")
    # Faster than predicted is a miss too; no CPU reason is claimed for it.
    fast = numpy_demo()
    fast["variants"][1].update(median=2.0)  # threads, predicted 4.0
    miss = analyse_demo(fast, predict_numpy, cpus=2)["variants"][1]["miss"]
    assert miss == {"factor": 2.0, "slower": False, "reason": None}


@pytest.mark.render
def test_answer_one_is_a_table_that_flags_the_misses_and_the_text_follows(tmp_path):
    demos = {**full_inputs().demos, "numpy": missed_numpy_demo()}
    _, out = written(tmp_path, full_inputs(demos=demos))
    md = out["md"]
    answers = md.split("### What is the maximum")[0]
    flat = " ".join(md.split())
    row = next(x for x in answers.splitlines() if "4 calls in 4 processes" in x)
    assert row.startswith(
        "| numpy: 4 calls in 4 processes (fork) | 2.10 s | 4.75 s | 2.26x | BIG MISS, "
        "2.26x slower than predicted: it used 8.00 CPU-seconds"
    )
    assert "| numpy: 4 calls in 4 threads | 4.00 s | 4.40 s | 1.10x | no |" in md
    assert "none here" not in answers
    assert (
        "<td>BIG MISS, 1.92x slower than predicted: it did the CPU work"
        in (out["html"])
    )
    # In the details the CPU figure is said once, then what it costs on 2 CPUs.
    assert (
        "BIG MISS, 2.26x slower than predicted: it used 8.00 CPU-seconds, 2.0x the "
        "4.00 the loop used for the same calls: side by side, the same calls cost "
        "more CPU. Spread over 2 CPUs, that CPU work alone takes 4.00 s, not 2.00 s."
        in flat
    )
    # The per-thread Generators' miss is said where the lesson claims they scale.
    assert "Here they did not run as predicted: they took 1.92x the prediction" in flat
    # Processes at 1.01x the loop: the text must not say they scaled.
    assert "scale either way" not in flat and "Processes scaled" not in flat
    assert "here they did not: 4 calls in 4 processes ran at 1.01x the loop's" in flat
    _, good = written(tmp_path, full_inputs())  # processes 1.60x the loop on 2 CPUs
    assert "Processes scaled too (1.60x the loop's speed)" in " ".join(
        good["md"].split()
    )


def test_extra_cpu_work_explains_a_slow_parallel_variant():
    loop = {"name": "loop", "ratio": 1.0, "cpu_seconds": 3.0}
    slow = {"name": "processes", "ratio": 2.2, "cpu_seconds": 6.0}
    fair = {"name": "threads", "ratio": 2.2, "cpu_seconds": 3.1}
    assert extra_cpu(slow, loop, 2) == pytest.approx(
        {"loop_cpu": 3.0, "times": 2.0, "spread": 3.0, "loop_spread": 1.5}
    )
    assert extra_cpu(fair, loop, 2) is None  # slow, but not from extra CPU
    assert extra_cpu(loop, loop, 2) is None


def test_a_record_in_an_older_format_is_refused_naming_the_file(tmp_path):
    old = numpy_demo()
    for v in old["variants"]:
        del v["repeats"]
    path = tmp_path / "numpy.json"
    path.write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"numpy\.json: a record in an older format"):
        report.load_inputs(demos=[path])


# ---------------------------------------------------------- what came from records

HOSTILE = "<script>alert(1)</script> [click](http://evil.example) www.evil.example"


def rendered_markdown(md: str) -> str:
    """The Markdown as a CommonMark renderer with GitHub's tables and bare-URL links
    (markdown-it-py, "gfm-like") turns it into HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like").render(md)


@pytest.mark.render
def test_markdown_shows_hostile_record_strings_as_text_never_as_markup(tmp_path):
    """A host name, an interpreter's version string and a variant label from the
    records reach timing_report.md as text: no raw HTML, no link, no image."""
    demo = sleep_demo()
    demo.update(host=HOSTILE, python=f"3.11.7 {HOSTILE}")
    demo["variants"][1]["label"] = f"threads ![x](http://evil.example/x.png) {HOSTILE}"
    plots = [{**r, "host": HOSTILE} for r in run_records()]
    _, out = written(tmp_path, full_inputs(plots=plots, demos={"sleep": demo}))
    md = out["md"]
    assert not re.search(r"(?<!\\)<(?:/?script|img)|(?<!\\)\]\(http", md)
    page = rendered_markdown(md)
    assert "<script" not in page
    assert "evil.example" in page  # shown, as text
    assert not re.search(r"<a [^>]*evil|<img [^>]*evil", page), re.findall(
        r"<(?:a|img) [^>]*evil[^>]*>", page
    )
    # Said as it is: the host in the run details, the label in its sentence.
    text = html_text(page)
    assert f"host {HOSTILE}" in text
    assert f"threads ![x](http://evil.example/x.png) {HOSTILE} took 5.00 s" in text
    # The HTML page escapes them too.
    assert "<script>alert" not in out["html"] and "&lt;script&gt;" in out["html"]


def html_text(html: str) -> str:
    """An HTML fragment's text: tags dropped, entities decoded, spaces collapsed."""
    import html as entities

    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.render
def test_markdown_contents_link_every_heading_by_githubs_anchors(tmp_path):
    """The Markdown opens with a contents list whose every link lands on its heading
    as GitHub names headings (markdown-it-py's anchors plugin makes GitHub's ids), in
    the headings' order, before the first section."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin

    md = (written_in_results(tmp_path, full_inputs()) / "timing_report.md").read_text()
    page = (
        MarkdownIt("gfm-like").use(anchors_plugin, min_level=2, max_level=3).render(md)
    )
    headings = re.findall(r'<h([23]) id="([^"]+)">(.*?)</h\1>', page)
    assert len(headings) > 10
    contents = page.split("<strong>Contents</strong>")[1].split("<h2")[0]
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', contents)
    assert links == [(ident, text) for _, ident, text in headings]
    assert (
        "amdahls-law-fitted-to-the-whole-command-times",
        "Amdahl's law, fitted to the whole-command times",
    ) in links
    assert md.index("**Contents**") < md.index("## The answers")
    # The HTML page's ids are GitHub's too: a section's link works in either.
    html_page = (tmp_path / "results" / "report" / "timing_report.html").read_text()
    assert re.findall(r'<h[23] id="([^"]+)"', html_page) == [i for _, i, _ in headings]


@pytest.mark.render
def test_thumbnails_are_captioned_by_station_name_where_known(tmp_path):
    names = {"A": "Alpha & <Beta>", "C": "Gamma"}
    out = written_in_results(tmp_path, full_inputs(station_names=names))
    page = (out / "timing_report.html").read_text()
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page.split("thumbs")[-1])
    assert captions == [
        "Alpha &amp; &lt;Beta&gt; <small>A</small>",
        "B",  # no name known: its id
        "Gamma <small>C</small>",
        "D",
    ]
    assert 'alt="Plot of station Gamma (C)"' in page
    md = (out / "timing_report.md").read_text()
    assert "- [Alpha \\& \\<Beta\\>](../plots/A.png) (A)" in md
    assert "- [B](../plots/B.png)\n" in md


# ---------------------------------------- the exercise's words and start method


@pytest.mark.render
def test_the_report_words_the_exercise_commands_itself(tmp_path):
    """The record names each method and its workers; what each command is and what
    its time includes are the report's words, so a wording change re-renders the
    saved record without timing the exercise again."""
    record = exercise_record()
    assert all(set(m) == {"workers", "runs"} for m in record["methods"].values())
    _, out = written(tmp_path, full_inputs(exercise=record))
    md = out["md"]
    assert "| `python: for station in stations: plot(station)` | 1 |" in md
    assert "| `snakemake --cores 2 --until plot_station` | 2 |" in md
    assert "interpreter start, imports once, the Pool's start, the map, exit" in md


@pytest.mark.render
def test_answer_3_says_what_a_spawned_pool_gets_against_the_fan_out(tmp_path):
    """Forked: the Pool's workers inherit the imports, and the answer estimates a
    macOS student's (spawn) Pool from the loop's measured start-up: 6 s + 2 s on
    2 workers and 2 CPUs. Spawned: measured, and said so in the table too."""
    forked = {**exercise_record(), "start_method": "fork"}
    _, out = written(tmp_path, full_inputs(exercise=forked))
    answer = " ".join(out["md"].split("### What do you actually get?")[1].split())
    assert "The Pool started its workers with fork" in answer
    assert "expect that Pool to take about 8.00 s against snakemake's 9.00 s" in answer
    spawned = {**exercise_record(), "start_method": "spawn"}
    _, out = written(tmp_path, full_inputs(exercise=spawned))
    answer = " ".join(out["md"].split("### What do you actually get?")[1].split())
    assert (
        "The Pool started its workers with spawn, as a macOS or Windows student's Pool"
        " does: every worker imported NumPy and Matplotlib itself" in answer
    )
    assert "the Pool took 6.00 s against snakemake's 9.00 s." in answer
    assert "the Pool's start (spawn: every worker imports NumPy and" in out["md"]
    # A record from before the start method was recorded: no such sentence.
    _, old = written(tmp_path, full_inputs())
    assert "started its workers" not in old["md"]


@pytest.mark.render
def test_a_speedup_above_the_cpus_gets_no_amdahl_cap(tmp_path):
    """A loop slowed by other work makes the Pool's speedup exceed its CPUs, and f
    negative: the report said "f = -0.197: that caps its speedup at unbounded"."""
    record = exercise_record()
    record["methods"]["pool"]["runs"][0].update(wall=4.5, loop_seconds=3.5)
    _, out = written(tmp_path, full_inputs(exercise=record))
    flat = " ".join(out["md"].split())
    assert (
        "For the Pool, f = -0.100, below 0: its speedup of 2.22x is more than 2 CPUs "
        "can give, which only disturbed runs measure" in flat
    )
    assert "caps its speedup at unbounded" not in flat
