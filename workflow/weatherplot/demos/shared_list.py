"""The shared-list demo: ``a[0] += 1`` from threads and processes, and a
read-modify-write that loses updates without a lock."""

from __future__ import annotations

import contextlib
import threading
import time

from ..records import DemoRecord
from .common import (
    _record,
    _run_processes,
    _run_threads,
    _run_variants,
    _variant_entries,
)


def increment_first(a: list) -> list:
    """The lesson's worker: ``a[0] += 1``; returns what this worker then sees."""
    a[0] += 1
    return list(a)


def read_pause_write(a: list, iterations: int, pause: float, lock=None) -> None:
    """``v = a[0]; <pause>; a[0] = v + 1``, ``iterations`` times.

    The pause (``time.sleep`` releases the GIL) puts a thread switch between the read
    and the write, so other threads read the same old value and one of the writes
    wins: updates are lost although the GIL is there. With ``lock`` the whole
    read-modify-write is one critical section and nothing is lost.
    """
    for _ in range(iterations):
        with lock or contextlib.nullcontext():
            v = a[0]
            time.sleep(pause)
            a[0] = v + 1


def _shared_list_variants(
    threads: int, iterations: int, pause: float, outcome: dict
) -> dict:
    """The shared-list demo's variants; each leaves what it saw in ``outcome``."""

    def threads_variant():
        a = [1, 2, 3]
        _run_threads(increment_first, [(a,)] * threads)
        outcome["threads"] = a

    def processes_variant():
        a = [1, 2, 3]
        outcome["processes_child_views"] = _run_processes(
            increment_first, [(a,)] * threads
        )
        outcome["processes"] = a

    def read_pause_writes(locked: bool):
        def run():
            a = [1, 2, 3]
            gate = threading.Barrier(threads)  # start together: the race is the point
            lock = threading.Lock() if locked else None

            def worker():
                gate.wait()
                read_pause_write(a, iterations, pause, lock)

            _run_threads(worker, [()] * threads)
            outcome.setdefault("locked" if locked else "unlocked", []).append(a[0])

        return run

    rmw = f"read, pause, write, {iterations} times in {threads} threads"
    return {
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


def shared_list_demo(
    threads: int, iterations: int, pause: float, repeats: int
) -> DemoRecord:
    """The shared-list lesson, with results and lost-update counts.

    ``threads`` threads (and as many processes) each do ``a[0] += 1`` once on
    ``[1, 2, 3]``; then ``threads`` threads each do ``iterations`` read-pause-writes,
    without and with a ``threading.Lock``. ``expected`` is ``1 + threads *
    iterations``; ``*_lost_updates`` is how far short of it ``a[0]`` ended.

    The lesson's ``a[0] += 1`` is not atomic either (load, add, store), but ten such
    threads each finish long before the interpreter's switch interval, so its result
    is reliably ``[11, 2, 3]``; the pause makes the race visible on every run.
    """
    start = time.time()
    outcome: dict[str, list] = {}
    variants = _shared_list_variants(threads, iterations, pause, outcome)
    times = _run_variants("shared_list", variants, repeats)
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
        variants=_variant_entries(variants, times),
        results=_shared_list_results(outcome, 1 + threads * iterations),
    )


def _shared_list_results(outcome: dict, expected: int) -> dict:
    """What the threads and processes left, and how many updates were lost."""
    lost_unlocked = [expected - v for v in outcome["unlocked"]]
    lost_locked = [expected - v for v in outcome["locked"]]
    views = outcome["processes_child_views"]
    return {
        "threads": outcome["threads"],
        "processes": outcome["processes"],
        "processes_child_view": views[0],
        "processes_child_views_identical": all(v == views[0] for v in views),
        "expected": expected,
        "unlocked_final": outcome["unlocked"][-1],
        "unlocked_lost_updates": max(lost_unlocked),
        "unlocked_lost_updates_per_repeat": lost_unlocked,
        "locked_final": outcome["locked"][-1],
        "locked_lost_updates": max(lost_locked),
        "locked_lost_updates_per_repeat": lost_locked,
    }


def announce(demos) -> str:
    """What the shared-list demo does, for the terminal."""
    return "threads and processes updating a shared list: a few seconds"
