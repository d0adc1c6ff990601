"""Snakemake script of rule download_ghcnd_station: one station's .dly, or a failure
in one line naming the station, the URL and what to do."""

import logging
import sys

from weatherplot.errors import StationDataError
from weatherplot.ghcnd_download import download_station, fetch_settings
from weatherplot.joblog import log_to

log_to(snakemake.log[0])
station = snakemake.wildcards.station
# Read here, not passed as params: params are a rerun trigger, and a new retry
# setting is no reason to download again.
fetch_args = fetch_settings(snakemake.config["download"], logging.info)
try:
    download_station(
        station,
        snakemake.params.url,
        snakemake.output[0],
        snakemake.config["data_dir"],
        **fetch_args,
    )
except StationDataError as error:
    message = f"station {station}: {error}"
    logging.error(message)
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)
