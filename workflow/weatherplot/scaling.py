"""The scaling study: plotting time against the number of workers p, three ways.

For p = 1 .. max(usable CPUs, --cores): the serial loop (p = 1 only),
``multiprocessing.Pool(p)``, and a nested ``snakemake --cores p --until
plot_station`` with its jobs forked from the warm plot server (``snakemake``) and
in fresh processes (``snakemake_fresh``), to show what the imports cost every job.
Methods take turns within a repeat; each time is a whole command's wall time, the
fan-outs' plot-job makespan a second column. The speedups and fits are the report's
analysis (``report.analysis.analyse_scaling``).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
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
    the study's record but for the report's analysis."""
    from .cpus import usable_cpus

    cpus = usable_cpus()
    started = time.time()
    # By (method, workers): wall times, and the fan-outs' plot-job makespans.
    times, spans = defaultdict(list), defaultdict(list)

    with owned_tempdir("scaling-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data_dir, root)
        # Warm-up (not counted): page cache, bytecode, Snakemake's conda/env checks.
        run_fanout(workdir, max(workers))
        for repeat in range(1, repeats + 1):
            for p in workers:
                if p == 1:
                    t = run_baseline("serial", 1, stations, log=log)
                    times["serial", 1].append(t["wall"])
                t = run_baseline(
                    "pool", p, stations, log=log, start_method=start_method
                )
                times["pool", p].append(t["wall"])
                for method, extra in FANOUT_METHODS.items():
                    fan = run_fanout(workdir, p, extra)
                    span = fan["last_job_end"] - fan["first_job_start"]
                    times[method, p].append(fan["wall"])
                    spans[method, p].append(span)
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
        "points": _points(times, spans),
    }


def _points(times: dict, spans: dict) -> list[dict]:
    """One point per (method, workers), in METHODS' order."""
    points = []
    for method, p in sorted(times, key=lambda key: (METHODS.index(key[0]), key[1])):
        point = {"method": method, "workers": p, **summarise(times[method, p])}
        if (method, p) in spans:
            point["makespan_times"] = spans[method, p]
            point["makespan_median"] = statistics.median(spans[method, p])
        points.append(point)
    return points
