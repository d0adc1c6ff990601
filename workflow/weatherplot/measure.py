"""The measure layer's one timer and its one nested Snakemake.

Every figure is a whole command timed from outside, as a student times it with
``time``: :func:`run_command`. A nested Snakemake is :func:`snakemake`, always
``--until plot_station`` in a scratch copy of the workflow (weatherplot.scratch).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import hostinfo
from .records import FanoutRun, job_overhead, job_start, job_work


class MeasureError(RuntimeError):
    """A timed command failed or did not finish in time; the message names the
    station(s) or the command and the cause, for the terminal."""


def run_command(
    command: Sequence[str],
    what: str,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Run ``command`` to its end: its ``wall`` seconds, when it started and ended
    (epoch seconds) and ``cpu``, its process tree's CPU seconds. A failure raises
    :class:`MeasureError` with the child's own last ``ERROR: ...`` line, else the
    command and the end of its stderr."""
    shown = " ".join(map(str, command))
    # The CPU of this process's finished children and of theirs: every process of
    # a command is waited for (the plot server reaps its workers, Snakemake the
    # server).
    cpu = hostinfo.cpu_seconds(children=True)
    started = time.time()
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise MeasureError(
            f"{what} did not finish in {timeout:.0f} s: {shown}"
        ) from None
    wall = time.perf_counter() - start
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        if last.startswith("ERROR: "):  # ours: one line naming station and cause
            raise MeasureError(last.removeprefix("ERROR: "))
        raise MeasureError(
            f"{what} failed ({done.returncode}): {shown}\n{done.stderr[-3000:]}"
        )
    return {
        "wall": wall,
        "command_start": started,
        "command_end": started + wall,
        "cpu": hostinfo.cpu_seconds(children=True) - cpu,
    }


def snakemake(
    workdir: Path, args: Sequence[str], timeout: float = 3600
) -> dict[str, float]:
    """``python -m snakemake --until plot_station --quiet ARGS`` in the scratch copy
    ``workdir``, timed, with this interpreter."""
    command = [sys.executable, "-m", "snakemake", "--until", "plot_station", "--quiet"]
    command += args
    return run_command(command, "nested snakemake", timeout, cwd=workdir)


def dry_run(workdir: Path, timeout: float = 600) -> dict[str, float]:
    """``snakemake -n``: Snakemake's start-up and DAG build alone."""
    return snakemake(workdir, ["-n", "--cores", "1"], timeout)


def plot_records(workdir: Path) -> list[dict]:
    """The plot jobs' timing records a nested snakemake left in ``workdir``."""
    folder = Path(workdir) / "results/timings/plots"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def run_fanout(workdir: Path, cores: int, extra: Sequence[str] = ()) -> FanoutRun:
    """One nested ``snakemake --cores N --until plot_station`` from clean outputs,
    split by its plot jobs' records into start-up, fan-out and exit."""
    for folder in ("results", "logs"):
        shutil.rmtree(Path(workdir) / folder, ignore_errors=True)
    run = snakemake(workdir, ["--cores", str(cores), *extra])
    records = plot_records(workdir)
    workers = Counter(str(r.get("worker") or "fresh") for r in records)
    return {
        "wall": run["wall"],
        "command_start": run["command_start"],
        "command_end": run["command_end"],
        "first_job_start": min(job_start(r) for r in records),
        "last_job_end": max(float(r["end"]) for r in records),
        "jobs": len(records),
        "work_total": sum(job_work(r) for r in records),
        "overhead_total": sum(job_overhead(r) for r in records),
        "workers": dict(workers),
        "cpu": run["cpu"],
    }


def run_conditions(started: float, load_before: list[float]) -> dict:
    """A record's closing fields: usable CPUs, load before and after, when it ran."""
    from .cpus import usable_cpus

    return {
        "cpus": usable_cpus(),
        "loadavg": {"before": load_before, "after": hostinfo.load_average()},
        "start": started,
        "end": time.time(),
    }
