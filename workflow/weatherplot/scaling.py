"""The scaling study: plotting time against the number of workers, three ways.

For p = 1 .. max(usable CPUs, --cores) it times plotting the configured stations with

- the serial loop (one process, p = 1 only: it has no workers to add),
- ``multiprocessing.Pool(p)`` (:func:`weatherplot.baselines.run_baseline`),
- the Snakemake fan-out itself: a nested ``snakemake --cores p --until plot_station``
  in a scratch copy of the workflow, with its jobs forked from the warm plot server
  (``snakemake``, the default) and in fresh processes (``snakemake_fresh``,
  ``plot_server: false``), to show what the imports cost every job.

Each point is repeated; the methods take turns within a repeat, so a burst of load on
this shared machine hits them alike. Serial and Pool times are the wall time of a fresh
``python`` process (interpreter start and imports once). The fan-out's time is its
*makespan* from the plot jobs' own timing records: first job process start to last job
end, so it counts every job's interpreter start, imports and
Snakemake's scheduling between jobs, but not Snakemake's own start-up and DAG build,
which the wall time of the nested run (recorded too, as ``wall_times``) adds.

The speedups, the Karp-Flatt metric per point and the Amdahl fit use the report's
arithmetic (:mod:`weatherplot.report`), so the study and the timing report agree.

Also here: :func:`generate_config`, a config of N stations pointing at the real files,
for the DAG-build scale test (``python -m weatherplot.scaling generate ...``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .report import (
    amdahl_limit,
    amdahl_speedup,
    effective_workers,
    efficiency,
    fit_serial_fraction,
    job_start,
    karp_flatt,
    scaling_label,
    speedup,
)
from .scratch import copy_workflow_code
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


def analyse(points: Sequence[dict], cpus: int | None) -> dict:
    """Speedup against the serial loop, efficiency and Karp-Flatt per point; an
    Amdahl fit (serial fraction f and the 1/f limit) per method. Also each method
    against its own one-worker time (``self_*``): a fan-out whose jobs each cost more
    than the loop's iterations has f > 1 against the loop yet may scale well.

    ``p`` in Karp-Flatt and the fit is the number of workers that can run at once,
    ``min(workers, usable CPUs)``: 4 workers on 2 CPUs are 2.
    """
    serial = [
        p["median"] for p in points if p["method"] == "serial" and p["workers"] == 1
    ]
    reference = serial[0] if serial else None
    rows, fits = [], {}
    for method in dict.fromkeys(p["method"] for p in points):
        pts = sorted(
            (p for p in points if p["method"] == method), key=lambda p: p["workers"]
        )
        own = [p["median"] for p in pts if p["workers"] == 1]
        ref = reference if reference is not None else (own[0] if own else None)
        method_rows = []
        for pt in pts:
            s = speedup(ref, pt["median"])
            own_s = speedup(own[0], pt["median"]) if own else None
            p_eff = effective_workers(pt["workers"], cpus)
            method_rows.append(
                {
                    **pt,
                    "effective_workers": p_eff,
                    "speedup": s,
                    "efficiency": efficiency(s, p_eff),
                    "karp_flatt": karp_flatt(s, p_eff),
                    # Against the method's own one-worker time: how it scales,
                    # apart from what each of its jobs costs more than the loop.
                    "self_speedup": own_s,
                    "self_karp_flatt": karp_flatt(own_s, p_eff),
                }
            )
        f = fit_serial_fraction(
            (r["effective_workers"], r["speedup"]) for r in method_rows
        )
        own_f = fit_serial_fraction(
            (r["effective_workers"], r["self_speedup"]) for r in method_rows
        )
        fits[method] = {
            "serial_fraction": f,
            "amdahl_limit": amdahl_limit(f),
            "self_serial_fraction": own_f,
        }
        rows += method_rows
    return {"reference_serial_time": reference, "points": rows, "fits": fits}


def makespan(records: Sequence[dict]) -> float | None:
    """First job process start (or script start) to last job end."""
    if not records:
        return None
    return max(r["end"] for r in records) - min(job_start(r) for r in records)


# ---------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------


def scratch_workflow(dest: Path, stations: Sequence[dict], data_dir: Path) -> Path:
    """A copy of the workflow in ``dest`` whose config lists ``stations`` with their
    files as absolute paths (nothing copied); ``data`` is a symlink to the real data
    folder, for its station catalog."""
    import yaml

    copy_workflow_code(dest)
    (dest / "data").symlink_to(Path(data_dir).resolve(), target_is_directory=True)
    config = yaml.safe_load((dest / "config" / "config.yaml").read_text())
    config["stations"] = [
        {
            **{k: s[k] for k in ("id", "name", "format", "units") if s.get(k)},
            "file": str(Path(s["file"]).resolve()),
        }
        for s in stations
    ]
    text = yaml.safe_dump(config, sort_keys=False)
    (dest / "config" / "config.yaml").write_text(text)
    return dest


def run_fanout(
    workdir: Path, cores: int, python: str, extra: Sequence[str] = ()
) -> dict:
    """One nested ``snakemake --cores N --until plot_station`` from clean outputs."""
    for folder in ("results", "logs", "benchmarks"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    command = [
        python,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        "--until",
        "plot_station",
        "--quiet",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"nested snakemake failed ({done.returncode}): {' '.join(command)}\n"
            + done.stderr[-3000:]
        )
    records = [
        json.loads(p.read_text())
        for p in sorted((workdir / "results/timings/plots").glob("*.json"))
    ]
    return {"wall": wall, "makespan": makespan(records), "jobs": len(records)}


def run_study(
    stations: Sequence[dict],
    workers: Sequence[int],
    repeats: int,
    data_dir: Path,
    python: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
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
        workdir = scratch_workflow(Path(scratch), stations, data_dir)
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
                    add(method, p, time=fan["makespan"], wall=fan["wall"])
                    log(
                        f"repeat {repeat}/{repeats}, p={p}: {method} makespan "
                        f"{fan['makespan']:.2f} s (wall {fan['wall']:.2f} s, "
                        f"{fan['jobs']} jobs)"
                    )
    points = []
    for (method, p), values in sorted(
        timings.items(), key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1])
    ):
        point = {"method": method, "workers": p, **summarise(values["time"])}
        if method in FANOUT_METHODS:
            point["measure"] = "makespan from the plot jobs' timing records"
            point["wall_times"] = values["wall"]
            point["wall_median"] = statistics.median(values["wall"])
        else:
            point["measure"] = "wall time of a fresh python process"
        points.append(point)
    result = analyse(points, cpus["usable"])
    return {
        "kind": "scaling",
        "stations": [s["id"] for s in stations],
        "workers": list(workers),
        "repeats": repeats,
        "cpus": cpus,
        "start": started,
        "end": time.time(),
        **result,
    }


# ---------------------------------------------------------------------------
# Chart
# ---------------------------------------------------------------------------


def chart(study: dict) -> bytes:
    """Speedup against workers per method, the ideal and each Amdahl fit (PNG)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cpus = (study.get("cpus") or {}).get("usable")
    fig = Figure(figsize=(7.5, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max([p["workers"] for p in study["points"]] + [cpus or 1])
    ps = list(range(1, top + 1))
    ax.plot(ps, ps, "k--", lw=1, label="ideal (p)")
    if cpus:
        ax.plot(ps, [min(p, cpus) for p in ps], "k:", lw=1, label=f"{cpus} usable CPUs")
    colors = {
        "serial": "0.3",
        "pool": "tab:blue",
        "snakemake": "tab:orange",
        "snakemake_fresh": "tab:red",
    }
    markers = {"serial": "s", "pool": "^", "snakemake": "o", "snakemake_fresh": "v"}
    for method, fit in study["fits"].items():
        rows = [
            r
            for r in study["points"]
            if r["method"] == method and r["speedup"] is not None
        ]
        ref = study["reference_serial_time"]
        for r in rows:
            if ref:  # the spread of the repeats, as a speedup range
                ax.plot(
                    [r["workers"]] * 2,
                    [ref / r["max"], ref / r["min"]],
                    color=colors.get(method),
                    lw=3,
                    alpha=0.35,
                )
        f = fit["serial_fraction"]
        label = scaling_label(method)
        if f is not None:
            label += f" (Amdahl f = {f:.2f})"
            if 0 <= f < 1:
                ax.plot(
                    ps,
                    [amdahl_speedup(f, effective_workers(p, cpus)) for p in ps],
                    color=colors.get(method),
                    lw=1,
                    alpha=0.5,
                )
        ax.plot(
            [r["workers"] for r in rows],
            [r["speedup"] for r in rows],
            markers.get(method, "o"),
            color=colors.get(method),
            ms=8,
            label=label,
        )
    ax.set_xlabel("workers (Pool processes, snakemake --cores)")
    ax.set_ylabel("speedup over the serial loop")
    ax.set_xticks(ps)
    ax.set_ylim(0, top + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(
        f"Plotting {len(study['stations'])} stations: median of "
        f"{study['repeats']} repeat(s), bars = min-max",
        fontsize=10,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": "weatherplot"})
    return buffer.getvalue()


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
