"""The numpy demo (CPU-bound work under the GIL): ``np.random.rand(n)`` once, in a
loop, in threads, in processes, and threads that each own a Generator."""

from __future__ import annotations

import logging
import time

from ..announce import SECONDS_PER_RAND, about
from ..records import DemoRecord
from .common import (
    _record,
    _run_threads,
    _run_variants,
    _single_call,
    _timed,
    call_variants,
    check_numpy_memory,
    process_start_cost,
)

log = logging.getLogger(__name__)


def rand_call(n: int) -> tuple[tuple[int, ...], float]:
    """One ``np.random.rand(n)`` from the legacy global generator; only the shape and
    the first value go back from a child, the array is freed where it was made."""
    import numpy as np

    a = np.random.rand(n)  # noqa: NPY002 (the lesson: the legacy global generator)
    return a.shape, float(a[0])


def generator_call(n: int) -> tuple[tuple[int, ...], float]:
    """``n`` uniform numbers from a Generator of this worker's own.

    ``np.random.default_rng()`` makes a Generator whose bit generator has its own
    lock; ``Generator.random`` releases the GIL while it fills the array, so threads
    that each own one run in parallel. ``np.random.rand`` uses the one global
    ``RandomState``, whose lock every thread must take in turn: the threads queue.
    """
    import numpy as np

    a = np.random.default_rng().random(n)
    return a.shape, float(a[0])


def numpy_demo(n: int, workers: int, repeats: int) -> DemoRecord:
    """``np.random.rand(n)`` once, ``workers`` times in a loop, in threads, in
    processes; and threads with a Generator each. Checks memory before allocating."""
    import numpy as np

    need = check_numpy_memory(n, workers)
    start = time.time()
    log.info(
        "numpy demo: n=%d, %d workers, %d repeats, peak memory estimate %.2f GiB",
        n,
        workers,
        repeats,
        need / 2**30,
    )
    log.info("numpy demo: warm-up call (not timed)")
    warmup = _timed(lambda: rand_call(n))
    # Children that import NumPy (under spawn and forkserver they do it themselves).
    start_cost = process_start_cost(workers, call=(rand_call, (1,)))
    variants = {
        **call_variants("np.random.rand(n)", rand_call, (n,), workers),
        "generator_single": (
            "np.random.default_rng().random(n) once",
            1,
            "serial",
            lambda: generator_call(n),
        ),
        "threads_generator": (
            f"{workers} threads, each with its own np.random.default_rng()",
            workers,
            "threads",
            lambda: _run_threads(generator_call, [(n,)] * workers),
        ),
    }
    entries = _run_variants("numpy", variants, repeats)
    single = _single_call(entries, "single")
    generator = _single_call(entries, "generator_single")
    for entry in entries:
        if entry["name"] == "threads_generator":
            entry["single_call_median"] = generator["median"]
            entry["single_call"] = generator
    return _record(
        "numpy",
        start,
        {"n": n, "workers": workers, "repeats": repeats},
        single_call={**single, "measured": True},
        variants=entries,
        results={
            "array_bytes": n * 8,
            "peak_memory_estimate": need,
            "numpy_version": np.__version__,
            "process_start_cost": start_cost,
        },
        warmup={
            "label": "np.random.rand(n) once, not counted",
            "time": round(warmup, 6),
        },
    )


def announce(demos) -> str:
    workers, n, repeats = (int(demos[k]) for k in ("workers", "array_size", "repeats"))
    calls = 1 + repeats * (2 + 4 * workers)  # warm-up, then six variants
    return (
        f"np.random.rand({n}) ({n * 8 / 1e6:.0f} MB) {calls} times: once, in a "
        f"loop, in {workers} threads, in {workers} processes, {repeats} repeats: "
        f"{about(calls * n * SECONDS_PER_RAND)}, depending on the CPUs"
    )
