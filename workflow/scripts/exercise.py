"""Snakemake script of rule exercise: the three whole commands, timed from outside."""

import logging
from pathlib import Path

from weatherplot.exercise import run_exercise
from weatherplot.joblog import log_to
from weatherplot.timing import write_json_atomic

log_to(snakemake.log[0])
record = run_exercise(
    list(snakemake.params.stations),
    cores=snakemake.threads,
    repeats=snakemake.params.repeats,
    data_dir=Path(snakemake.config["data_dir"]),
    python=snakemake.params.python,
    plot_server=snakemake.params.plot_server,
    log=logging.info,
)
write_json_atomic(snakemake.output[0], record)
