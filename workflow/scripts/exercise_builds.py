"""Snakemake script of rule exercise_builds: the loop, the Pool and the threads on
both builds (logic in weatherplot.builds)."""

import logging
import sys

from weatherplot.atomicwrite import write_json_atomic
from weatherplot.baselines import BaselineError
from weatherplot.builds import run_builds
from weatherplot.joblog import log_to

log_to(snakemake.log[0])
stations = list(snakemake.params.stations)
print(
    f"exercise on both builds: the serial loop, a Pool and {snakemake.threads} "
    f"threads on {len(stations)} station(s), with and without the GIL, "
    f"{snakemake.params.repeats} time(s) each (progress: {snakemake.log[0]})",
    file=sys.stderr,
)
try:
    record = run_builds(
        stations,
        workers=snakemake.threads,
        repeats=snakemake.params.repeats,
        builds={
            "gil": str(snakemake.params.python),
            "free-threaded": str(snakemake.params.free_threaded),
        },
        log=logging.info,
    )
except BaselineError as error:
    logging.error("%s", error)
    print(f"ERROR: exercise_builds: {error}", file=sys.stderr, flush=True)
    sys.exit(1)
# What the workflow's probe saw turn the GIL back on at import (reported by name).
record["builds"]["free-threaded"]["interpreter"]["gil_reenabled_by"] = list(
    snakemake.params.reenabled
)
write_json_atomic(snakemake.output[0], record)
