"""The exercise's baselines: plot every station in one serial loop (the original
``weather_plot.py``), or with a ``multiprocessing.Pool`` (the lesson's solution).

Each baseline runs as a fresh Python process, timed from outside, so its wall time
counts the interpreter start and the imports once, just as the Snakemake fan-out counts
them once per job: the comparison is like for like.

    python -m weatherplot.baselines serial|pool WORKERS STATIONS.json OUTDIR RESULT.json
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .cpus import usable_cpus
from .importpath import child_env
from .timing import summarise


def _plot_one(args) -> tuple[str, float]:
    info, outdir = args
    from .stations import plot_station

    start = time.perf_counter()
    plot_station(info, Path(outdir) / f"{info['id']}.png")
    return info["id"], time.perf_counter() - start


def plot_all(mode: str, workers: int, stations: list[dict], outdir: str) -> dict:
    """Plot ``stations`` into ``outdir``; per-station seconds (run in the child)."""
    import weatherplot.plotting  # noqa: F401  (imported once, as weather_plot.py does)

    jobs = [(info, outdir) for info in stations]
    start = time.perf_counter()
    if mode == "serial":
        per_station = dict(map(_plot_one, jobs))
    elif mode == "pool":
        import multiprocessing

        # fork: the workers inherit numpy and matplotlib already imported, which is
        # what the lesson's Pool solution gets on Linux.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            per_station = dict(pool.map(_plot_one, jobs, chunksize=1))
    else:
        raise ValueError(f"unknown baseline {mode!r}: use 'serial' or 'pool'")
    return {"per_station": per_station, "loop_seconds": time.perf_counter() - start}


def run_baseline(
    mode: str, workers: int, stations: list[dict], repeats: int = 1, log=print
) -> dict:
    """Time ``repeats`` runs of a baseline, each a fresh ``python -m`` process."""
    times, children = [], []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix=f"baseline-{mode}-") as scratch:
        spec = Path(scratch) / "stations.json"
        spec.write_text(json.dumps(stations))
        for repeat in range(1, repeats + 1):
            log(
                f"{mode} baseline: run {repeat}/{repeats}, {len(stations)} stations, "
                f"{workers} worker(s)"
            )
            result = Path(scratch) / f"result{repeat}.json"
            outdir = Path(scratch) / f"plots{repeat}"
            outdir.mkdir()
            command = [
                sys.executable,
                "-m",
                "weatherplot.baselines",
                mode,
                str(workers),
                str(spec),
                str(outdir),
                str(result),
            ]
            start = time.perf_counter()
            subprocess.run(command, check=True, env=child_env())
            times.append(time.perf_counter() - start)
            children.append(json.loads(result.read_text()))
            log(f"{mode} baseline: run {repeat} took {times[-1]:.2f} s")
    per_station = {
        station: statistics.median(c["per_station"][station] for c in children)
        for station in children[0]["per_station"]
    }
    return {
        "kind": "baseline",
        "name": mode,
        "workers": workers,
        "stations": [info["id"] for info in stations],
        **summarise(times),
        "loop_seconds": [c["loop_seconds"] for c in children],
        "per_station": per_station,
        "includes": "interpreter start and imports, once",
        "start": started,
        "end": time.time(),
        "cpus": usable_cpus(),
    }


def main(argv: list[str]) -> None:
    mode, workers, spec, outdir, result = argv
    stations = json.loads(Path(spec).read_text())
    Path(result).write_text(json.dumps(plot_all(mode, int(workers), stations, outdir)))


if __name__ == "__main__":
    main(sys.argv[1:])
