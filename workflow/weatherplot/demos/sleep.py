"""The sleep demo: ``do_nothing(t)`` in a loop, in threads, in processes."""

from __future__ import annotations

import time

from ..announce import about
from ..records import DemoRecord
from ..timing import summarise
from .common import (
    _record,
    _run_processes,
    _run_threads,
    _run_variants,
    process_start_cost,
)


def do_nothing(t: float) -> None:
    """The lesson's stand-in for waiting on a disk or a network: sleep ``t`` seconds."""
    time.sleep(t)


def sleep_demo(t: float, workers: int, repeats: int) -> DemoRecord:
    """``do_nothing(t)`` ``workers`` times: in a loop, in threads, in processes.

    The single-call figure is ``t`` itself, not measured: measuring it would cost
    another ``t`` seconds and tell nothing ``time.sleep`` does not promise.
    """
    start = time.time()
    args = [(t,)] * workers
    variants = {
        "loop": (
            f"do_nothing(t) {workers} times in a loop",
            1,
            "serial",
            lambda: [do_nothing(t) for _ in range(workers)],
        ),
        "threads": (
            f"do_nothing(t) in {workers} threads",
            workers,
            "threads",
            lambda: _run_threads(do_nothing, args),
        ),
        "processes": (
            f"do_nothing(t) in {workers} processes",
            workers,
            "processes",
            lambda: _run_processes(do_nothing, args),
        ),
    }
    start_cost = process_start_cost(workers)
    return _record(
        "sleep",
        start,
        {"t": t, "workers": workers, "repeats": repeats},
        single_call={
            "label": "do_nothing(t) once",
            "measured": False,
            **summarise([t]),
        },
        variants=_run_variants("sleep", variants, repeats),
        results={"process_start_cost": start_cost},
    )


def announce(demos) -> str:
    workers, t = int(demos["workers"]), float(demos["sleep_seconds"])
    repeats = int(demos["sleep_repeats"])
    wait = repeats * (workers * t + 2 * t)
    return (
        f"do_nothing({t:g}) {workers} times in a loop, in {workers} threads and in "
        f"{workers} processes, {repeats} time(s): {about(wait)} of sleeping"
    )
