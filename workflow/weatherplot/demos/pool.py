"""The pool demo: ``Pool(workers).map(func, inputs)``, pool start-up included."""

from __future__ import annotations

import time
from functools import partial

from ..announce import about
from ..records import DemoRecord
from ..timing import summarise
from .common import (
    POOL_SLACK,
    _pool_map,
    _record,
    _run_variants,
    process_start_cost,
)


def func(a: int, t: float = 5.0) -> int:
    """The lesson's pool worker: sleep ``t`` seconds, return ``a + 1``."""
    time.sleep(t)
    return a + 1


def pool_demo(
    t: float, workers: int, inputs: tuple[int, ...], repeats: int
) -> DemoRecord:
    """``Pool(workers).map(func, inputs)``; the time includes starting the pool.

    ``chunksize=1`` hands each input to its own worker (with more inputs than
    ``4 * workers`` map's default chunking would batch them).
    """
    start = time.time()
    outcome: dict[str, list] = {}

    def pool_variant():
        # Its work is at most every item's sleep one after the other.
        limit = POOL_SLACK + t * len(inputs)
        outcome["result"] = _pool_map(workers, partial(func, t=t), list(inputs), limit)

    variants = {
        "pool": (
            f"Pool({workers}).map(func, {list(inputs)})",
            workers,
            "processes",
            pool_variant,
        )
    }
    start_cost = process_start_cost(workers, pool=True)
    entries = _run_variants("pool", variants, repeats)  # fills outcome
    return _record(
        "pool",
        start,
        {"t": t, "workers": workers, "inputs": list(inputs), "repeats": repeats},
        single_call={"label": "func(a) once", "measured": False, **summarise([t])},
        variants=entries,
        results={
            "result": outcome["result"],
            "inputs": list(inputs),
            "process_start_cost": start_cost,
        },
    )


def announce(demos) -> str:
    workers, t = int(demos["workers"]), float(demos["sleep_seconds"])
    repeats = int(demos["sleep_repeats"])
    return (
        f"Pool({workers}).map(func, {list(demos['pool_inputs'])}), each func(a) "
        f"sleeping {t:g} s, {repeats} time(s): {about(repeats * t)} plus process "
        "starts"
    )
