"""The report's section on both CPython builds (report/freethreading.py,
templates/freethreading.j2), on hand-written records with round numbers; and the
pure-Python demo's prediction per build. Nothing here times anything."""

from __future__ import annotations

import copy
import re

import pytest
from test_report import CPUS, DEMO_META, T0, full_inputs, variant

from weatherplot import report
from weatherplot.report.freethreading import HOW_TO_GET_ONE
from weatherplot.report.lesson import analyse_demo, predict_pure_python

GIL = {
    "version": "3.11.7",
    "executable": "/usr/bin/python3.11",
    "gil_enabled": True,
    "free_threaded_build": False,
    "gil_reenabled_by": [],
}
NO_GIL = {
    "version": "3.13.5",
    "executable": "/opt/ft/bin/python",
    "gil_enabled": False,
    "free_threaded_build": True,
    "gil_reenabled_by": [],
}


def pure_python(interpreter, s, loop, threads, processes):
    """4 calls of s seconds on 2 CPUs, process start 0.1 s."""
    return {
        **DEMO_META,
        "kind": "demo",
        "name": "pure_python",
        "start": T0 - 300,
        "end": T0 - 290,
        "interpreter": interpreter,
        "params": {"n": 5_000_000, "workers": 4, "repeats": 3},
        "cpus": CPUS,
        "single_call": {"label": "count_up(n) once", "measured": True, "median": s},
        "variants": [
            variant("loop", "serial", 1, loop, label="4 calls in a loop"),
            variant("threads", "threads", 4, threads, label="4 calls in 4 threads"),
            variant("processes", "processes", 4, processes, label="4 processes"),
        ],
        "results": {"checksum": 1, "process_start_cost": 0.1},
    }


def contended(interpreter, lost_list, lost_attr):
    expected = 4_000_000

    def entry(lost):
        return {
            "final": [expected - lost],
            "lost": [lost],
            "lost_max": lost,
            "lost_share_max": lost / expected,
        }

    return {
        **DEMO_META,
        "kind": "demo",
        "name": "contended",
        "start": T0 - 290,
        "end": T0 - 285,
        "interpreter": interpreter,
        "params": {
            "threads": 4,
            "increments": 1_000_000,
            "seed_threads": 10,
            "repeats": 1,
        },
        "cpus": CPUS,
        "single_call": None,
        "variants": [
            variant(n, "threads", 4, t)
            for n, t in (
                ("list_unlocked", 0.2),
                ("list_locked", 0.9),
                ("attr_unlocked", 0.3),
                ("attr_locked", 1.1),
                ("seed", 0.01),
            )
        ],
        "results": {
            "expected": expected,
            "list_unlocked": entry(lost_list),
            "list_locked": entry(0),
            "attr_unlocked": entry(lost_attr),
            "attr_locked": entry(0),
            "seed": {"result": [11, 2, 3], "expected": [11, 2, 3], "all_exact": True},
        },
    }


def build(interpreter, serial, pool, threads, draw_share):
    """Each method's whole command 1.5 s longer than its loop; 10 s of plotting."""

    def method(workers, loop):
        return {
            "workers": workers,
            "command": "python ...",
            "runs": [
                {
                    "wall": loop + 1.5,
                    "loop_seconds": loop,
                    "work_total": 8.0,
                    "cpu": loop + 1.5,  # a CPU to itself
                }
            ],
        }

    return {
        "interpreter": interpreter,
        "draw": {
            "plot_seconds": 10.0,
            "draw_seconds": 10.0 * draw_share,
            "share": draw_share,
            "per_station": {},
        },
        "threads_png_identical": True,
        "methods": {
            "serial": method(1, serial),
            "pool": method(2, pool),
            "threads": method(2, threads),
        },
    }


def exercise_builds(ft_interpreter=NO_GIL):
    return {
        "kind": "exercise_builds",
        "stations": ["A", "B", "C", "D"],
        "repeats": 1,
        "workers": 2,
        "builds": {
            # GIL: loop 8 s, threads 8 s (1x); free-threaded: loop 10 s, threads
            # 8 s (1.25x, the Amdahl bound of a 60% draw share on 2 CPUs).
            "gil": build(GIL, 8.0, 4.0, 8.0, 0.5),
            "free-threaded": build(ft_interpreter, 10.0, 5.0, 8.0, 0.6),
        },
        "png_identical_across_builds": True,
        "cpus": CPUS,
        "loadavg": {"before": [0.1] * 3, "after": [0.2] * 3},
        "start": T0 - 280,
        "end": T0 - 200,
    }


def both_builds(ft_interpreter=NO_GIL, lost=(2_779_345, 2_731_208)):
    inputs = full_inputs()
    inputs.demos["pure_python"] = pure_python(GIL, 0.25, 1.0, 1.05, 0.6)
    inputs.demos["contended"] = contended(GIL, 0, 0)
    inputs.demos_free_threaded = {
        "pure_python": pure_python(ft_interpreter, 0.35, 1.4, 0.72, 0.8),
        "contended": contended(ft_interpreter, *lost),
        "numpy": {
            **copy.deepcopy(inputs.demos["numpy"]),
            "interpreter": ft_interpreter,
        },
    }
    inputs.exercise_builds = exercise_builds(ft_interpreter)
    return inputs


def rendered(inputs, tmp_path):
    figures = report.write_report(
        inputs, tmp_path / "r.md", tmp_path / "r.html", tmp_path / "r.json"
    )
    return figures, (tmp_path / "r.md").read_text(), (tmp_path / "r.html").read_text()


def section(markdown: str) -> str:
    """The free-threading section as a reader sees it (Markdown's backslash escapes,
    such as the report's \\[ \\] around a printed list, undone)."""
    text = markdown.split("## Free-threaded Python", 1)[1].split("\n## ", 1)[0]
    return re.sub(r"\\(.)", r"\1", text)


def test_pure_python_threads_are_predicted_per_build():
    gil = analyse_demo(pure_python(GIL, 0.25, 1.0, 1.05, 0.6), predict_pure_python)
    ft = analyse_demo(pure_python(NO_GIL, 0.35, 1.4, 0.72, 0.8), predict_pure_python)
    by_gil = {v["name"]: v for v in gil["variants"]}
    by_ft = {v["name"]: v for v in ft["variants"]}
    # k = 4, c = 2: with the GIL the threads take k*s, without it ceil(k/c)*s.
    assert by_gil["threads"]["predicted"] == pytest.approx(4 * 0.25)
    assert by_ft["threads"]["predicted"] == pytest.approx(2 * 0.35)
    assert by_ft["processes"]["predicted"] == pytest.approx(2 * 0.35 + 0.1)
    assert by_ft["threads"]["ratio"] == pytest.approx(0.72 / 0.70)
    # A record from before interpreters were recorded ran with the GIL.
    old = pure_python(GIL, 0.25, 1.0, 1.05, 0.6)
    del old["interpreter"]
    assert predict_pure_python(old["variants"][1], old, 2)[0] == pytest.approx(1.0)


def test_without_a_free_threaded_python_the_section_says_how_to_get_one(tmp_path):
    figures, md, html = rendered(full_inputs(), tmp_path)
    assert figures["free_threading"]["available"] is False
    text = section(md)
    assert HOW_TO_GET_ONE in " ".join(text.split())
    assert "|" not in text  # no table of a build that did not run
    assert "uv python install 3.14t" in html


def test_both_builds_side_by_side_each_against_its_own_prediction(tmp_path):
    figures, md, html = rendered(both_builds(), tmp_path)
    ft = figures["free_threading"]
    assert ft["available"] is True
    assert ft["interpreters"]["gil"]["gil_enabled"] is True
    assert ft["interpreters"]["free-threaded"]["gil_enabled"] is False
    pp = ft["pure_python"]
    assert pp["gil"]["threads_predicted_speedup"] == pytest.approx(1.0)
    assert pp["free-threaded"]["threads_predicted_speedup"] == pytest.approx(2.0)
    assert pp["free-threaded"]["threads_speedup"] == pytest.approx(1.4 / 0.72)
    assert pp["single_thread_cost"] == pytest.approx(0.35 / 0.25)
    text = " ".join(section(md).split())
    # The threads row: each build's measured time, its own prediction and the ratio.
    assert (
        "| ... 4 calls in 4 threads | 1.05 s (predicted 1.00 s, 1.05x) "
        "| 0.72 s (predicted 0.70 s, 1.03x) |" in text
    )
    assert "Python 3.13.5, `/opt/ft/bin/python`, gil_enabled False" in text
    assert "0.35 s against 0.25 s with the GIL (+40%)" in text
    assert "<table>" in html.split("Free-threaded Python: the lesson")[1]
    assert "Processes, which nothing serialises, got 1.75x and 1.67x." in text
    assert "one CPU's worth" not in text
    # A process figure names how the processes were started.
    assert "| ... 4 calls in 4 processes (start method fork) | 0.60 s" in text


def test_processes_that_gain_nothing_either_say_the_machine_was_shared(tmp_path):
    inputs = both_builds()
    slow = inputs.demos_free_threaded["pure_python"]["variants"][2]
    slow.update(median=1.4, times=[1.4], min=1.4, max=1.4)
    _, md, _ = rendered(inputs, tmp_path)
    text = " ".join(section(md).split())
    assert "got 1.00x and 1.67x: gaining nothing either" in text
    assert "about one CPU's worth, not the c = 2 the predictions assume" in text


def test_lost_updates_are_reported_as_counted_and_the_lock_as_exact(tmp_path):
    _, md, _ = rendered(both_builds(lost=(2_779_345, 2_731_208)), tmp_path)
    text = " ".join(section(md).split())
    assert "1,220,655 of 4,000,000, 2,779,345 lost (0.20 s)" in text
    assert "4,000,000 of 4,000,000, exact (0.90 s)" in text
    assert "lost 2,779,345 of 4,000,000 updates" in text
    assert "| the seed's 10 threads x 1 increment | [11, 2, 3] | [11, 2, 3] |" in text
    # A run that happened to lose nothing says so; nothing is invented.
    _, md0, _ = rendered(both_builds(lost=(0, 0)), tmp_path)
    assert "2,779,345" not in md0
    assert "lost 0 of 4,000,000 updates" in " ".join(section(md0).split())


def test_threads_of_the_exercise_against_amdahl_from_the_draw_share(tmp_path):
    figures, md, _ = rendered(both_builds(), tmp_path)
    ex = figures["free_threading"]["exercise"]["builds"]
    ft = ex["free-threaded"]
    # 60% of a plot in Figure.draw: p = 0.4, N = 2 -> 1 / (0.6 + 0.4 / 2) = 1.25x.
    assert ft["parallel_share"] == pytest.approx(0.4)
    assert ft["amdahl_threads"] == pytest.approx(1.25)
    assert ft["threads_work_speedup"] == pytest.approx(10.0 / 8.0)
    assert ft["speedup"]["pool"] == pytest.approx(11.5 / 6.5)
    assert ex["gil"]["amdahl_threads"] == pytest.approx(1 / (0.5 + 0.25))
    text = " ".join(section(md).split())
    assert "60% in `Figure.draw`: threads at most 1.25x, got 1.25x" in text
    assert "For the weather plots, processes still win." in text
    assert "load average was 0.1 before and 0.2 after, on 2 usable CPUs." in text
    # A serial loop that got half a CPU: the machine was shared, and the text says so.
    busy = both_builds()
    busy.exercise_builds["builds"]["gil"]["methods"]["serial"]["runs"][0]["cpu"] = 4.75
    _, md_busy, _ = rendered(busy, tmp_path)
    assert "got 50% of a CPU), so read these times as rough" in md_busy


def test_a_gil_turned_back_on_by_an_extension_marks_the_figures(tmp_path):
    reenabled = {**NO_GIL, "gil_enabled": True, "gil_reenabled_by": ["fancyext"]}
    figures, md, _ = rendered(both_builds(ft_interpreter=reenabled), tmp_path)
    ft = figures["free_threading"]
    assert ft["reenabled_by"] == ["fancyext"]
    assert set(ft["marked"]) >= {"pure_python", "contended", "exercise"}
    text = " ".join(section(md).split())
    assert "fancyext turned it back on at import" in text
    # With the GIL on, the prediction is the GIL's (k*s), and the figure is marked.
    assert "| 0.72 s (predicted 1.40 s, 0.51x)† |" in text
    # Unmarked on a clean free-threaded interpreter.
    clean, md_clean, _ = rendered(both_builds(), tmp_path)
    assert clean["free_threading"]["marked"] == []
    assert "†" not in md_clean
