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
end) is kept as a second column (``makespan_median``); ``measures`` in the JSON says
which is which.

The speedups, Karp-Flatt and the Amdahl fits are the timing report's analysis
(:func:`weatherplot.report.analysis.analyse_scaling`), so the two always agree.

Also here: :func:`generate_config`, a config of N stations pointing at the real files,
for the DAG-build scale test (``python -m weatherplot.scaling generate ...``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .exercise import run_fanout, scratch_workflow
from .records import ScalingStudy
from .report.analysis import analyse_scaling
from .report.charts import chart_scaling
from .scratch import WORKFLOW_ROOT
from .timing import summarise

METHODS = ("serial", "pool", "snakemake", "snakemake_fresh")
#: What each time column of a point is (written into the study's JSON).
MEASURES = {
    "median": "wall time of the whole command, timed from outside (every method)",
    "makespan_median": "fan-outs only: first plot job start to last plot job end",
}
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
    python: str | None = None,
    log: Callable[[str], None] = print,
    root: Path = WORKFLOW_ROOT,
) -> ScalingStudy:
    """Time every (method, workers) point ``repeats`` times, methods interleaved."""
    from .baselines import run_baseline
    from .cpus import usable_cpus

    python = python or sys.executable
    cpus = usable_cpus()
    started = time.time()
    timings: dict[tuple[str, int], dict[str, list]] = {}

    def add(method, p, **values):
        entry = timings.setdefault((method, p), {})
        for key, value in values.items():
            entry.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory(prefix="scaling-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data_dir, root)
        # Warm-up (not counted): page cache, bytecode, Snakemake's conda/env checks.
        run_fanout(workdir, max(workers), python)
        for repeat in range(1, repeats + 1):
            for p in workers:
                if p == 1:
                    t = run_baseline("serial", 1, list(stations), 1, log=log)
                    add("serial", 1, time=t["median"])
                t = run_baseline("pool", p, list(stations), 1, log=log)
                add("pool", p, time=t["median"])
                for method, extra in FANOUT_METHODS.items():
                    fan = run_fanout(workdir, p, python, extra)
                    span = fan["last_job_end"] - fan["first_job_start"]
                    add(method, p, time=fan["wall"], makespan=span)
                    log(
                        f"repeat {repeat}/{repeats}, p={p}: {method} wall "
                        f"{fan['wall']:.2f} s (makespan {span:.2f} s, "
                        f"{fan['jobs']} jobs)"
                    )
    points = _points(timings)
    result = analyse_scaling(points, cpus["usable"])
    return {
        "kind": "scaling",
        "stations": [s["id"] for s in stations],
        "workers": list(workers),
        "repeats": repeats,
        "cpus": cpus,
        "measures": MEASURES,
        "start": started,
        "end": time.time(),
        **result,
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


def chart(study: dict) -> bytes:
    """Speedup against workers per method, the ideal and each Amdahl fit (PNG)."""
    return chart_scaling(study)


# ---------------------------------------------------------------------------
# A config of many stations, for the DAG-build scale test
# ---------------------------------------------------------------------------


def generate_config(n: int, data_dir: str | Path = "data", base: dict | None = None):
    """A config of ``n`` stations (ids X00001, ...) cycling over the real
    ``.dly.gz`` files of ``data_dir`` (paths relative to the workdir)."""
    files = sorted(p.name for p in Path(data_dir).glob("*.dly.gz"))
    if not files:
        raise ValueError(f"no .dly.gz files in {data_dir}")
    width = max(5, len(str(n)))
    config = dict(base or {})
    config["stations"] = [
        {"id": f"X{i:0{width}d}", "file": f"data/{files[(i - 1) % len(files)]}"}
        for i in range(1, n + 1)
    ]
    return config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser(
        "generate", help="write a config of N stations (JSON, which is also YAML)"
    )
    gen.add_argument("n", type=int)
    gen.add_argument("out", type=Path)
    gen.add_argument("--data", type=Path, default=Path("data"))
    gen.add_argument("--base", type=Path, default=Path("config/config.yaml"))
    study = sub.add_parser("study", help="run the study on a config's stations")
    study.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    study.add_argument("--repeats", type=int, default=3)
    study.add_argument("--workers", type=int, help="up to this many (default: CPUs)")
    study.add_argument("--json", type=Path, default=Path("scaling.json"))
    study.add_argument("--png", type=Path)
    args = parser.parse_args(argv)
    if args.command == "study":
        import yaml

        from .cpus import usable_cpus
        from .stations import resolve_stations

        config = yaml.safe_load(args.config.read_text())
        stations = list(resolve_stations(config).values())
        result = run_study(
            stations,
            worker_counts(args.workers or usable_cpus()["usable"]),
            args.repeats,
            data_dir=Path(config.get("data_dir", "data")),
        )
        args.json.write_text(json.dumps(result, indent=2))
        if args.png:
            args.png.write_bytes(chart(result))
        for row in result["points"]:
            print(
                f"{row['method']:10s} p={row['workers']} {row['median']:7.2f} s "
                f"(min {row['min']:.2f}, max {row['max']:.2f})  speedup "
                f"{row['speedup']:.2f}x  Karp-Flatt {row['karp_flatt']}"
            )
    elif args.command == "generate":
        import yaml

        base = yaml.safe_load(args.base.read_text()) if args.base.exists() else {}
        config = generate_config(args.n, args.data, base)
        # JSON, which is YAML too: Snakemake tries json.load first, and PyYAML's
        # pure-Python loader (through yte) takes ~4-5 s for 10,000 entries here.
        args.out.write_text(json.dumps(config, indent=1) + "\n")
        print(f"{args.out}: {args.n} stations")


if __name__ == "__main__":
    main()
