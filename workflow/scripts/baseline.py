"""Snakemake script of rule baseline: the serial loop or the Pool over all stations."""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/ -> weatherplot
from weatherplot.announce import baseline_line
from weatherplot.baselines import BaselineError, run_baseline
from weatherplot.joblog import log_to
from weatherplot.timing import write_json_atomic

log_to(snakemake.log[0])
mode = snakemake.wildcards.baseline
workers = 1 if mode == "serial" else snakemake.threads
stations = list(snakemake.params.stations)
repeats = snakemake.params.repeats
print(
    baseline_line(mode, len(stations), workers, repeats, snakemake.log[0]),
    file=sys.stderr,
)
try:
    record = run_baseline(
        mode,
        workers,
        stations,
        repeats=repeats,
        log=logging.info,
    )
except BaselineError as error:
    # One line naming the station, to the terminal and the log; no traceback.
    logging.error("%s", error)
    print(f"ERROR: {error}", file=sys.stderr, flush=True)
    sys.exit(1)
record["job_threads"] = snakemake.threads
write_json_atomic(snakemake.output[0], record)
