# Shared helpers: the station table, wildcard constraints, input functions.
import gc
import inspect
import json
import os
import sys
from pathlib import Path

# Building the DAG makes ~100 objects per job that live to the end of the run; with
# Python's default collector thresholds (700, 10, 10) full collections rescan them
# again and again: 3.5-3.8 s of a 13 s dry run of 10,000 stations (gc.callbacks).
# Collecting less often: ~0.8 s of collection, same peak memory (few are garbage).
gc.set_threshold(50_000, 10, 10)

# The logic lives in the importable package next to this folder (workflow/weatherplot).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from snakemake.exceptions import WorkflowError
from weatherplot.demos import DEMOS, check_numpy_memory
from weatherplot.preflight import cores_error, not_configured
from weatherplot.stations import STATION_ID_PATTERN, ConfigError, resolve_stations

# --cores 0 would hang at "Select jobs to execute": refuse it before any job.
if message := cores_error(workflow.resource_settings.cores):
    raise WorkflowError(message)

try:
    STATIONS = resolve_stations(config)
except ConfigError as error:
    # Stop before any job runs, naming the config entry (no traceback needed).
    raise WorkflowError(str(error)) from None
STATION_IDS = list(STATIONS)

# Refuse up front a numpy demo that could never fit in this machine's memory (the
# demo checks again, against the memory available then, when it starts).
try:
    check_numpy_memory(
        config["demos"]["array_size"],
        config["demos"]["workers"],
        available=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
    )
except ValueError as error:
    raise WorkflowError(f"config: {error}") from None


wildcard_constraints:
    station=STATION_ID_PATTERN,


# Snakemake asks inspect.signature which arguments (wildcards, input, output, ...) an
# input or params function takes, for every job and several times per job: ~50 us a
# call, five per plot job, ~0.5 s of a 10,000-station DAG build. A function that
# carries its signature (__signature__, PEP 362) answers at once, same parameters.
def fixed_signature(func):
    func.__signature__ = inspect.signature(func)
    return func


@fixed_signature
def station_file(wildcards):
    info = STATIONS.get(wildcards.station)
    # A target such as results/plots/NOPE.png for a station the config does not
    # have: Snakemake lists this "missing input" as the reason, without a traceback
    # (an input function that raises gets one).
    return not_configured(wildcards.station) if info is None else info["file"]


@fixed_signature
def station_json(wildcards):
    """The plot job's station entry, as the JSON its command line takes."""
    return json.dumps(STATIONS.get(wildcards.station, {}))


# "The whole machine" for the timing rules (demos, baselines): --cores, or
# --local-cores in cluster mode where --cores may be unset (and under --report).
MACHINE_CORES = (
    workflow.resource_settings.cores or workflow.resource_settings.local_cores
)
