"""The exercise's baselines, each a fresh ``python -m weatherplot baseline`` process
timed as a whole command, so interpreter start and imports count once, as they do
once per job in the Snakemake fan-out: ``serial`` (the original ``weather_plot.py``
loop), ``pool`` (``multiprocessing.Pool``, the lesson's solution), ``threads`` (a
``ThreadPoolExecutor``, for the free-threaded build) and ``draw`` (the loop with
``Figure.draw`` timed: the share of a plot inside the lock all figures share). Any
interpreter with NumPy, Matplotlib and pandas runs them (the free-threaded one has
no Snakemake).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import signal
import statistics
import sys
import time
import types
from pathlib import Path

from .importpath import child_env
from .measure import MeasureError, run_command
from .ownedtemp import owned_tempdir
from .records import job_work

# A station plots in about a second. One that has not finished after this long is
# taken as hung (in the serial loop), and so is a Pool in which no station finished
# for this long: the baseline fails naming what is unfinished instead of waiting.
STALL_SECONDS = 300
# How often the Pool's parent looks for workers that died (killed, out of memory).
POLL_SECONDS = 0.5
# The parent's backstop for a child that cannot bound its own waits (say, stopped
# with SIGSTOP): a multiple of the work measured for its stations (the plot jobs'
# records), within a floor and a cap. Not every station at the stall limit, which
# at 10,000 stations and 2 workers is 17 days.
BACKSTOP_STARTUP = 60  # s: the interpreter's start and the imports, once
BACKSTOP_FACTOR = 10  # a shared, noisy machine; a Pool's start; a slow disk
BACKSTOP_FLOOR = 600  # s: a few stations on a machine busy with something else
BACKSTOP_CAP = 24 * 3600  # s: whatever the records say (a record may be wrong)
PLOT_RECORDS = Path("results/timings/plots")  # {station}.json, of the main run


def _plot_one(args) -> tuple[str, float]:
    info, outdir = args
    # Which station this process is plotting, so the parent can name it if the
    # process dies (a Pool's result for a killed worker never arrives).
    # Written whole, then renamed: a worker killed mid-write leaves no empty marker.
    marker = Path(outdir, f".worker-{os.getpid()}")
    marker.with_name(f".writing{marker.name}").write_text(info["id"])
    marker.with_name(f".writing{marker.name}").replace(marker)
    return _plot(args)


def _plot(args) -> tuple[str, float]:
    """Plot one station into ``outdir``; its id and seconds (no per-process marker:
    the threads share one process)."""
    info, outdir = args
    from .stations import plot_station

    start = time.perf_counter()
    try:
        plot_station(info, Path(outdir) / f"{info['id']}.png")
    except Exception as error:
        # Only text crosses back to the Pool's parent: any exception becomes one that
        # surely pickles, naming the station.
        what = (
            ""
            if error.__class__.__module__.startswith("weatherplot")
            else (f"{type(error).__name__}: ")
        )
        raise MeasureError(f"station {info['id']}: {what}{error}") from None
    return info["id"], time.perf_counter() - start


def _serial(jobs: list, stall_seconds: float) -> dict[str, float]:
    def hung(signum, frame):
        raise TimeoutError(f"not finished after {stall_seconds:g} s")

    previous = signal.signal(signal.SIGALRM, hung)
    try:
        per_station = {}
        for job in jobs:
            signal.setitimer(signal.ITIMER_REAL, stall_seconds)
            station, seconds = _plot_one(job)
            per_station[station] = seconds
        return per_station
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _import_plotting() -> None:
    """A Pool worker's start: under ``spawn`` or ``forkserver`` it imports NumPy and
    Matplotlib itself (as a macOS student's Pool does), not in a station's time."""
    import weatherplot.plotting  # noqa: F401


def _pool(
    workers: int, jobs: list, outdir: str, stall_seconds: float, method: str
) -> dict:
    """``Pool.map`` as the lesson writes it, but every wait bounded: a failed
    station, a dead worker or a stalled Pool stops it."""
    import multiprocessing

    pool = multiprocessing.get_context(method).Pool(workers, _import_plotting)
    try:
        results = pool.imap_unordered(_plot_one, jobs, chunksize=1)
        workers_seen = {p.pid: p for p in multiprocessing.active_children()}
        per_station: dict[str, float] = {}
        last_progress = time.monotonic()
        while len(per_station) < len(jobs):
            try:
                station, seconds = results.next(timeout=POLL_SECONDS)
            except multiprocessing.TimeoutError:
                alive = {p.pid: p for p in multiprocessing.active_children()}
                _check_workers(workers_seen, alive, outdir)
                workers_seen.update(alive)
                if time.monotonic() - last_progress > stall_seconds:
                    unfinished = [
                        j[0]["id"] for j in jobs if j[0]["id"] not in per_station
                    ]
                    raise MeasureError(
                        f"no station finished for {stall_seconds:g} s; unfinished: "
                        f"{_some(unfinished)}"
                    ) from None
                continue
            per_station[station] = seconds
            last_progress = time.monotonic()
        pool.close()
        return per_station
    finally:
        pool.terminate()  # SIGTERM to the workers; returns once they are gone


def _threads(workers: int, jobs: list, stall_seconds: float) -> dict[str, float]:
    """``ThreadPoolExecutor(workers).map``; a failed or stalled station stops it."""
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(workers, thread_name_prefix="plot")
    try:
        pending = {pool.submit(_plot, job) for job in jobs}
        per_station: dict[str, float] = {}
        while pending:
            done, pending = wait(pending, stall_seconds, return_when=FIRST_EXCEPTION)
            if not done:
                raise MeasureError(
                    f"no station finished for {stall_seconds:g} s in "
                    f"{len(pending)} unfinished thread(s)"
                )
            for future in done:
                station, seconds = future.result()  # a failed station raises here
                per_station[station] = seconds
        return per_station
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def draw_timer():
    """Time ``Figure.draw`` while patched (the yielded ``seconds``): the part of a
    plot that ``Figure._render_lock`` lets only one figure do at a time."""
    from matplotlib.figure import Figure

    original = Figure.draw
    timer = types.SimpleNamespace(seconds=0.0)

    @functools.wraps(original)
    def timed_draw(figure, renderer):
        start = time.perf_counter()
        try:
            return original(figure, renderer)
        finally:
            timer.seconds += time.perf_counter() - start

    Figure.draw = timed_draw
    try:
        yield timer
    finally:
        Figure.draw = original


def _draw(jobs: list, stall_seconds: float) -> tuple[dict, dict]:
    """The serial loop, each station's plot and its ``Figure.draw`` time."""
    per_station, draw = {}, {}
    for job in jobs:
        with draw_timer() as timer:
            station, seconds = _serial([job], stall_seconds).popitem()
        per_station[station], draw[station] = seconds, timer.seconds
    return per_station, draw


def _digests(outdir: str | os.PathLike) -> dict[str, str]:
    """sha256 of every PNG written, by station (the parent compares methods)."""
    return {
        png.stem: hashlib.sha256(png.read_bytes()).hexdigest()
        for png in sorted(Path(outdir).glob("*.png"))
    }


def _check_workers(seen: dict, alive: dict, outdir: str) -> None:
    for pid, process in seen.items():
        if pid in alive:
            continue
        code = process.exitcode
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exited with status {code}"
        )
        marker = Path(outdir, f".worker-{pid}")
        doing = (
            f"while plotting station {marker.read_text()}"
            if marker.exists()
            else ("before it took a station")
        )
        raise MeasureError(
            f"a Pool worker (pid {pid}) {how} {doing}; its result is lost -> "
            "look for an out-of-memory kill (dmesg) or who sent the signal, and run "
            "again"
        )


def _some(names: list[str], shown: int = 10) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def plot_all(
    mode: str,
    workers: int,
    stations: list[dict],
    outdir: str,
    stall_seconds: float = STALL_SECONDS,
    start_method: str = "default",
) -> dict:
    """Plot ``stations`` into ``outdir`` (in the child); per-station seconds. Raises
    :class:`MeasureError` at the first station that fails, naming it."""
    import weatherplot.plotting  # noqa: F401  (imported once, as weather_plot.py does)

    from .startmethod import resolve

    method = resolve(start_method)  # "default": this interpreter's own

    jobs = [(info, outdir) for info in stations]
    extra = {}
    start = time.perf_counter()
    if mode == "serial":
        per_station = _serial(jobs, stall_seconds)
    elif mode == "pool":
        per_station = _pool(workers, jobs, outdir, stall_seconds, method)
    elif mode == "threads":
        per_station = _threads(workers, jobs, stall_seconds)
    else:  # draw (main checked the mode)
        per_station, extra["draw_seconds"] = _draw(jobs, stall_seconds)
    loop_seconds = time.perf_counter() - start
    from .freethreading import this_interpreter

    return {
        "per_station": per_station,
        "loop_seconds": loop_seconds,
        "digests": _digests(outdir),
        "interpreter": this_interpreter(),  # the GIL's state after the plots
        "start_method": method,
        **extra,
    }


def backstop_seconds(stations: int, workers: int, measured: list[float]) -> float:
    """How long the parent waits for a baseline child, from the seconds measured
    for some of its stations (the others count as their median)."""
    workers = max(workers, 1)
    if measured:
        typical = statistics.median(measured)
        work = sum(measured) + max(stations - len(measured), 0) * typical
        seconds = BACKSTOP_STARTUP + BACKSTOP_FACTOR * max(work / workers, *measured)
    else:  # nothing measured: every station at the stall limit, as before
        seconds = BACKSTOP_STARTUP + STALL_SECONDS * -(-stations // workers)
    return float(min(max(seconds, BACKSTOP_FLOOR), BACKSTOP_CAP))


def recorded_work(stations: list[dict], records: Path = PLOT_RECORDS) -> dict:
    """Each station's plotting work (seconds) from its plot job's record, for those
    with a readable one."""
    measured = {}
    for info in stations:
        try:
            record = json.loads((Path(records) / f"{info['id']}.json").read_text())
            measured[info["id"]] = job_work(record)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # optional: the backstop then assumes the stall limit
    return measured


def run_baseline(
    mode: str,
    workers: int,
    stations: list[dict],
    log=print,
    python: str | None = None,
    start_method: str = "default",
) -> dict:
    """One run of a baseline in a fresh process of ``python`` (default: this one),
    timed as a whole command, with the child's own figures. The child bounds its own
    waits; the plot jobs' records bound the parent's wait for one that cannot."""
    measured = list(recorded_work(stations).values())
    backstop = backstop_seconds(len(stations), workers, measured)
    with owned_tempdir(f"baseline-{mode}-") as scratch:
        spec, result = Path(scratch, "stations.json"), Path(scratch, "result.json")
        spec.write_text(json.dumps(stations))
        outdir = Path(scratch, "plots")
        outdir.mkdir()
        log(f"{mode} baseline: run 1/1, {len(stations)} stations, {workers} worker(s)")
        command = [python or sys.executable, "-m", "weatherplot", "baseline", mode]
        command += [str(workers), str(spec), str(outdir), str(result), start_method]
        timed = run_command(command, f"{mode} baseline", backstop, env=child_env())
        child = json.loads(result.read_text())
    log(f"{mode} baseline: run 1 took {timed['wall']:.2f} s")
    return {**timed, **child, "work_total": sum(child["per_station"].values())}


MODES = ("serial", "pool", "threads", "draw")


def main(argv: list[str]) -> None:
    """The baseline child: run by the exercise and the scaling study."""
    if len(argv) not in (5, 6) or argv[0] not in MODES or not argv[1].isdigit():
        usage = f"{'|'.join(MODES)} WORKERS STATIONS.json OUTDIR RESULT.json"
        print(
            f"usage: python -m weatherplot baseline {usage} [START_METHOD]",
            file=sys.stderr,
        )
        sys.exit(2)
    mode, workers, spec, outdir, result, *method = argv
    stations = json.loads(Path(spec).read_text())
    try:
        timings = plot_all(mode, int(workers), stations, outdir, STALL_SECONDS, *method)
    except MeasureError as error:
        # One line, the last on stderr: the parent hands it on to the job's log.
        print(f"ERROR: {mode} baseline: {error}", file=sys.stderr, flush=True)
        if mode == "threads":
            # A stalled plot thread cannot be stopped, and would hold up a normal exit.
            os._exit(1)
        # A normal exit: multiprocessing's exit handler releases the Pool's named
        # semaphores (forkserver, spawn); os._exit left them to the resource tracker,
        # whose "leaked semaphore objects" warning then ended stderr.
        sys.exit(1)
    Path(result).write_text(json.dumps(timings))
