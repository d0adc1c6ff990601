# The config, the stations and the input functions the rules files after this use.
import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

try:
    from weatherplot import dagbuild
except ImportError:
    raise WorkflowError(
        "the weatherplot package cannot be imported: this workflow's code comes "
        f"from {workflow.current_basedir}, not a folder on this disk, so install "
        "the package of the same version in this environment (pip install "
        "'weatherplot @ git+<repository URL>@<tag>'; see the README, section "
        '"Using the workflow in your own project")'
    ) from None

# workflow/ when the code is on this disk (the jobs import the package from it),
# else None; and what the exercise and the scaling study copy.
WORKFLOW_CODE = dagbuild.use_workflow_package(workflow.current_basedir)
WORKFLOW_ROOT = dagbuild.workflow_root(WORKFLOW_CODE, workflow.basedir)
# The collector paused while the DAG is built, where the Snakefile's onstart turns it
# back on (not in a module: Snakemake ignores its hooks); docs/performance.md.
dagbuild.collect_less_often(pause=workflow.modifier.is_main_snakefile())


# --- Config ----------------------------------------------------------------------

from weatherplot.preflight import validate_config

# Defaults filled in; an error in one line instead of the schema dump.
validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))

import psutil

from weatherplot import startmethod
from weatherplot.demos.common import check_numpy_memory

# Stop the run here, in one line: a start method this platform lacks (fork on
# Windows; each job resolves the setting again for its own interpreter), a numpy
# demo that could never fit in this machine's memory (it checks again when it starts).
try:
    startmethod.resolve(config["processes"]["start_method"])
    check_numpy_memory(
        config["demos"]["array_size"],
        config["demos"]["workers"],
        # psutil (Snakemake requires it): os.sysconf is not on Windows.
        available=psutil.virtual_memory().total,
    )
except ValueError as error:
    raise WorkflowError(f"config: {error}") from None


# --- Stations ---------------------------------------------------------------------

from weatherplot.demos import DEMOS
from weatherplot.errors import ConfigError
from weatherplot.stations import (
    STATION_ID_PATTERN,
    STATION_LIST_METADATA,
    resolve_stations,
    station_list_ids,
    station_list_attempt,
)
from weatherplot.preflight import cores_error, not_configured

# --cores 0 would hang at "Select jobs to execute": refuse it before any job.
if message := cores_error(workflow.resource_settings.cores):
    raise WorkflowError(message)

try:
    STATIONS = resolve_stations(
        config, catalog_schema=workflow.source_path("../schemas/stations.schema.yaml")
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None  # names the entry: no traceback
STATION_IDS = list(STATIONS)
GHCND_URL = config["ghcnd_url"].rstrip("/")


wildcard_constraints:
    station=STATION_ID_PATTERN,


@dagbuild.fixed_signature
def station_file(wildcards):
    """The station's file (downloaded first when given by id) and, for a station
    whose name only NOAA's station list knows, that list's parsed metadata."""
    info = STATIONS.get(wildcards.station)
    if info is None:
        # A target such as results/plots/NOPE.png for a station the config does not
        # have: Snakemake lists this "missing input" as the reason, without a
        # traceback (an input function that raises gets one).
        return not_configured(wildcards.station)
    if "station_list" in info:
        return [info["file"], info["station_list"]]
    return info["file"]


@dagbuild.fixed_signature
def station_json(wildcards):
    """The plot job's station entry, as the JSON its command line takes."""
    return json.dumps(STATIONS.get(wildcards.station, {}))


# "The whole machine" for the timing rules (demos, baselines): --cores, or
# --local-cores in cluster mode where --cores may be unset (and under --report).
MACHINE_CORES = (
    workflow.resource_settings.cores or workflow.resource_settings.local_cores
)


# --- Free-threaded Python ----------------------------------------------------------

# The {build_dir} wildcard of the demos' and the exercise's outputs: "" for this
# Snakemake's (GIL) Python, "free-threaded/" for FREE_THREADED's.
BUILD_DIRS = {"": "GIL", "free-threaded/": "free-threaded"}

# The free-threaded CPython (no GIL) the demos and the exercise also run under, or
# None; probed once per run (cached, inherited by nested runs: docs/free-threading.md).
from weatherplot import freethreading

try:
    FREE_THREADED = freethreading.resolve_for_this_run(
        config["free_threading"]["python"]
    )
except freethreading.FreeThreadingError as error:
    raise WorkflowError(str(error)) from None


def free_threaded_interpreter(wildcards):
    """FREE_THREADED's interpreter for a job that runs under it (a Path: params are a
    rerun trigger, a Path is not compared); a clear error when there is none."""
    if FREE_THREADED is None:
        raise WorkflowError(
            "no free-threaded Python to run the demos under (free_threading.python "
            "is false, or `auto` found none): set it in config/config.yaml to a "
            "free-threaded CPython such as python3.14t or python3.13t, or build one "
            "with `snakemake --cores 2 free_threaded_python`"
        )
    return Path(FREE_THREADED.python)
