"""The line a long timing job prints to the terminal when it starts: what it does and
roughly how long it waits (the details go to its log). Figures are rough, from the
development machine: a plot ~0.7 s, ``np.random.rand`` ~0.5 s per 10**8 numbers."""

from __future__ import annotations

import os
from pathlib import Path

SECONDS_PER_PLOT = 0.7
SECONDS_PER_RAND = 0.5e-8  # per number drawn
SECONDS_PER_STEP = 0.5e-7  # per step of the pure-Python demo's loop


def _about(seconds: float) -> str:
    return f"about {seconds:.0f} s" if seconds >= 1 else "under a second"


def demo_line(name: str, demos: dict, log: str) -> str:
    """One line for demo ``name`` with the config's ``demos`` section."""
    workers = int(demos["workers"])
    t = float(demos["sleep_seconds"])
    sleep_repeats = int(demos.get("sleep_repeats", 1))
    if name == "sleep":
        wait = sleep_repeats * (workers * t + 2 * t)
        what = (
            f"do_nothing({t:g}) {workers} times in a loop, in {workers} threads and in "
            f"{workers} processes, {sleep_repeats} time(s): {_about(wait)} of sleeping"
        )
    elif name == "numpy":
        n, repeats = int(demos["array_size"]), int(demos["repeats"])
        calls = 1 + repeats * (2 + 4 * workers)  # warm-up, then six variants
        what = (
            f"np.random.rand({n}) ({n * 8 / 1e6:.0f} MB) {calls} times: once, in a "
            f"loop, in {workers} threads, in {workers} processes, {repeats} repeats: "
            f"{_about(calls * n * SECONDS_PER_RAND)}, depending on the CPUs"
        )
    elif name == "pool":
        inputs = list(demos.get("pool_inputs", (2, 1, 9)))
        what = (
            f"Pool({workers}).map(func, {inputs}), each func(a) sleeping {t:g} s, "
            f"{sleep_repeats} time(s): {_about(sleep_repeats * t)} plus process starts"
        )
    elif name == "pure_python":
        n, repeats = int(demos["pure_python_n"]), int(demos["repeats"])
        calls = repeats * (1 + 3 * workers)
        what = (
            f"count_up({n}) in pure Python {calls} times: once, in a loop, in "
            f"{workers} threads, in {workers} processes, {repeats} repeats: "
            f"{_about(calls * n * SECONDS_PER_STEP)}, depending on the CPUs"
        )
    elif name == "contended":
        steps = int(demos["contended_threads"]) * int(demos["contended_increments"])
        what = (
            f"{steps:,} increments of a shared counter by "
            f"{demos['contended_threads']} threads at once, without and with a lock"
        )
    else:
        what = "threads and processes updating a shared list: a few seconds"
    return f"{name} demo: {what} (progress: {log})"


def exercise_line(stations: int, cores: int, repeats: int, log: str) -> str:
    """One line for the exercise: three whole commands over ``stations`` stations,
    ``repeats`` times each (the Pool and the fan-out gain up to one station at a
    time per usable CPU; Snakemake's own start-up and exit add a few seconds)."""
    parallel = max(1, min(cores, len(os.sched_getaffinity(0))))
    one_round = stations * SECONDS_PER_PLOT * (1 + 2 / parallel) + 5
    return (
        f"exercise: timing the serial loop, multiprocessing.Pool({cores}) and "
        f"snakemake --cores {cores} on {stations} station(s), {repeats} time(s) each: "
        f"{_about(repeats * one_round)} (progress: {log})"
    )


def missing_plots_note(stations, plots_dir="results/plots", shown: int = 10):
    """After a failed run: which stations have no plot, and why there is then no
    timing report (None when every station has its plot)."""
    missing = [s for s in stations if not Path(plots_dir, f"{s}.png").exists()]
    if not missing:
        return None
    names = ", ".join(missing[:shown])
    if len(missing) > shown:
        names += f" and {len(missing) - shown} more"
    return (
        f"No plot for {len(missing)} of {len(stations)} station(s): {names} (why: "
        "logs/plot_station/<id>.log, or the job never ran). The timing report is "
        "made only when every station is plotted, since it compares the serial "
        "loop, the Pool and the fan-out over the same stations: fix or remove those "
        "stations in config/config.yaml and run again; only what is missing runs."
    )
