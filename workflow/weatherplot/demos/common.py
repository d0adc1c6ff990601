"""What the demos share: running work in threads and processes with bounded
waits, the memory guard, the interleaved timing of variants and the demo record.

How processes are started (the configured start method) is in the package
docstring, :mod:`weatherplot.demos`.
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
from collections.abc import Callable

from .. import startmethod
from ..cpus import available_memory, usable_cpus
from ..freethreading import this_interpreter
from ..hostinfo import cpu_seconds
from ..records import DemoRecord
from ..timing import summarise

log = logging.getLogger(__name__)

# Resident memory of the parent interpreter with NumPy imported, and of each forked
# child (copy-on-write: only its own pages count). Generous round figures.
PARENT_OVERHEAD_BYTES = 200 * 2**20
CHILD_OVERHEAD_BYTES = 50 * 2**20


#: The ``processes.start_method`` setting the demos start their processes with; the
#: command (``python -m weatherplot.demos --start-method``) sets it once per process.
_start_method = "default"


def use_start_method(setting: str) -> str:
    """Start the demos' processes with ``setting`` (a ValueError naming the config key
    when this platform lacks it); returns the method it resolves to here."""
    global _start_method
    method = startmethod.resolve(setting)
    _start_method = setting
    return method


def mp_context() -> multiprocessing.context.BaseContext:
    """The ``multiprocessing`` context of the configured start method."""
    return startmethod.context(_start_method)


# ---------------------------------------------------------------- memory guard


def numpy_peak_bytes(n: int, workers: int) -> int:
    """Peak memory of the numpy demo, in bytes: the estimate the guard checks.

    The largest variant keeps ``workers`` arrays of ``n`` float64 (8 bytes each) alive
    at once, in ``workers`` threads of the parent or in ``workers`` forked children.
    Add the parent interpreter and, for the processes variant, each child's own pages.
    (The loop and single-call variants hold one array at a time.)
    """
    arrays = max(workers, 1) * n * 8
    return arrays + PARENT_OVERHEAD_BYTES + max(workers, 1) * CHILD_OVERHEAD_BYTES


#: A demo job's memory claim in MiB when its registry entry gives no estimate.
DEMO_MEM_MB = 256


def numpy_mem_mb(demos_config) -> int:
    """The numpy demo job's memory claim in MiB: its peak estimate."""
    n, workers = int(demos_config["array_size"]), int(demos_config["workers"])
    return numpy_peak_bytes(n, workers) // 2**20 + 1


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


# ---------------------------------------------- threads and processes, bounded


def _timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _run_threads(target: Callable, args_list: list[tuple]) -> None:
    """Start one thread per ``args``, then join them all."""
    threads = [
        threading.Thread(target=target, args=args, name=f"demo-{i}")
        for i, args in enumerate(args_list)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def _child(results, i: int, target: Callable, args: tuple) -> None:
    try:
        value = target(*args)
    except BaseException as error:
        results.put((i, False, f"{type(error).__name__}: {error}"))
        raise
    results.put((i, True, value))


def _run_processes(
    target: Callable, args_list: list[tuple], timeout: float = 3600.0, ctx=None
) -> list:
    """Start one process per ``args``, collect their (small) results, join them all.

    Results are read from the queue *before* joining: a child that has put data on a
    queue does not exit until the data is consumed. Every wait is bounded: a child
    that dies before reporting (killed, out of memory) is noticed within a second,
    and ``timeout`` caps the whole; either way the others are stopped and a
    ``RuntimeError`` says which child and how. ``ctx``: a ``multiprocessing``
    context other than the configured one (the start-method demo's).
    """
    ctx = ctx or mp_context()
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


def process_start_cost(
    workers: int,
    repeats: int = 3,
    pool: bool = False,
    call: tuple[Callable, tuple] = (_noop, ()),
) -> float:
    """Median seconds to start and join ``workers`` processes that make ``call``
    (a no-op; the numpy demo's a tiny ``rand_call``, which under ``spawn`` and
    ``forkserver`` includes each child's own NumPy import), under the configured
    start method.

    What a processes variant pays on top of its work (``pool=True``: starting a
    ``Pool(workers)``, mapping a no-op over it and shutting it down). Logged and
    recorded as ``results.process_start_cost`` so the report can add it to its
    predictions.
    """
    fn, args = call

    def start_and_join():
        if pool:
            return _pool_map(workers, _noop, list(range(workers)), POOL_SLACK)
        return _run_processes(fn, [args] * workers)

    cost = statistics.median(_timed(start_and_join) for _ in range(repeats))
    log.info(
        "process start-up of %d workers: %.3f s (median of %d)", workers, cost, repeats
    )
    return round(cost, 6)


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


# ------------------------------------------------------------ timing and record


def call_variants(call: str, fn: Callable, args: tuple, workers: int) -> dict:
    """The variants a CPU-bound demo times, ``{name: (label, workers, kind,
    function)}``: ``fn(*args)`` (named ``call`` in labels) once, ``workers`` times in
    a loop, in ``workers`` threads and in ``workers`` processes."""
    args_list = [args] * workers
    return {
        "single": (f"{call} once", 1, "serial", lambda: fn(*args)),
        "loop": (
            f"{workers} calls in a loop",
            1,
            "serial",
            lambda: [fn(*args) for _ in range(workers)],
        ),
        "threads": (
            f"{workers} calls in {workers} threads",
            workers,
            "threads",
            lambda: _run_threads(fn, args_list),
        ),
        "processes": (
            f"{workers} calls in {workers} processes",
            workers,
            "processes",
            lambda: _run_processes(fn, args_list),
        ),
    }


def _run_variants(demo: str, variants: dict, repeats: int) -> dict[str, dict]:
    """Run every variant once per repeat, interleaved, logging progress.

    Returns ``{variant: {"wall": [...], "cpu": [...]}}``: the wall-clock seconds and
    the CPU seconds (user + system, this process and the workers it joined) of every
    repeat. Wall well above ``cpu / min(workers, CPUs)`` means the variant waited:
    for a lock, for sleep, or for CPUs other work was using.
    """
    times: dict[str, dict] = {name: {"wall": [], "cpu": []} for name in variants}
    for rep in range(1, repeats + 1):
        for name, (label, _workers, _kind, fn) in variants.items():
            log.info("%s demo: %s variant, repeat %d/%d", demo, name, rep, repeats)
            cpu0 = cpu_seconds() + cpu_seconds(children=True)
            elapsed = _timed(fn)
            cpu = cpu_seconds() + cpu_seconds(children=True) - cpu0
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


def _timing(times: dict) -> dict:
    """Summary of one variant's repeats: wall-clock times and their CPU seconds."""
    return {
        **summarise(times["wall"]),
        "cpu_seconds": times["cpu"],
        "cpu_median": round(statistics.median(times["cpu"]), 3),
    }


def _single_call(variants: dict, times: dict[str, dict], name: str) -> dict:
    """Take variant ``name``, one call of the work (what the lesson's predictions
    start from, not a way to run it), out of ``variants`` and ``times``: its label and
    timing."""
    return {"label": variants.pop(name)[0], **_timing(times.pop(name))}


def _variant_entries(variants: dict, times: dict[str, dict]) -> list[dict]:
    return [
        {
            "name": name,
            "label": label,
            "workers": workers,
            "kind": kind,
            **_timing(times[name]),
        }
        for name, (label, workers, kind, _fn) in variants.items()
    ]


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
        # Which interpreter ran it: version, executable, the GIL's state at the end.
        "interpreter": this_interpreter(),
        # How its processes started, and this interpreter's own default method.
        "start_method": mp_context().get_start_method(),
        "start_method_default": startmethod.default_method(),
        "params": params,
        "cpus": usable_cpus(),
        # 1-, 5- and 15-minute load averages as the demo ended: how busy the machine
        # was (the demo's own workers included), for reading the figures.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "single_call": fields.pop("single_call", None),
        "variants": fields.pop("variants", []),
        "results": fields.pop("results", {}),
        **fields,
    }
