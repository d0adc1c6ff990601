"""The lesson's threading-versus-multiprocessing demos, timed honestly.

Four demos, each a function that runs every variant and returns a *demo record*
(layout in :func:`_record`, written to ``results/timings/demos/{demo}.json``)::

    sleep        do_nothing(t) in a loop, in threads, in processes
    numpy        np.random.rand(n) once, in a loop, in threads, in processes, and
                 threads that each own a np.random.default_rng() Generator
    shared_list  a[0] += 1 from ten threads / ten processes, and a read-modify-write
                 that loses updates without a lock
    pool         Pool(workers).map(func, [2, 1, 9]) -> [3, 2, 10]

How the figures are taken (also written into every record):

* ``time.perf_counter()`` brackets exactly the work of one variant: for threads, from
  creating the first thread to joining the last; for processes, from creating the
  first process to joining the last, so *process start-up is included*. That is the
  honest cost of the processes variant, and the lesson's point that it is not free.
* The variants are interleaved within each repeat (single, loop, threads, processes,
  single, loop, ...) so slow moments of a shared machine spread over all of them, and
  each variant's median, min and max over ``repeats`` are reported.
* The numpy demo calls ``np.random.rand(n)`` once, untimed, before anything is timed
  (``warmup`` in the record): the first 800 MB allocation of a fresh process costs
  more than the next ones, and that cost belongs to no variant.

Processes are started from an explicit ``multiprocessing`` context: ``fork`` on Linux.
The demos run inside a Snakemake ``script:``, whose ``__main__`` is a generated file
without an ``if __name__ == "__main__"`` guard; ``spawn`` and ``forkserver`` re-import
``__main__`` in every child and would rerun the whole demo there. ``fork`` also starts a
child in milliseconds instead of re-importing NumPy. Its caveat (forking a process that
runs threads) does not bite here: every thread of an earlier variant has been joined
before a process is forked, and the children only call NumPy and exit. Other platforms
use their default context (``spawn`` on macOS and Windows) and then need a guarded
``__main__``, which the tests have.

Results cross the process boundary as a few bytes: a child reports the shape and the
first value of its array, never the array (800 MB per child with the lesson's n).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as queue_module
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .cpus import available_memory, usable_cpus
from .records import DemoRecord
from .report import lesson
from .timing import summarise

log = logging.getLogger(__name__)

# Resident memory of the parent interpreter with NumPy imported, and of each forked
# child (copy-on-write: only its own pages count). Generous round figures.
PARENT_OVERHEAD_BYTES = 200 * 2**20
CHILD_OVERHEAD_BYTES = 50 * 2**20


def mp_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux (see the module docstring for why), the default elsewhere."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


# --------------------------------------------------------------------------- helpers


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _run_threads(target: Callable, args_list: list[tuple]) -> list:
    """Start one thread per ``args``, join them all, return their results in order."""
    results: list = [None] * len(args_list)

    def wrap(i, args):
        results[i] = target(*args)

    threads = [
        threading.Thread(target=wrap, args=(i, args), name=f"demo-{i}")
        for i, args in enumerate(args_list)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def _child(results, i: int, target: Callable, args: tuple) -> None:
    try:
        value = target(*args)
    except BaseException as error:
        results.put((i, False, f"{type(error).__name__}: {error}"))
        raise
    results.put((i, True, value))


def _run_processes(
    target: Callable, args_list: list[tuple], timeout: float = 3600.0
) -> list:
    """Start one process per ``args``, collect their (small) results, join them all.

    Results are read from the queue *before* joining: a child that has put data on a
    queue does not exit until the data is consumed. Every wait is bounded: a child
    that dies before reporting (killed, out of memory) is noticed within a second,
    and ``timeout`` caps the whole; either way the others are stopped and a
    ``RuntimeError`` says which child and how.
    """
    ctx = mp_context()
    results_queue = ctx.Queue()
    procs = [
        ctx.Process(
            target=_child, args=(results_queue, i, target, args), name=f"demo-{i}"
        )
        for i, args in enumerate(args_list)
    ]
    for p in procs:
        p.start()
    try:
        results = _collect(results_queue, procs, time.monotonic() + timeout)
    except BaseException:
        for p in procs:  # the others are not waited for
            if p.is_alive():
                p.kill()
        raise
    finally:
        # A child that reported exits at once; one that does not is stopped.
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join(timeout=10)
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"demo child process(es) failed with exit codes {failed}")
    return results


def _collect(results_queue, procs: list, deadline: float) -> list:
    """Every child's result, or a RuntimeError once one died without one."""
    results: list = [None] * len(procs)
    missing = set(range(len(procs)))
    while missing:
        try:
            i, ok, value = results_queue.get(timeout=1.0)
        except queue_module.Empty:
            dead = [procs[i] for i in missing if procs[i].exitcode is not None]
            if dead or time.monotonic() > deadline:
                what = (
                    f"{dead[0].name} (pid {dead[0].pid}) exited with code "
                    f"{dead[0].exitcode} before reporting its result"
                    if dead
                    else f"{len(missing)} child process(es) still running at the "
                    "deadline"
                )
                raise RuntimeError(f"demo worker failed: {what}") from None
            continue
        if not ok:
            raise RuntimeError(f"demo worker {procs[i].name} raised {value}")
        results[i] = value
        missing.discard(i)
    return results


def _noop(*_args) -> None:
    return None


def process_start_cost(workers: int, repeats: int = 3, pool: bool = False) -> float:
    """Median seconds to start and join ``workers`` processes that do nothing.

    What a processes variant pays on top of its work (``pool=True``: starting a
    ``Pool(workers)``, mapping a no-op over it and shutting it down). Logged and
    recorded as ``results.process_start_cost`` so the report can add it to its
    predictions.
    """
    times = []
    for _ in range(repeats):
        if pool:
            elapsed, _ = _timed(lambda: _pool_noop(workers))
        else:
            elapsed, _ = _timed(lambda: _run_processes(_noop, [()] * workers))
        times.append(elapsed)
    cost = statistics.median(times)
    log.info(
        "process start-up of %d workers: %.3f s (median of %d)", workers, cost, repeats
    )
    return round(cost, 6)


def _pool_noop(workers: int) -> None:
    _pool_map(workers, _noop, list(range(workers)), POOL_SLACK)


#: Seconds a Pool may take beyond its work before the demo gives up on it: a Pool
#: replaces a worker that was killed, but the task it held is lost and map() would
#: wait for it forever.
POOL_SLACK = 60.0


def _pool_map(workers: int, fn: Callable, items: list, timeout: float) -> list:
    """``Pool(workers).map(fn, items)``, one item per task, waiting at most
    ``timeout`` seconds (then a RuntimeError; leaving the ``with`` stops the pool)."""
    with mp_context().Pool(workers) as pool:
        pending = pool.map_async(fn, items, chunksize=1)
        try:
            return pending.get(timeout)
        except multiprocessing.TimeoutError:
            raise RuntimeError(
                f"Pool({workers}).map did not finish in {timeout:.0f} s: a worker "
                "died (killed, or out of memory) and its task was lost"
            ) from None


def _record(name: str, start: float, params: dict, **fields) -> DemoRecord:
    """A demo record: the layout every demo returns and the report reads.

    ``single_call`` is the figure the lesson's predictions start from (None for the
    shared-list demo, whose point is results, not speed); ``variants`` hold one entry
    per way of running the work; ``results`` what the work returned.
    """
    return {
        "kind": "demo",
        "name": name,
        "start": start,
        "end": time.time(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "start_method": mp_context().get_start_method(),
        "params": params,
        "cpus": usable_cpus(),
        "timer": (
            "time.perf_counter around each variant; median/min/max over repeats; "
            "cpu_seconds: user+system CPU of the process and its joined workers"
        ),
        # 1-, 5- and 15-minute load averages as the demo ended: how busy the machine
        # was (the demo's own workers included), for reading the figures.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "single_call": fields.pop("single_call", None),
        "variants": fields.pop("variants", []),
        "results": fields.pop("results", {}),
        **fields,
    }


# --------------------------------------------------------------------- 1. sleeping


def do_nothing(t: float) -> None:
    """The lesson's stand-in for waiting on a disk or a network: sleep ``t`` seconds."""
    time.sleep(t)


def sleep_demo(t: float, workers: int, repeats: int) -> DemoRecord:
    """``do_nothing(t)`` ``workers`` times: in a loop, in threads, in processes.

    The single-call figure is ``t`` itself, not measured (``"measured": False``):
    measuring it would cost another ``t`` seconds and tell nothing ``time.sleep``
    does not promise.
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
    times = _run_variants("sleep", variants, repeats)
    return _record(
        "sleep",
        start,
        {"t": t, "workers": workers, "repeats": repeats},
        single_call={
            "label": "do_nothing(t) once",
            "measured": False,
            **summarise([t]),
        },
        variants=_variant_entries(variants, times),
        results={"process_start_cost": start_cost},
    )


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that ended."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _run_variants(demo: str, variants: dict, repeats: int) -> dict[str, dict]:
    """Run every variant once per repeat, interleaved, logging progress.

    Returns ``{variant: {"wall": [...], "cpu": [...]}}``: the wall-clock seconds and
    the CPU seconds (user + system, this process and the workers it joined; 10 ms
    resolution) of every repeat. Wall well above ``cpu / min(workers, CPUs)`` means
    the variant waited: for a lock, for sleep, or for CPUs other work was using.
    """
    times: dict[str, dict] = {name: {"wall": [], "cpu": []} for name in variants}
    for rep in range(1, repeats + 1):
        for name, (label, _workers, _kind, fn) in variants.items():
            log.info("%s demo: %s variant, repeat %d/%d", demo, name, rep, repeats)
            cpu0 = _cpu_seconds()
            elapsed, _ = _timed(fn)
            cpu = _cpu_seconds() - cpu0
            times[name]["wall"].append(elapsed)
            times[name]["cpu"].append(round(cpu, 3))
            log.info(
                "%s demo: %s variant took %.3f s, %.2f CPU s (%s)",
                demo,
                name,
                elapsed,
                cpu,
                label,
            )
    return times


_INCLUDES = {
    "serial": "the calls only",
    "threads": "thread start-up and join",
    "processes": "process start-up",
}


def _timing(times: dict) -> dict:
    """Summary of one variant's repeats: wall-clock times and their CPU seconds."""
    return {
        **summarise(times["wall"]),
        "cpu_seconds": times["cpu"],
        "cpu_median": round(statistics.median(times["cpu"]), 3),
    }


def _variant_entries(variants: dict, times: dict[str, dict]) -> list[dict]:
    return [
        {
            "name": name,
            "label": label,
            "workers": workers,
            "kind": kind,
            "includes": _INCLUDES[kind],
            **_timing(times[name]),
        }
        for name, (label, workers, kind, _fn) in variants.items()
    ]


# -------------------------------------------------------------------- 2. CPU-bound


def numpy_peak_bytes(n: int, workers: int) -> int:
    """Peak memory of the numpy demo, in bytes: the estimate the guard checks.

    The largest variant keeps ``workers`` arrays of ``n`` float64 (8 bytes each) alive
    at once, in ``workers`` threads of the parent or in ``workers`` forked children.
    Add the parent interpreter and, for the processes variant, each child's own pages.
    (The loop and single-call variants hold one array at a time.)
    """
    arrays = max(workers, 1) * n * 8
    return arrays + PARENT_OVERHEAD_BYTES + max(workers, 1) * CHILD_OVERHEAD_BYTES


def check_numpy_memory(n: int, workers: int, available: int | None = None) -> int:
    """Refuse, before allocating anything, a numpy demo that would not fit in memory.

    ``available`` defaults to what :func:`weatherplot.cpus.available_memory` finds
    (``MemAvailable`` or the cgroup's headroom, whichever is smaller). Returns the
    estimate; raises ``ValueError`` naming ``demos.array_size`` when it does not fit.
    The Snakefile can call this at DAG-build time, the demo calls it again at run time.
    """
    need = numpy_peak_bytes(n, workers)
    source = "this machine's memory"
    if available is None:
        available = available_memory()["available"]
        source = "available (the smaller of MemAvailable and the cgroup memory limit)"
    if available is not None and need > available:
        gib = 2**30
        raise ValueError(
            f"demos.array_size = {n} is too large for this machine: the numpy demo "
            f"keeps {workers} arrays of {n} x 8 bytes alive at once (demos.workers = "
            f"{workers}) and needs about {need / gib:.2f} GiB at peak, but only "
            f"{available / gib:.2f} GiB is {source}. "
            "Lower demos.array_size (or demos.workers)."
        )
    return need


def rand_call(n: int) -> tuple[tuple[int, ...], float]:
    """One ``np.random.rand(n)`` from the legacy global generator.

    Returns only the shape and the first value: a child process sends this back, and
    the array itself is freed here, in the worker that made it.
    """
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


def _numpy_variants(n: int, workers: int) -> dict:
    """The numpy demo's variants: ``{name: (label, workers, kind, function)}``."""
    args = [(n,)] * workers
    return {
        "single": ("np.random.rand(n) once", 1, "serial", lambda: rand_call(n)),
        "loop": (
            f"{workers} calls in a loop",
            1,
            "serial",
            lambda: [rand_call(n) for _ in range(workers)],
        ),
        "threads": (
            f"{workers} calls in {workers} threads",
            workers,
            "threads",
            lambda: _run_threads(rand_call, args),
        ),
        "processes": (
            f"{workers} calls in {workers} processes",
            workers,
            "processes",
            lambda: _run_processes(rand_call, args),
        ),
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
            lambda: _run_threads(generator_call, args),
        ),
    }


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
    warmup, _ = _timed(lambda: rand_call(n))
    start_cost = process_start_cost(workers)
    variants = _numpy_variants(n, workers)
    times = _run_variants("numpy", variants, repeats)
    single = times.pop("single")
    gen_single = times.pop("generator_single")
    del variants["single"], variants["generator_single"]
    entries = _variant_entries(variants, times)
    for entry in entries:
        if entry["name"] == "threads_generator":
            entry["single_call_median"] = statistics.median(gen_single["wall"])
            entry["single_call"] = {
                "label": "np.random.default_rng().random(n) once",
                **_timing(gen_single),
            }
    return _record(
        "numpy",
        start,
        {"n": n, "workers": workers, "repeats": repeats},
        single_call={
            "label": "np.random.rand(n) once",
            "measured": True,
            **_timing(single),
        },
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


# ------------------------------------------------------------- 3. shared-list update


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
        if lock is None:
            v = a[0]
            time.sleep(pause)
            a[0] = v + 1
        else:
            with lock:
                v = a[0]
                time.sleep(pause)
                a[0] = v + 1


def _rmw_threads(threads: int, iterations: int, pause: float, lock) -> list:
    a = [1, 2, 3]
    gate = threading.Barrier(threads)  # start together: the race is the point

    def worker():
        gate.wait()
        read_pause_write(a, iterations, pause, lock)

    _run_threads(worker, [()] * threads)
    return a


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

    def unlocked():
        outcome.setdefault("unlocked", []).append(
            _rmw_threads(threads, iterations, pause, None)[0]
        )

    def locked():
        outcome.setdefault("locked", []).append(
            _rmw_threads(threads, iterations, pause, threading.Lock())[0]
        )

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
            f"read, pause, write, {iterations} times in {threads} threads, no lock",
            threads,
            "threads",
            unlocked,
        ),
        "threads_locked": (
            f"read, pause, write, {iterations} times in {threads} threads, with a Lock",
            threads,
            "threads",
            locked,
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


# ------------------------------------------------------------------ 4. worker pool


def func(a: int, t: float = 5.0) -> int:
    """The lesson's pool worker: sleep ``t`` seconds, return ``a + 1``."""
    time.sleep(t)
    return a + 1


def _call_func(args: tuple[int, float]) -> int:
    return func(*args)


def pool_demo(
    t: float, workers: int, inputs: tuple[int, ...], repeats: int
) -> DemoRecord:
    """``Pool(workers).map(func, inputs)``; the time includes starting the pool.

    ``chunksize=1`` hands each input to its own worker (with more inputs than
    ``4 * workers`` map's default chunking would batch them).
    """
    start = time.time()
    outcome: dict[str, list] = {}
    jobs = [(a, t) for a in inputs]

    def pool_variant():
        # Its work is at most every item's sleep one after the other.
        limit = POOL_SLACK + t * len(jobs)
        outcome["result"] = _pool_map(workers, _call_func, jobs, limit)

    variants = {
        "pool": (
            f"Pool({workers}).map(func, {list(inputs)})",
            workers,
            "processes",
            pool_variant,
        )
    }
    start_cost = process_start_cost(workers, pool=True)
    times = _run_variants("pool", variants, repeats)
    return _record(
        "pool",
        start,
        {"t": t, "workers": workers, "inputs": list(inputs), "repeats": repeats},
        single_call={"label": "func(a) once", "measured": False, **summarise([t])},
        variants=_variant_entries(variants, times),
        results={
            "result": outcome["result"],
            "inputs": list(inputs),
            "process_start_cost": start_cost,
        },
    )


# ------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Demo:
    """One demo of the lesson: all the workflow and the report need to know about it.

    Adding a demo is one entry in :data:`DEMOS` (and its keys in the schema's
    ``demos`` section, the one place for their defaults and bounds).
    """

    name: str
    #: Runs the demo: keyword arguments from the config, see ``config``.
    run: Callable[..., DemoRecord]
    #: The lesson's predicted time for one variant (weatherplot.report.lesson).
    predict: Callable[..., lesson.Prediction]
    #: The report template that explains its results (report/templates/explain/).
    explain: str | None
    #: Its config: ``{key of the demos section: argument of run}``.
    config: Mapping[str, str]

    def run_with(self, demos_config: Mapping) -> DemoRecord:
        """Run with the validated config's ``demos`` section (defaults filled in)."""
        return self.run(**{arg: demos_config[key] for key, arg in self.config.items()})


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "sleep",
            sleep_demo,
            lesson.predict_sleep,
            None,
            {"sleep_seconds": "t", "workers": "workers", "sleep_repeats": "repeats"},
        ),
        Demo(
            "numpy",
            numpy_demo,
            lesson.predict_numpy,
            "numpy.j2",
            {"array_size": "n", "workers": "workers", "repeats": "repeats"},
        ),
        Demo(
            "shared_list",
            shared_list_demo,
            lesson.no_prediction,
            "shared_list.j2",
            {
                "shared_list_threads": "threads",
                "shared_list_iterations": "iterations",
                "shared_list_pause": "pause",
                "sleep_repeats": "repeats",
            },
        ),
        Demo(
            "pool",
            pool_demo,
            lesson.predict_pool,
            "pool.j2",
            {
                "sleep_seconds": "t",
                "workers": "workers",
                "pool_inputs": "inputs",
                "sleep_repeats": "repeats",
            },
        ),
    )
}


def run_demo(name: str, demos_config: Mapping) -> DemoRecord:
    """Run demo ``name`` with the validated config's ``demos`` section."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; expected one of {', '.join(DEMOS)}")
    return DEMOS[name].run_with(demos_config)
