"""What the demos share: running work in threads and processes with bounded
waits, the memory guard, the interleaved timing of variants and the demo record."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue as queue_module
import statistics
import sys
import threading
import time
from collections.abc import Callable

from .. import startmethod
from ..cpus import available_memory, usable_cpus
from ..freethreading import this_interpreter
from ..hostinfo import cpu_seconds, host_name, load_average
from ..records import DemoRecord
from ..timing import summarise

log = logging.getLogger(__name__)

# Resident memory of the parent interpreter with NumPy imported, and of each forked
# child (copy-on-write: only its own pages count). Generous round figures.
PARENT_OVERHEAD_BYTES = 200 * 2**20
CHILD_OVERHEAD_BYTES = 50 * 2**20


#: The ``processes.start_method`` setting the demos start their processes with.
_start_method = "default"


def use_start_method(setting: str) -> str:
    """Start the demos' processes with ``setting`` (a ValueError naming the config key
    when this platform lacks it); returns the method it resolves to here."""
    global _start_method
    method = startmethod.resolve(setting)
    _start_method = setting
    return method


def mp_context() -> multiprocessing.context.BaseContext:
    return startmethod.context(_start_method)


def numpy_peak_bytes(n: int, workers: int) -> int:
    """Peak memory of the numpy demo, in bytes: its largest variant keeps ``workers``
    arrays of ``n`` float64 alive at once, in threads or in children."""
    return workers * (n * 8 + CHILD_OVERHEAD_BYTES) + PARENT_OVERHEAD_BYTES


def numpy_mem_mb(demos_config) -> int:
    """The numpy demo job's memory claim in MiB: its peak estimate."""
    n, workers = int(demos_config["array_size"]), int(demos_config["workers"])
    return numpy_peak_bytes(n, workers) // 2**20 + 1


def check_numpy_memory(n: int, workers: int, available: int | None = None) -> int:
    """Refuse, before allocating anything, a numpy demo that would not fit in memory
    (a ValueError naming ``demos.array_size``); returns the estimate."""
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


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _run_threads(target: Callable, args_list: list[tuple]) -> None:
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

    Results are read *before* joining: a child that has put data on a queue does not
    exit until it is consumed. A child that dies before reporting (killed, out of
    memory) is noticed within a second, ``timeout`` caps the whole; either way the
    others are stopped and a RuntimeError says which child and how.
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
    (``pool``: a ``Pool(workers)`` mapping a no-op): what a processes variant pays on
    top of its work, which the report adds to its predictions."""
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


def _run_variants(demo: str, variants: dict, repeats: int) -> list[dict]:
    """Run every variant once per repeat, interleaved: an entry per variant with its
    wall times and CPU seconds (of this process and the workers it joined)."""
    wall: dict[str, list] = {name: [] for name in variants}
    cpu: dict[str, list] = {name: [] for name in variants}
    for rep in range(1, repeats + 1):
        for name, (label, _workers, _kind, fn) in variants.items():
            log.info("%s demo: %s variant, repeat %d/%d", demo, name, rep, repeats)
            cpu0 = cpu_seconds() + cpu_seconds(children=True)
            elapsed = _timed(fn)
            used = cpu_seconds() + cpu_seconds(children=True) - cpu0
            wall[name].append(elapsed)
            cpu[name].append(round(used, 3))
            log.info(
                "%s demo: %s variant took %.3f s, %.2f CPU s (%s)",
                demo,
                name,
                elapsed,
                used,
                label,
            )
    return [
        {
            "name": name,
            "label": label,
            "workers": workers,
            "kind": kind,
            **summarise(wall[name]),
            "cpu_seconds": cpu[name],
            "cpu_median": round(statistics.median(cpu[name]), 3),
        }
        for name, (label, workers, kind, _fn) in variants.items()
    ]


def _single_call(entries: list[dict], name: str) -> dict:
    """Take entry ``name``, one call of the work (what the predictions start from,
    not a way to run it), out of ``entries``: its label and timing."""
    entry = next(e for e in entries if e["name"] == name)
    entries.remove(entry)
    return {k: v for k, v in entry.items() if k not in ("name", "workers", "kind")}


def _record(name: str, start: float, params: dict, **fields) -> DemoRecord:
    """A demo record (:class:`weatherplot.records.DemoRecord`)."""
    return {
        "kind": "demo",
        "name": name,
        "start": start,
        "end": time.time(),
        "host": host_name(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "interpreter": this_interpreter(),
        "start_method": mp_context().get_start_method(),
        "start_method_default": startmethod.default_method(),
        "params": params,
        "cpus": usable_cpus(),
        "loadavg": load_average(),
        "single_call": fields.pop("single_call", None),
        "variants": fields.pop("variants"),
        "results": fields.pop("results"),
        **fields,
    }
