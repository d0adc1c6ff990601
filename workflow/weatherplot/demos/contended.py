"""The contended read-modify-write: ``threads`` threads, started together, each
doing ``a[0] += 1`` (and ``c.x += 1``) ``increments`` times, without and with a
``threading.Lock``; and the seed's ten threads that each increment once.

With the GIL a thread switch falls between an increment's load and store only at a
few places of the evaluation loop (calls, backward jumps), so updates are rarely
lost; without it the threads run at once on different CPUs and lose many.
"""

from __future__ import annotations

import threading
import time

from ..records import DemoRecord
from .common import _record, _run_threads, _run_variants
from .shared_list import increment_first


class Counter:
    """An object whose attribute the threads increment (``c.x += 1``)."""

    def __init__(self) -> None:
        self.x = 0


# Two loops in each: a `with nullcontext()` around every unlocked increment would add
# two calls per increment to the race being measured.
def add_to_list(a: list, increments: int, gate, lock=None) -> None:
    gate.wait()  # every thread starts the race at once
    if lock is None:
        for _ in range(increments):
            a[0] += 1
    else:
        for _ in range(increments):
            with lock:
                a[0] += 1


def add_to_attribute(c: Counter, increments: int, gate, lock=None) -> None:
    gate.wait()
    if lock is None:
        for _ in range(increments):
            c.x += 1
    else:
        for _ in range(increments):
            with lock:
                c.x += 1


def contended_demo(
    threads: int, increments: int, seed_threads: int, repeats: int
) -> DemoRecord:
    """Each variant's final count per repeat; ``expected`` is ``threads *
    increments``, ``lost`` how far short of it a variant ended."""
    start = time.time()
    finals: dict[str, list[int]] = {}

    def race(name: str, target, new, read, locked: bool):
        def run():
            shared = new()
            gate = threading.Barrier(threads)
            lock = threading.Lock() if locked else None
            _run_threads(target, [(shared, increments, gate, lock)] * threads)
            finals.setdefault(name, []).append(read(shared))

        return run

    seen: list[list[int]] = []

    def seed():
        a = [1, 2, 3]
        _run_threads(increment_first, [(a,)] * seed_threads)
        seen.append(a)

    each = f"{threads} threads x {increments:,} increments"
    # The counters (the statement, its worker, a new counter, its count), each
    # without and with a lock.
    counters = {
        "list": ("a[0] += 1", add_to_list, lambda: [0], lambda a: a[0]),
        "attr": ("c.x += 1", add_to_attribute, Counter, lambda c: c.x),
    }
    variants = {
        f"{name}_{lock}": (
            f"{code}, {each}, {'with a Lock' if lock == 'locked' else 'no lock'}",
            threads,
            "threads",
            race(f"{name}_{lock}", target, new, read, lock == "locked"),
        )
        for name, (code, target, new, read) in counters.items()
        for lock in ("unlocked", "locked")
    }
    variants["seed"] = (
        f"the seed's a[0] += 1 once in each of {seed_threads} threads",
        seed_threads,
        "threads",
        seed,
    )
    entries = _run_variants("contended", variants, repeats)
    expected = threads * increments
    results: dict = {"expected": expected}
    for name, values in finals.items():
        lost = [expected - v for v in values]
        results[name] = {
            "final": values,
            "lost": lost,
            "lost_max": max(lost),
            "lost_share_max": round(max(lost) / expected, 4),
        }
    results["seed"] = {
        "result": seen[-1],
        "expected": [1 + seed_threads, 2, 3],
        "all_exact": all(s == [1 + seed_threads, 2, 3] for s in seen),
    }
    return _record(
        "contended",
        start,
        {
            "threads": threads,
            "increments": increments,
            "seed_threads": seed_threads,
            "repeats": repeats,
        },
        variants=entries,
        results=results,
    )


def announce(demos) -> str:
    threads = int(demos["contended_threads"])
    steps = threads * int(demos["contended_increments"])
    return (
        f"{steps:,} increments of a shared counter by {threads} threads at once, "
        "without and with a lock"
    )
