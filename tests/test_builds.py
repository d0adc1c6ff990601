"""The exercise on both builds (weatherplot.exercise.run_builds): the threaded weather
plot, the Figure.draw share, the record. Real plots of real stations; no timed
assertion."""

from __future__ import annotations

import os
import sys

import pytest
from helpers import FIXTURE_DATA, MELBOURNE

from weatherplot.baselines import draw_timer, run_baseline
from weatherplot.exercise import BUILD_METHODS, run_builds

FT_PYTHON = os.environ.get("WEATHERPLOT_FT_PYTHON")
BUILDS = [sys.executable] + ([FT_PYTHON] if FT_PYTHON else [])


def stations(*ids):
    return [
        {"id": s, "file": str(FIXTURE_DATA / f"{s}.dly.gz"), "format": "ghcnd"}
        for s in ids
    ]


TWO = stations(MELBOURNE, "JA000047778")


@pytest.mark.parametrize("python", BUILDS)
def test_threaded_pngs_are_the_loops_byte_for_byte(python):
    serial = run_baseline("serial", 1, TWO, log=lambda m: None, python=python)
    threads = run_baseline("threads", 2, TWO, log=lambda m: None, python=python)
    assert set(threads["digests"]) == {s["id"] for s in TWO}
    assert threads["digests"] == serial["digests"]
    assert threads["interpreter"]["executable"] == serial["interpreter"]["executable"]


def test_draw_is_a_part_of_every_plot():
    record = run_baseline("draw", 1, TWO, log=lambda m: None)
    # Each station's plot went through the timed Figure.draw (its own entry).
    assert (
        set(record["draw_seconds"])
        == set(record["per_station"])
        == {s["id"] for s in TWO}
    )
    assert all(seconds > 0 for seconds in record["draw_seconds"].values())


def test_the_draw_timer_restores_figure_draw():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    before = Figure.draw
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    with draw_timer() as timer:
        assert Figure.draw.__wrapped__ is before  # the original, timed around
        FigureCanvasAgg(fig).draw()
    assert Figure.draw is before
    timed = timer.seconds
    assert timed > 0
    FigureCanvasAgg(fig).draw()  # restored: a draw after it is not counted
    assert timer.seconds == timed


def test_run_builds_record():
    builds = {
        "gil": sys.executable,
        **({"free-threaded": FT_PYTHON} if FT_PYTHON else {}),
    }
    record = run_builds(stations(MELBOURNE), 2, 1, builds, log=lambda m: None)
    assert record["kind"] == "exercise_builds"
    assert record["stations"] == [MELBOURNE]
    assert set(record["builds"]) == set(builds)
    for name, build in record["builds"].items():
        assert build["threads_png_identical"] is True
        assert set(build["methods"]) == set(BUILD_METHODS)
        assert [len(m["runs"]) for m in build["methods"].values()] == [1, 1, 1]
        draw = build["draw"]
        assert draw["draw_seconds"] > 0
        assert draw["share"] == draw["draw_seconds"] / draw["plot_seconds"]
        assert build["interpreter"]["executable"] == builds[name]
        assert build["interpreter"]["gil_enabled"] is (name == "gil")
