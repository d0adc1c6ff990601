"""Snakemake script: the timing report (logic in weatherplot.report)."""

import logging

from weatherplot.joblog import log_to
from weatherplot.report import load_inputs, write_report

log_to(snakemake.log[0])
log = logging.getLogger("timing_report")

try:
    inputs = load_inputs(
        plots=snakemake.input.plots,
        demos=snakemake.input.demos,
        exercise=snakemake.input.exercise,
        scaling=snakemake.params.get("scaling"),
        stations=snakemake.params.stations,
        cores=snakemake.params.cores,
        snakemake_version=snakemake.params.get("snakemake_version"),
    )
    log.info(
        "read %d plot and %d demo records, the exercise's; scaling.json %s",
        len(inputs.plots),
        len(inputs.demos),
        "present" if inputs.scaling is not None else "absent",
    )
    figures = write_report(
        inputs,
        markdown_path=snakemake.output.md,
        html_path=snakemake.output.html,
        json_path=snakemake.output.json,
    )
    log.info("usable CPUs %s, --cores %s", figures["cpus"], figures["cores"])
    log.info("wrote %s", ", ".join(map(str, snakemake.output)))
except Exception:
    log.exception("timing report failed")
    raise
