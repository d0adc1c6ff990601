"""The scaling study: plotting time against the number of workers, three ways.

For p = 1 .. max(usable CPUs, --cores) it times plotting the configured stations with

- the serial loop (one process, p = 1 only: it has no workers to add),
- ``multiprocessing.Pool(p)`` (:func:`weatherplot.baselines.run_baseline`),
- the Snakemake fan-out itself: a nested ``snakemake --cores p --until plot_station``
  in a scratch copy of the workflow, with its jobs forked from the warm plot server
  (``snakemake``, the default) and in fresh processes (``snakemake_fresh``,
  ``plot_server: false``), to show what the imports cost every job.

Each point is repeated; the methods take turns within a repeat, so a burst of load on
this shared machine hits them alike. Every method's time is the wall time of its whole
command, timed from outside (a fresh ``python`` or ``snakemake`` process: interpreter
start, imports, Snakemake's start-up, DAG build and exit included), as a student times
it. For the fan-outs, the plot jobs' *makespan* (first job process start to last job
end) is kept as a second column (``makespan_median``); the report says which is
which.

The study records the times; the speedups, Karp-Flatt and the Amdahl fits are the
timing report's analysis (:func:`weatherplot.report.analysis.analyse_scaling`), which
the rule's script and ``python -m weatherplot scaling`` add, so the two always agree.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .baselines import run_baseline
from .measure import run_fanout
from .ownedtemp import owned_tempdir
from .scratch import WORKFLOW_ROOT, scratch_workflow
from .timing import summarise

METHODS = ("serial", "pool", "snakemake", "snakemake_fresh")
#: The nested run's extra arguments per fan-out method.
FANOUT_METHODS = {
    "snakemake": ("--config", "plot_server=True"),
    "snakemake_fresh": ("--config", "plot_server=False"),
}


# ---------------------------------------------------------------------------
# Arithmetic (tested on fixed numbers)
# ---------------------------------------------------------------------------


def worker_counts(cpus: int, cores: int | None = None) -> list[int]:
    """1, 2, ... up to the usable CPUs, and ``--cores`` when that is more."""
    top = max(int(cpus or 1), int(cores or 1), 1)
    return list(range(1, top + 1))


def run_study(
    stations: Sequence[dict],
    workers: Sequence[int],
    repeats: int,
    data_dir: Path,
    log: Callable[[str], None] = print,
    root: Path = WORKFLOW_ROOT,
    start_method: str = "default",
) -> dict:
    """Time every (method, workers) point ``repeats`` times, methods interleaved:
    the study's record but for the analysis (:func:`~weatherplot.report.analysis.
    analyse_scaling` of its ``points``). The nested snakemake runs with this
    interpreter."""
    from .cpus import usable_cpus

    cpus = usable_cpus()
    started = time.time()
    timings: dict[tuple[str, int], dict[str, list]] = {}

    def add(method, p, **values):
        entry = timings.setdefault((method, p), {})
        for key, value in values.items():
            entry.setdefault(key, []).append(value)

    with owned_tempdir("scaling-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data_dir, root)
        # Warm-up (not counted): page cache, bytecode, Snakemake's conda/env checks.
        run_fanout(workdir, max(workers))
        for repeat in range(1, repeats + 1):
            for p in workers:
                if p == 1:
                    t = run_baseline("serial", 1, list(stations), log=log)
                    add("serial", 1, time=t["wall"])
                t = run_baseline(
                    "pool", p, list(stations), log=log, start_method=start_method
                )
                add("pool", p, time=t["wall"])
                for method, extra in FANOUT_METHODS.items():
                    fan = run_fanout(workdir, p, extra)
                    span = fan["last_job_end"] - fan["first_job_start"]
                    add(method, p, time=fan["wall"], makespan=span)
                    log(
                        f"repeat {repeat}/{repeats}, p={p}: {method} wall "
                        f"{fan['wall']:.2f} s (makespan {span:.2f} s, "
                        f"{fan['jobs']} jobs)"
                    )
    return {
        "kind": "scaling",
        "stations": [s["id"] for s in stations],
        "workers": list(workers),
        "repeats": repeats,
        "cpus": cpus,
        "start": started,
        "end": time.time(),
        "points": _points(timings),
    }


def _points(timings: dict[tuple[str, int], dict[str, list]]) -> list[dict]:
    """One point per (method, workers): the wall times' summary, and for the
    fan-outs their plot jobs' makespans too."""
    points = []
    for (method, p), values in sorted(
        timings.items(), key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1])
    ):
        point = {"method": method, "workers": p, **summarise(values["time"])}
        if method in FANOUT_METHODS:
            point["makespan_times"] = values["makespan"]
            point["makespan_median"] = statistics.median(values["makespan"])
        points.append(point)
    return points
