"""The exercise, timed the way a student times it: three whole commands, from outside.

    time python weather_plot.py          # the serial loop
    time python weather_plot_pool.py     # multiprocessing.Pool(N)
    time snakemake --cores N             # the fan-out, one job per station

Each command runs from clean outputs on the same stations, as a fresh process whose
wall time is taken by the parent: interpreter start, imports, Snakemake's start-up,
DAG build and exit all count, as they do for the student. The methods take turns
(the order rotates every repeat) so a burst of load on a shared machine hits them
alike. The serial loop and the Pool are :func:`weatherplot.baselines.run_baseline`;
the fan-out is a nested ``snakemake --cores N --until plot_station`` in a scratch
copy of this workflow (:func:`run_fanout`), whose plot jobs' own timing records say
when the first job started and the last one ended, which splits its wall time into
start-up, the fan-out itself and the exit tail.

The record written (:class:`ExerciseRecord`) is read by the timing report.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import hostinfo
from .errors import StationDataError
from .ownedtemp import owned_tempdir
from .records import CommandRun, ExerciseRecord, FanoutRun
from .report.metrics import job_overhead, job_start, job_work
from .scratch import WORKFLOW_ROOT, copy_workflow_code

#: The methods, in the order of the first repeat.
METHODS = ("serial", "pool", "snakemake")
#: What each method's command is, and what its wall time includes.
COMMANDS = {
    "serial": "python: for station in stations: plot(station)",
    "pool": "python: multiprocessing.Pool({cores}).map(plot, stations)",
    "snakemake": "snakemake --cores {cores} --until plot_station",
}
INCLUDES = {
    "serial": "interpreter start, imports once, the loop, exit",
    "pool": "interpreter start, imports once, the Pool's start, the map, exit",
    "snakemake": (
        "Snakemake's start-up and DAG build, every plot job (its process, "
        "hand-over or imports, plotting), Snakemake's handling, exit"
    ),
}


def scratch_workflow(
    dest: Path, stations: Sequence[dict], data_dir: Path, root: Path = WORKFLOW_ROOT
) -> Path:
    """A copy of the workflow at ``root`` in ``dest`` whose config lists ``stations``
    with their files as absolute paths (nothing copied); ``data`` is a symlink to the
    real data folder, for its station catalog. ``root``: the running workflow's, which
    the rules pass (the default, this package's checkout, is for the commands)."""
    import yaml

    copy_workflow_code(dest, root)
    (dest / "data").symlink_to(Path(data_dir).resolve(), target_is_directory=True)
    config = yaml.safe_load((dest / "config" / "config.yaml").read_text())
    config["stations"] = [_scratch_entry(s) for s in stations]
    (dest / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )
    return dest


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children, and of theirs
    (every process of a command is waited for: the plot server reaps its workers,
    Snakemake reaps the server)."""
    return hostinfo.cpu_seconds(children=True)


def _scratch_entry(info: dict) -> dict:
    """A resolved station as a config entry that needs nothing fetched: its file's
    absolute path and, for a station whose name only NOAA's station list knows, the
    list's title fields (read from this run's parsed list, relative to the working
    directory) or at least a name (the title then shows the id, as it does here)."""
    from .stations import TITLE_FIELDS, station_list_entry

    keys = ("id", "format", "units", *TITLE_FIELDS)
    entry = {k: info[k] for k in keys if info.get(k) is not None}
    if info.get("station_list"):
        listed = station_list_entry(info["station_list"], info["id"])
        for key in TITLE_FIELDS:
            if key not in entry and listed.get(key) is not None:
                entry[key] = listed[key]
        entry.setdefault("name", info["id"])
    entry["file"] = str(Path(info["file"]).resolve())
    return entry


class ExerciseError(RuntimeError):
    """A nested snakemake of the exercise failed or did not finish in time."""


def _snakemake(workdir: Path, python: str, args: Sequence[str], timeout: float):
    command = [python, "-m", "snakemake", "--until", "plot_station", "--quiet", *args]
    try:
        done = subprocess.run(
            command, cwd=workdir, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise ExerciseError(
            f"nested snakemake did not finish in {timeout:.0f} s: {' '.join(command)}"
        ) from None
    if done.returncode != 0:
        raise ExerciseError(
            f"nested snakemake failed ({done.returncode}): {' '.join(command)}\n"
            + done.stderr[-3000:]
        )


def dry_run(workdir: Path, python: str, timeout: float = 600) -> float:
    """Wall time of ``snakemake -n``: Snakemake's start-up and DAG build alone."""
    start = time.perf_counter()
    _snakemake(workdir, python, ["-n", "--cores", "1"], timeout)
    return time.perf_counter() - start


def run_fanout(
    workdir: Path,
    cores: int,
    python: str,
    extra: Sequence[str] = (),
    timeout: float = 3600,
) -> FanoutRun:
    """One nested ``snakemake --cores N --until plot_station`` from clean outputs."""
    for folder in ("results", "logs"):
        shutil.rmtree(workdir / folder, ignore_errors=True)
    command_start = time.time()
    cpu = children_cpu()
    start = time.perf_counter()
    _snakemake(workdir, python, ["--cores", str(cores), *extra], timeout)
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu
    records = [
        json.loads(p.read_text())
        for p in sorted((workdir / "results/timings/plots").glob("*.json"))
    ]
    workers: dict[str, int] = {}
    for r in records:
        kind = str(r.get("worker") or "fresh")
        workers[kind] = workers.get(kind, 0) + 1
    return {
        "wall": wall,
        "command_start": command_start,
        "command_end": command_start + wall,
        "first_job_start": min(job_start(r) for r in records),
        "last_job_end": max(float(r["end"]) for r in records),
        "jobs": len(records),
        "work_total": sum(job_work(r) for r in records),
        "overhead_total": sum(job_overhead(r) for r in records),
        "workers": workers,
        "cpu": cpu,
    }


def _baseline_run(mode: str, workers: int, stations: list[dict], log) -> CommandRun:
    from .baselines import run_baseline

    cpu = children_cpu()
    record = run_baseline(mode, workers, stations, 1, log=log)
    return {
        "wall": record["median"],
        "loop_seconds": record["loop_seconds"][0],
        "work_total": sum(record["per_station"].values()),
        "cpu": children_cpu() - cpu,
    }


def require_regular_file(path: str | os.PathLike, hint: str) -> None:
    """Refuse a named pipe, device or socket by its ``stat``, without opening it:
    opening a FIFO waits for a writer, and reading a device may never end."""
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise StationDataError(path, "file not found", hint=hint) from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )
    raise StationDataError(path, f"is {kind}, not a regular file", hint=hint)


def _refuse_special_files(stations: Sequence[dict]) -> None:
    """The exercise reads each station file several times (the page-cache warm-up,
    then every command of every repeat): a named pipe gives its bytes once, and the
    warm-up's read would wait for a writer for ever. Refused before anything opens
    one; the main run's plot jobs, which read a file once, still take a pipe."""
    for file, station in {info["file"]: info["id"] for info in stations}.items():
        try:
            require_regular_file(
                file,
                hint="the exercise reads each file several times: give the "
                "station a regular file (save the pipe's content to one)",
            )
        except StationDataError as error:
            raise ExerciseError(f"station {station}: {error}") from None


def run_exercise(
    stations: Sequence[dict],
    cores: int,
    repeats: int,
    data_dir: Path,
    python: str,
    plot_server: bool = True,
    log: Callable[[str], None] = print,
    root: Path = WORKFLOW_ROOT,
) -> ExerciseRecord:
    """Time the three commands ``repeats`` times each, taking turns."""
    from .freethreading import this_interpreter

    stations = list(stations)
    _refuse_special_files(stations)
    started = time.time()
    load_before = load_average()
    server = f"plot_server={plot_server}"
    runs: dict[str, list] = {m: [] for m in METHODS}
    with owned_tempdir("exercise-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data_dir, root)
        warm_page_cache(stations)
        # Untimed for the comparison: it also warms Snakemake's imports and bytecode.
        dry = dry_run(workdir, python)
        for repeat in range(repeats):
            order = METHODS[repeat % 3 :] + METHODS[: repeat % 3]
            for method in order:
                if method == "snakemake":
                    run = run_fanout(workdir, cores, python, ["--config", server])
                else:
                    workers = 1 if method == "serial" else cores
                    run = _baseline_run(method, workers, stations, log)
                runs[method].append(run)
                log(f"repeat {repeat + 1}/{repeats}: {method} {run['wall']:.2f} s")
    return {
        "kind": "exercise",
        "stations": [s["id"] for s in stations],
        "repeats": repeats,
        "cores": cores,
        "plot_server": plot_server,
        "dry_run_wall": dry,
        "methods": {
            m: {
                "workers": 1 if m == "serial" else cores,
                "command": COMMANDS[m].format(cores=cores),
                "includes": INCLUDES[m],
                "runs": runs[m],
            }
            for m in METHODS
        },
        # Which Python ran it: the rule runs the loop, the Pool and the nested
        # snakemake with its own interpreter (the GIL build's).
        "interpreter": this_interpreter(),
        **run_conditions(started, load_before),
    }


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages, as every timing record gives them."""
    return [round(x, 2) for x in os.getloadavg()]


def run_conditions(started: float, load_before: list[float]) -> dict:
    """The closing fields of a record of whole commands timed from outside: the
    usable CPUs, the load average before and after, and when it ran."""
    from .cpus import usable_cpus

    return {
        "cpus": usable_cpus(),
        "loadavg": {"before": load_before, "after": load_average()},
        "start": started,
        "end": time.time(),
    }


def warm_page_cache(stations: Sequence[dict]) -> None:
    """Read every station file once, untimed, so no command pays the first read."""
    for file in {info["file"] for info in stations}:
        Path(file).read_bytes()


# ---------------------------------------------------------------------------
# The benchmark command: the exercise at any size, with each command's CPU time
# ---------------------------------------------------------------------------


def summary(record: ExerciseRecord, dry_cpu: float) -> dict[str, float]:
    """Medians and ratios of an exercise record whose runs carry ``cpu``: the timing
    report's analysis of it, in a few flat figures."""
    from .report.analysis import analyse_exercise

    methods = analyse_exercise(record, None, record["cpus"]["usable"])["methods"]
    wall = {m: methods[m]["time"] for m in METHODS}
    cpu = {m: methods[m]["cpu"] for m in METHODS}
    jobs = len(record["stations"])
    extra = cpu["snakemake"] - cpu["pool"]
    return {
        **{f"wall_{m}": wall[m] for m in METHODS},
        **{f"cpu_{m}": cpu[m] for m in METHODS},
        "speedup_vs_loop": methods["snakemake"]["speedup"],
        "pool_speedup_vs_loop": methods["pool"]["speedup"],
        "wall_vs_pool": wall["snakemake"] / wall["pool"],
        "extra_cpu": extra,
        "dry_run_cpu": dry_cpu,
        # Snakemake's start-up and DAG build (a dry run's CPU) are paid once; the
        # rest of the extra CPU is paid per job.
        "extra_cpu_per_job": (extra - dry_cpu) / jobs,
    }


def main(argv=None) -> None:
    import argparse

    import yaml

    from .scaling import generate_config
    from .stations import resolve_stations

    parser = argparse.ArgumentParser(
        description="Benchmark: the exercise's three whole commands side by side, "
        "wall and CPU time. Prints figures, asserts nothing."
    )
    parser.add_argument(
        "--stations",
        type=int,
        metavar="N",
        help="N stations generated from the shipped ones (default: the config's)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("config/config.yaml"),
        help="the workflow config whose stations to time (default: %(default)s)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("data"),
        help="folder of the station files (default: %(default)s)",
    )
    parser.add_argument(
        "--cores",
        type=int,
        default=2,
        help="Pool workers and snakemake --cores (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs of each command, alternated (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="also write the record here")
    parser.add_argument(
        "--min-speedup",
        type=float,
        default=1.75,
        help="target: snakemake at least this many times faster than the loop "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-vs-pool",
        type=float,
        default=1.15,
        help="target: snakemake's wall time at most this times the Pool's "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-extra-cpu-ms",
        type=float,
        default=20,
        help="target: snakemake's CPU per job above the Pool's, after its start-up "
        "and DAG build, in ms (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    config = yaml.safe_load(args.config.read_text())
    if args.stations:
        config = generate_config(args.stations, args.data, config)
        for entry in config["stations"]:  # absolute: the scratch copy is elsewhere
            entry["file"] = str(Path(entry["file"]).resolve())
    stations = list(resolve_stations(config).values())
    python = sys.executable
    with owned_tempdir("exercise-dry-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, args.data)
        dry_run(workdir, python)  # warm: imports, bytecode
        cpu = children_cpu()
        dry_run(workdir, python)
        dry_cpu = children_cpu() - cpu
    record = run_exercise(stations, args.cores, args.repeats, args.data, python)
    figures = summary(record, dry_cpu)
    if args.json:
        args.json.write_text(json.dumps({**record, "summary": figures}, indent=2))
    print(_table(record, figures, args))


def _table(record: ExerciseRecord, f: dict[str, float], args) -> str:
    n, cores = len(record["stations"]), record["cores"]
    load = record["loadavg"]
    lines = [
        f"{n} stations, --cores {cores}, {record['repeats']} repeat(s) alternated, "
        f"load {load['before'][0]:.1f} before, {load['after'][0]:.1f} after",
        f"{'command':<52}{'wall':>9}{'CPU':>9}{'loop/it':>9}",
    ]
    for method in METHODS:
        wall, cpu = f[f"wall_{method}"], f[f"cpu_{method}"]
        command = record["methods"][method]["command"]
        lines.append(
            f"{command:<52}{wall:8.2f}s{cpu:8.2f}s{f['wall_serial'] / wall:8.2f}x"
        )

    def verdict(value: float, target: float, at_least: bool, unit: str) -> str:
        ok = value >= target if at_least else value <= target
        sign = ">=" if at_least else "<="
        return f"target {sign} {target:g}{unit}: {'met' if ok else 'NOT met'}"

    per_job_ms = f["extra_cpu_per_job"] * 1000
    speedup, vs_pool = f["speedup_vs_loop"], f["wall_vs_pool"]
    lines += [
        f"snakemake: {speedup:.2f}x the loop "
        f"({verdict(speedup, args.min_speedup, True, 'x')}), "
        f"{vs_pool:.2f}x the Pool's wall time "
        f"({verdict(vs_pool, args.max_vs_pool, False, 'x')})",
        f"extra CPU against the Pool: {f['extra_cpu']:.2f} s, of which Snakemake's "
        f"start-up and DAG build (a dry run) {f['dry_run_cpu']:.2f} s; the rest is "
        f"{per_job_ms:.0f} ms per job "
        f"({verdict(per_job_ms, args.max_extra_cpu_ms, False, ' ms')})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
