"""What a long timing job says on the terminal when it starts (what it does, roughly
how long it waits; the details go to its log), and what a failed run says after it.
The rough figures are the development machine's."""

from __future__ import annotations

import os
from pathlib import Path

from . import hostinfo

SECONDS_PER_PLOT = 0.7
SECONDS_PER_RAND = 0.5e-8  # per number drawn
SECONDS_PER_STEP = 0.5e-7  # per step of the pure-Python demo's loop


def about(seconds: float) -> str:
    return f"about {seconds:.0f} s" if seconds >= 1 else "under a second"


def demo_line(name: str, what: str, log: str) -> str:
    """``what``: the demo's own announce() (its registry entry names it)."""
    return f"{name} demo: {what} (progress: {log})"


def exercise_line(
    stations: int, cores: int, repeats: int, log: str, both_builds: bool = False
) -> str:
    """The estimate: the Pool and the fan-out gain up to one station at a time per
    usable CPU; Snakemake's start-up and exit add a few seconds. On both builds none."""
    if both_builds:
        return (
            f"exercise on both builds: the serial loop, a Pool and {cores} threads on "
            f"{stations} station(s), with and without the GIL, {repeats} time(s) each "
            f"(progress: {log})"
        )
    parallel = max(1, min(cores, hostinfo.cpu_affinity()))
    one_round = stations * SECONDS_PER_PLOT * (1 + 2 / parallel) + 5
    return (
        f"exercise: timing the serial loop, multiprocessing.Pool({cores}) and "
        f"snakemake --cores {cores} on {stations} station(s), {repeats} time(s) each: "
        f"{about(repeats * one_round)} (progress: {log})"
    )


def missing_plots_note(
    stations,
    plots_dir="results/plots",
    shown: int = 10,
    logs_dir="logs",
    config_files=("config/config.yaml",),
):
    """After a failed run: which stations have no plot, where to read why, and why
    there is then no timing report (None when every station has its plot).
    ``config_files``: the run's own (``--configfile``), where the stations are."""
    missing = [s for s in stations if not Path(plots_dir, f"{s}.png").exists()]
    if not missing:
        return None
    names = ", ".join(f"{s} (why: {_why(s, logs_dir)})" for s in missing[:shown])
    if len(missing) > shown:
        names += (
            f" and {len(missing) - shown} more (logs/plot_station/, logs/download/)"
        )
    return (
        f"No plot for {len(missing)} of {len(stations)} station(s): {names}. The "
        "timing report is made only when every station is plotted, since it compares "
        "the serial loop, the Pool and the fan-out over the same stations: fix or "
        f"remove those stations in {' or '.join(map(os.path.relpath, config_files))} "
        "and run again; only what is missing runs."
    )


def _why(station: str, logs_dir) -> str:
    """The newest log of a job of this station: a plot log left by an earlier run
    is not the story when this run's download failed first."""
    plot = Path(logs_dir, "plot_station", f"{station}.log")
    download = Path(logs_dir, "download", f"{station}.log")
    logs = [p for p in (plot, download) if p.exists()]
    if not logs:
        return "its plot job never ran; see the errors above"
    newest = max(logs, key=lambda p: p.stat().st_mtime)
    return str(newest) if newest == plot else f"{newest}; its plot job never ran"


def stale_report_note(report, inputs) -> str | None:
    """After a failed run: an earlier run's timing report that this run could not
    rebuild says so, with its date, so nobody reads it as this run's (None if none
    or current)."""
    report = Path(report)
    if not report.exists():
        return None
    made = report.stat().st_mtime
    stale = [
        str(p) for p in map(Path, inputs) if not p.exists() or p.stat().st_mtime > made
    ]
    if not stale:
        return None
    import time

    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(made))
    return (
        f"{report.parent}/ holds the timing report of an earlier run ({when}), out of "
        f"date: this run could not rebuild it ({len(stale)} of its inputs missing or "
        f"newer, such as {stale[0]}); it is rebuilt, in place, by the next run that "
        "plots every station."
    )
