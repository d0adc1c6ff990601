"""The shared-list demo: ``a[0] += 1`` from threads and processes, and a
read-modify-write that loses updates without a lock.

The lesson's ``a[0] += 1`` is not atomic either (load, add, store), but ten such
threads each finish long before the interpreter's switch interval, so its result is
reliably ``[11, 2, 3]``; the pause makes the race visible on every run.
"""

from __future__ import annotations

import contextlib
import threading
import time

from ..records import DemoRecord
from .common import _record, _run_processes, _run_threads, _run_variants


def increment_first(a: list) -> list:
    """The lesson's worker: ``a[0] += 1``; returns what this worker then sees."""
    a[0] += 1
    return list(a)


def read_pause_write(a: list, iterations: int, pause: float, gate, lock) -> None:
    """``v = a[0]; <pause>; a[0] = v + 1``, ``iterations`` times, once every thread
    is at the ``gate``.

    The pause (``time.sleep`` releases the GIL) puts a thread switch between the read
    and the write, so other threads read the same old value and one of the writes
    wins: updates are lost although the GIL is there. With ``lock`` the whole
    read-modify-write is one critical section and nothing is lost.
    """
    gate.wait()  # start together: the race is the point
    for _ in range(iterations):
        with lock or contextlib.nullcontext():
            v = a[0]
            time.sleep(pause)
            a[0] = v + 1


def shared_list_demo(
    threads: int, iterations: int, pause: float, repeats: int
) -> DemoRecord:
    """``threads`` threads (and as many processes) each do ``a[0] += 1`` once on
    ``[1, 2, 3]``; then ``threads`` threads each do ``iterations`` read-pause-writes,
    without and with a ``threading.Lock``, and count the updates lost."""
    start = time.time()
    outcome: dict[str, list] = {}

    def threads_variant():
        a = [1, 2, 3]
        _run_threads(increment_first, [(a,)] * threads)
        outcome["threads"] = a

    def processes_variant():
        a = [1, 2, 3]
        outcome["child_views"] = _run_processes(increment_first, [(a,)] * threads)
        outcome["processes"] = a

    def read_pause_writes(locked: bool):
        def run():
            a = [1, 2, 3]
            gate = threading.Barrier(threads)
            lock = threading.Lock() if locked else None
            _run_threads(
                read_pause_write, [(a, iterations, pause, gate, lock)] * threads
            )
            outcome.setdefault("locked" if locked else "unlocked", []).append(a[0])

        return run

    rmw = f"read, pause, write, {iterations} times in {threads} threads"
    variants = {
        "threads": (
            f"a[0] += 1 in {threads} threads",
            threads,
            "threads",
            threads_variant,
        ),
        "processes": (
            f"a[0] += 1 in {threads} processes",
            threads,
            "processes",
            processes_variant,
        ),
        "threads_unlocked": (
            f"{rmw}, no lock",
            threads,
            "threads",
            read_pause_writes(False),
        ),
        "threads_locked": (
            f"{rmw}, with a Lock",
            threads,
            "threads",
            read_pause_writes(True),
        ),
    }
    entries = _run_variants("shared_list", variants, repeats)
    expected = 1 + threads * iterations
    lost = {k: [expected - v for v in outcome[k]] for k in ("unlocked", "locked")}
    views = outcome["child_views"]
    return _record(
        "shared_list",
        start,
        {
            "threads": threads,
            "iterations": iterations,
            "pause": pause,
            "repeats": repeats,
            "initial": [1, 2, 3],
        },
        variants=entries,
        results={
            "threads": outcome["threads"],
            "processes": outcome["processes"],
            "processes_child_view": views[0],
            "processes_child_views_identical": all(v == views[0] for v in views),
            "expected": expected,
            "unlocked_final": outcome["unlocked"][-1],
            "unlocked_lost_updates": max(lost["unlocked"]),
            "unlocked_lost_updates_per_repeat": lost["unlocked"],
            "locked_final": outcome["locked"][-1],
            "locked_lost_updates": max(lost["locked"]),
            "locked_lost_updates_per_repeat": lost["locked"],
        },
    )


def announce(demos) -> str:
    return "threads and processes updating a shared list: a few seconds"
