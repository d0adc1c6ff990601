"""Snakemake script of rule scaling: the scaling study's JSON (its times and the
report's analysis of them) and chart."""

import logging
from pathlib import Path

from weatherplot.atomicwrite import write_bytes_atomic, write_json_atomic
from weatherplot.cpus import usable_cpus
from weatherplot.joblog import log_to
from weatherplot.report.analysis import analyse_scaling
from weatherplot.report.charts import chart_scaling
from weatherplot.scaling import run_study, worker_counts

log_to(snakemake.log[0])
stations = list(snakemake.params.stations)
workers = worker_counts(usable_cpus()["usable"], snakemake.threads)
study = run_study(
    stations,
    workers,
    int(snakemake.params.repeats),
    data_dir=Path(snakemake.config["data_dir"]),
    python=snakemake.params.python,
    root=snakemake.params.workflow_root,
    log=logging.info,
    start_method=snakemake.params.start_method,
)
study.update(analyse_scaling(study["points"], study["cpus"]["usable"]))
study["job_threads"] = snakemake.threads
write_json_atomic(snakemake.output.json, study)
write_bytes_atomic(snakemake.output.png, chart_scaling(study))
logging.info("wrote %s and %s", snakemake.output.json, snakemake.output.png)
