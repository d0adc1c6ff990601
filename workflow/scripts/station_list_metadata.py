"""Snakemake script of rule station_list_metadata (rules/download.smk says why it
always succeeds); the run's one warning line names the stations left unnamed."""

import json
import logging
import sys

from weatherplot.atomicwrite import write_bytes_atomic
from weatherplot.ghcnd_download import (
    fetch_settings,
    station_list_titles,
    unnamed_stations_warning,
)
from weatherplot.joblog import log_to

log_to(snakemake.log[0])
wanted = list(snakemake.params.ids)
# Read here, not passed as params (a new retry setting is no reason to rerun).
found = station_list_titles(
    wanted,
    snakemake.params.ghcnd_url,
    **fetch_settings(snakemake.config["download"], logging.info),
)
if warning := unnamed_stations_warning(wanted, found):
    logging.warning(warning)
    print(warning, file=sys.stderr)
logging.info(
    "station list: metadata of %d of %d stations", len(found["stations"]), len(wanted)
)
# The attempt this file is from: while it holds a list, the next run's params match.
found["attempt"] = snakemake.params.attempt
write_bytes_atomic(
    snakemake.output[0], json.dumps(found, indent=1, sort_keys=True).encode()
)
