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
        snakemake_version=snakemake.params.get("snakemake_version"),
        # Empty without a free-threaded Python (the section then says how to get one).
        demos_free_threaded=list(snakemake.input.get("demos_free_threaded", [])),
        exercise_builds=snakemake.input.get("exercise_builds") or None,
        quick_run=snakemake.params.get("quick_run", False),
        station_names=snakemake.params.get("station_names"),
    )
    # The --cores of the run that timed the exercise, from its record: not a param,
    # which would replan the report whenever `snakemake -n` runs without --cores.
    inputs.cores = inputs.exercise["cores"]
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
        charts_dir=snakemake.output.charts,
        plots_dir=snakemake.params.plots,
    )
    log.info("usable CPUs %s, --cores %s", figures["cpus"], figures["cores"])
    log.info("wrote %s", ", ".join(map(str, snakemake.output)))
except Exception:
    log.exception("timing report failed")
    raise
