"""Snakemake script of rule exercise: the whole commands of one interpreter build's
exercise, timed from outside (logic in weatherplot.exercise)."""

import logging
import sys
from pathlib import Path

from weatherplot.announce import exercise_line
from weatherplot.atomicwrite import write_json_atomic
from weatherplot.exercise import run_builds, run_exercise
from weatherplot.joblog import log_to
from weatherplot.measure import MeasureError

log_to(snakemake.log[0])
stations = list(snakemake.params.stations)
repeats = snakemake.params.repeats
builds = {"gil": str(snakemake.params.python)}
if snakemake.params.free_threaded:
    builds["free-threaded"] = str(snakemake.params.free_threaded)
# The terminal hears what this long job waits for (its log has the progress).
print(
    exercise_line(len(stations), snakemake.threads, repeats, snakemake.log[0])
    if len(builds) == 1
    else f"exercise on both builds: the serial loop, a Pool and {snakemake.threads} "
    f"threads on {len(stations)} station(s), with and without the GIL, "
    f"{repeats} time(s) each (progress: {snakemake.log[0]})",
    file=sys.stderr,
)
try:
    if len(builds) == 1:
        record = run_exercise(
            stations,
            cores=snakemake.threads,
            repeats=repeats,
            data_dir=Path(snakemake.config["data_dir"]),
            python=builds["gil"],
            plot_server=snakemake.params.plot_server,
            root=snakemake.params.workflow_root,
            log=logging.info,
            start_method=snakemake.params.start_method,
        )
    else:
        record = run_builds(
            stations,
            workers=snakemake.threads,
            repeats=repeats,
            builds=builds,
            log=logging.info,
            start_method=snakemake.params.start_method,
        )
        # What the workflow's probe saw turn the GIL back on at import (by name).
        record["builds"]["free-threaded"]["interpreter"]["gil_reenabled_by"] = list(
            snakemake.params.reenabled
        )
except MeasureError as error:
    # One line naming the station or the command, to the terminal and the log.
    logging.error("%s", error)
    print(f"ERROR: exercise: {error}", file=sys.stderr, flush=True)
    sys.exit(1)
write_json_atomic(snakemake.output[0], record)
