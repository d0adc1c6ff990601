"""Snakemake script of rule baseline: the serial loop or the Pool over all stations."""

import logging

from weatherplot.baselines import run_baseline
from weatherplot.joblog import log_to
from weatherplot.timing import write_json_atomic

log_to(snakemake.log[0])
mode = snakemake.wildcards.baseline
workers = 1 if mode == "serial" else snakemake.threads
record = run_baseline(
    mode,
    workers,
    list(snakemake.params.stations),
    repeats=snakemake.params.repeats,
    log=logging.info,
)
record["job_threads"] = snakemake.threads
write_json_atomic(snakemake.output[0], record)
