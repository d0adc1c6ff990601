# Shared helpers: the station table, wildcard constraints, input functions.
import os
import sys
from pathlib import Path

# The logic lives in the importable package next to this folder (workflow/weatherplot).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from snakemake.exceptions import WorkflowError
from weatherplot.demos import DEMOS, check_numpy_memory
from weatherplot.stations import STATION_ID_PATTERN, ConfigError, resolve_stations

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


def station_file(wildcards):
    return STATIONS[wildcards.station]["file"]


def station_info(wildcards):
    return STATIONS[wildcards.station]


# "The whole machine" for the timing rules (demos, baselines): --cores, or
# --local-cores in cluster mode where --cores may be unset (and under --report).
MACHINE_CORES = (
    workflow.resource_settings.cores or workflow.resource_settings.local_cores
)
