"""Snakemake script of rule exercise: the three whole commands, timed from outside."""

import logging
import sys
from pathlib import Path

from weatherplot.announce import exercise_line
from weatherplot.atomicwrite import write_json_atomic
from weatherplot.baselines import BaselineError
from weatherplot.exercise import ExerciseError, run_exercise
from weatherplot.joblog import log_to

log_to(snakemake.log[0])
stations = list(snakemake.params.stations)
repeats = snakemake.params.repeats
# The terminal hears what this long job waits for (its log has the progress).
print(
    exercise_line(len(stations), snakemake.threads, repeats, snakemake.log[0]),
    file=sys.stderr,
)
try:
    record = run_exercise(
        stations,
        cores=snakemake.threads,
        repeats=repeats,
        data_dir=Path(snakemake.config["data_dir"]),
        python=str(snakemake.params.python),
        plot_server=snakemake.params.plot_server,
        root=snakemake.params.workflow_root,
        log=logging.info,
    )
except (BaselineError, ExerciseError) as error:
    # One line naming the station or the command, to the terminal and the log.
    logging.error("%s", error)
    print(f"ERROR: exercise: {error}", file=sys.stderr, flush=True)
    sys.exit(1)
write_json_atomic(snakemake.output[0], record)
