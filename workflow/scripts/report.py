"""Snakemake script: the timing report (logic in weatherplot.report)."""

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/ -> weatherplot
from weatherplot.joblog import log_to
from weatherplot.report import load_inputs, write_report

log_to(snakemake.log[0])
log = logging.getLogger("timing_report")


def baselines_cores(paths):
    """``job_threads`` of the baseline records: the run's --cores."""
    cores = [json.loads(Path(p).read_text()).get("job_threads") for p in paths]
    return max((c for c in cores if c), default=None)


try:
    inputs = load_inputs(
        plots=snakemake.input.plots,
        demos=snakemake.input.demos,
        baselines=snakemake.input.baselines,
        scaling=snakemake.params.get("scaling"),
        stations=snakemake.params.stations,
        # The --cores of the run that timed the baselines, from their record: not a
        # param, which would replan the report whenever -n runs without --cores.
        cores=baselines_cores(snakemake.input.baselines),
        snakemake_version=snakemake.params.get("snakemake_version"),
    )
    log.info(
        "read %d plot, %d demo and %d baseline records; scaling.json %s",
        len(inputs.plots),
        len(inputs.demos),
        len(inputs.baselines),
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
