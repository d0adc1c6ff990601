"""The pure-Python demo: a CPU-bound function in plain Python, once, in a loop, in
threads and in processes. The one demo where the GIL alone decides: nothing in it
releases the GIL and no library lock is taken, so threads take turns on the build
with the GIL and run at once on the free-threaded build."""

from __future__ import annotations

import logging
import time

from ..announce import SECONDS_PER_STEP, about
from ..records import DemoRecord
from .common import (
    _record,
    _run_variants,
    _single_call,
    call_variants,
    process_start_cost,
)

log = logging.getLogger(__name__)


def count_up(n: int) -> int:
    """``n`` steps of integer arithmetic in the interpreter's own loop (no C call
    that could release the GIL). Returns a checksum, so the work cannot be skipped."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def pure_python_demo(n: int, workers: int, repeats: int) -> DemoRecord:
    """``count_up(n)`` once, ``workers`` times in a loop, in ``workers`` threads and
    in ``workers`` processes, the variants interleaved in each repeat."""
    start = time.time()
    log.info("pure_python demo: n=%d, %d workers, %d repeats", n, workers, repeats)
    variants = call_variants("count_up(n)", count_up, (n,), workers)
    start_cost = process_start_cost(workers)
    entries = _run_variants("pure_python", variants, repeats)
    single = _single_call(entries, "single")
    return _record(
        "pure_python",
        start,
        {"n": n, "workers": workers, "repeats": repeats},
        single_call={**single, "measured": True},
        variants=entries,
        results={"checksum": count_up(n), "process_start_cost": start_cost},
    )


def announce(demos) -> str:
    workers, n = int(demos["workers"]), int(demos["pure_python_n"])
    repeats = int(demos["repeats"])
    calls = repeats * (1 + 3 * workers)
    return (
        f"count_up({n}) in pure Python {calls} times: once, in a loop, in "
        f"{workers} threads, in {workers} processes, {repeats} repeats: "
        f"{about(calls * n * SECONDS_PER_STEP)}, depending on the CPUs"
    )
