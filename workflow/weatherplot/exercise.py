"""The exercise, timed the way a student times it: whole commands, from outside.

    time python weather_plot.py            # serial: the loop
    time python weather_plot_pool.py       # pool: multiprocessing.Pool(N)
    time snakemake --cores N               # snakemake: one job per station
    time python weather_plot_threads.py    # threads: ThreadPoolExecutor(N)

Each command runs from clean outputs as a fresh process, so interpreter start,
imports and Snakemake's start-up count, as they do for the student; the methods take
turns, the order rotating every repeat, so a burst of load on a shared machine hits
them alike. :func:`run_exercise` is the GIL build's (loop, Pool, fan-out);
:func:`run_builds` the free-threaded build's beside the GIL one (loop, Pool,
threads, and each build's share of a plot inside ``Figure.draw``).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .baselines import run_baseline
from .errors import StationDataError
from .hostinfo import load_average
from .measure import MeasureError, dry_run, run_conditions, run_fanout
from .ownedtemp import owned_tempdir
from .records import ExerciseBuildsRecord, ExerciseRecord
from .scratch import WORKFLOW_ROOT, scratch_workflow

#: The methods of each exercise, in the order of the first repeat.
METHODS = ("serial", "pool", "snakemake")
BUILD_METHODS = ("serial", "pool", "threads")


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


def _warm_page_cache(stations: Sequence[dict]) -> None:
    """Read every station file once, untimed, so no command pays the first read.
    A special file is refused first: a named pipe gives its bytes once, and every
    command reads each file again (the main run's plot jobs still take a pipe)."""
    files = {info["file"]: info["id"] for info in stations}
    for file, station in files.items():
        try:
            require_regular_file(
                file,
                hint="the exercise reads each file several times: give the "
                "station a regular file (save the pipe's content to one)",
            )
        except StationDataError as error:
            raise MeasureError(f"station {station}: {error}") from None
    for file in files:
        Path(file).read_bytes()


def _rotated(items: Sequence, repeat: int) -> list:
    k = repeat % len(items)
    return [*items[k:], *items[:k]]


def _take_turns(
    repeats: int,
    builds: Sequence[str],
    methods: Sequence[str],
    run: Callable[[str, str], dict],
    log: Callable[[str], None],
) -> dict[str, dict[str, list]]:
    """``run(build, method)`` ``repeats`` times each, the order of builds and of
    methods rotating every repeat; the runs by build and method."""
    runs = {b: {m: [] for m in methods} for b in builds}
    for repeat in range(repeats):
        for build in _rotated(builds, repeat):
            for method in _rotated(methods, repeat):
                one = run(build, method)
                runs[build][method].append(one)
                which = f"{build} {method}" if len(builds) > 1 else method
                log(f"repeat {repeat + 1}/{repeats}: {which} {one['wall']:.2f} s")
    return runs


def _command_run(run: dict) -> dict:
    """A baseline run as the record keeps it (``records.CommandRun``)."""
    keys = ("wall", "loop_seconds", "work_total", "cpu")
    return {k: run[k] for k in keys}


def run_exercise(
    stations: Sequence[dict],
    cores: int,
    repeats: int,
    data_dir: Path,
    plot_server: bool = True,
    log: Callable[[str], None] = print,
    root: Path = WORKFLOW_ROOT,
    start_method: str = "default",
) -> ExerciseRecord:
    """Time the loop, the Pool and the fan-out ``repeats`` times each, taking turns,
    with this interpreter (the GIL build's: the nested snakemake needs Snakemake)."""
    from .freethreading import this_interpreter

    started = time.time()
    load_before = load_average()
    pool_method = []  # which start method the Pool's interpreter resolved

    def run(build: str, method: str) -> dict:
        if method == "snakemake":
            server = f"plot_server={plot_server}"
            return run_fanout(workdir, cores, ["--config", server])
        workers = 1 if method == "serial" else cores
        one = run_baseline(
            method, workers, stations, log=log, start_method=start_method
        )
        if method == "pool":
            pool_method.append(one["start_method"])
        return _command_run(one)

    with owned_tempdir("exercise-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data_dir, root)
        _warm_page_cache(stations)
        # Untimed for the comparison: it also warms Snakemake's imports and bytecode.
        dry = dry_run(workdir)["wall"]
        runs = _take_turns(repeats, ["gil"], METHODS, run, log)["gil"]
    return {
        "kind": "exercise",
        "stations": [s["id"] for s in stations],
        "repeats": repeats,
        "cores": cores,
        "plot_server": plot_server,
        "start_method": pool_method[-1],
        "dry_run_wall": dry,
        "methods": {
            m: {"workers": 1 if m == "serial" else cores, "runs": runs[m]}
            for m in METHODS
        },
        "interpreter": this_interpreter(),  # ran the loop, the Pool and snakemake
        **run_conditions(started, load_before),
    }


def draw_share(stations: list, python: str, log=print) -> dict:
    """Figure.draw's seconds against each station's whole plot (read, plot, save),
    from one serial loop."""
    record = run_baseline("draw", 1, stations, log=log, python=python)
    plot = sum(record["per_station"].values())
    draw = sum(record["draw_seconds"].values())
    return {
        "plot_seconds": plot,
        "draw_seconds": draw,
        "share": draw / plot if plot > 0 else None,
        "per_station": {
            s: {"plot": record["per_station"][s], "draw": record["draw_seconds"][s]}
            for s in record["per_station"]
        },
    }


def run_builds(
    stations: Sequence[dict],
    workers: int,
    repeats: int,
    builds: Mapping[str, str],
    log: Callable[[str], None] = print,
    start_method: str = "default",
) -> ExerciseBuildsRecord:
    """Time the loop, the Pool and the threads on every build ``repeats`` times
    each, taking turns. ``builds`` maps a build's name ("gil", "free-threaded") to
    its Python command."""
    names = list(builds)
    started = time.time()
    load_before = load_average()
    _warm_page_cache(stations)
    # Untimed: also warms each build's imports and bytecode.
    shares = {build: draw_share(stations, builds[build], log) for build in names}

    def run(build: str, method: str) -> dict:
        n = 1 if method == "serial" else workers
        return run_baseline(method, n, stations, log, builds[build], start_method)

    runs = _take_turns(repeats, names, BUILD_METHODS, run, log)
    out = {}
    for build in names:
        serial_png = runs[build]["serial"][-1]["digests"]
        out[build] = {
            "interpreter": runs[build]["threads"][-1]["interpreter"],
            "start_method": runs[build]["pool"][-1]["start_method"],
            "draw": shares[build],
            "threads_png_identical": all(
                r["digests"] == serial_png for r in runs[build]["threads"]
            ),
            "methods": {
                m: {
                    "workers": 1 if m == "serial" else workers,
                    "runs": [_command_run(r) for r in runs[build][m]],
                }
                for m in BUILD_METHODS
            },
        }
    first = names[0]
    return {
        "kind": "exercise_builds",
        "stations": [s["id"] for s in stations],
        "repeats": repeats,
        "workers": workers,
        "builds": out,
        # Do the builds draw the same pixels? (Their Matplotlib versions may differ.)
        "png_identical_across_builds": all(
            runs[b]["serial"][-1]["digests"] == runs[first]["serial"][-1]["digests"]
            for b in names
        ),
        **run_conditions(started, load_before),
    }
