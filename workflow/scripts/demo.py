"""Snakemake script: one threads-vs-processes demo (logic in weatherplot.demos).

Runs the demo named by the ``demo`` wildcard with the sizes in ``params.demos`` (the
config's ``demos`` section) and writes its record to ``output[0]``. Progress goes to
``log[0]``.
"""

import logging
import sys

from weatherplot.announce import demo_line
from weatherplot.atomicwrite import write_json_atomic
from weatherplot.demos import run_demo
from weatherplot.joblog import log_to

log_to(snakemake.log[0])
log = logging.getLogger("demo")

name = snakemake.wildcards.demo
# The terminal hears when a long demo starts and how long it waits (its log has more).
print(demo_line(name, snakemake.params.demos, snakemake.log[0]), file=sys.stderr)
try:
    record = run_demo(name, dict(snakemake.params.demos))
    record["job_threads"] = snakemake.threads  # workflow.cores: the machine to itself
    write_json_atomic(snakemake.output[0], record)
    log.info("%s demo: wrote %s", name, snakemake.output[0])
except Exception:
    log.exception("%s demo failed", name)
    raise
