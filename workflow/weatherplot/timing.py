"""Timing records: small JSON files that say when a job ran, where, and on what
(layout: ``records.PlotRecord``). Only the standard library is imported here, so a
job can start its clock before it imports anything heavy.
"""

from __future__ import annotations

import os
import time

from . import hostinfo
from .atomicwrite import write_json_atomic


def session_id() -> str:
    """The ``snakemake`` run that launched this job, so the report can tell this
    run's records from an earlier run's (a rerun may plot only a new station).
    Under SLURM the executor names every job with the run's UUID; locally the job
    descends from the ``snakemake`` process."""
    host = hostinfo.host_name()
    if os.environ.get("SLURM_JOB_ID"):
        return f"slurm:{os.environ.get('SLURM_JOB_NAME', '')}"
    pid = os.getppid()
    for _ in range(8):  # snakemake -> [shell] -> python: a few levels at most
        if any("snakemake" in part for part in hostinfo.command_line(pid)[:3]):
            # The start key, not an epoch time: identical for every job of a run.
            return f"{host}:{pid}:{hostinfo.start_key(pid)}"
        pid = hostinfo.parent_pid(pid)
        if pid is None or pid <= 1:
            break
    start = hostinfo.start_key(os.getppid())
    return f"{host}:{os.getppid()}" + ("" if start is None else f":{start}")


class PhaseTimer:
    """Wall-clock phases of one plot job, cheap enough to wrap every step."""

    def __init__(self, name: str, start: float):
        self.name = name
        self.start = start
        # The first lap counts from ``start``, which may be earlier (the job's first
        # line, or the client's when a forked worker plots for it).
        self._mark = time.perf_counter() - max(time.time() - start, 0.0)
        self.phases: dict[str, float] = {}
        self.extra: dict[str, object] = {}

    def lap(self, phase: str) -> None:
        """Close ``phase``: the time since the previous lap (or the start)."""
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._mark
        self._mark = now

    def write(self, path: str | os.PathLike) -> dict:
        """Write the record to ``path`` (atomically); returns it."""
        record = {
            "kind": "plot_station",
            "name": self.name,
            "host": hostinfo.host_name(),
            "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "session": session_id(),
            "process_start": hostinfo.process_start_time(),
            "start": self.start,
            "end": time.time(),
            "phases": {k: round(v, 6) for k, v in self.phases.items()},
            **self.extra,
        }
        write_json_atomic(path, record)
        return record


def summarise(times) -> dict:
    """Median and spread of repeated wall times (seconds)."""
    import statistics  # here, not at the top: a plot job's client never needs it

    times = list(times)
    return {
        "times": times,
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "repeats": len(times),
    }
