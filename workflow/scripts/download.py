"""Snakemake script of the download rules: one station's .dly or one NOAA list.

The rule's job fails with one line naming the station (or list), the URL and what to
do; nothing half-written is left under the output's name (weatherplot.download).
"""

import logging
import sys

from weatherplot.errors import StationDataError
from weatherplot.joblog import log_to
from weatherplot.stations import download_station, download_station_list

log_to(snakemake.log[0])
station = snakemake.wildcards.get("station")
# Read here, not passed as params: params are a rerun trigger, and a new retry
# setting is no reason to download again.
retries = snakemake.config["download"]
fetch_args = {
    "attempts": retries["attempts"],
    "pause": retries["retry_pause_seconds"],
    "max_bytes": int(retries["max_megabytes"] * 1000**2),
    "log": logging.info,
}
try:
    if station is not None:
        download_station(
            station, snakemake.params.url, snakemake.output[0], **fetch_args
        )
    else:
        download_station_list(snakemake.params.url, snakemake.output[0], **fetch_args)
except StationDataError as error:
    message = f"station {station}: {error}" if station else str(error)
    logging.error(message)
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)
