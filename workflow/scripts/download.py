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
try:
    if station is not None:
        download_station(
            station, snakemake.params.url, snakemake.output[0], log=logging.info
        )
    else:
        download_station_list(
            snakemake.params.url, snakemake.output[0], log=logging.info
        )
except StationDataError as error:
    message = f"station {station}: {error}" if station else str(error)
    logging.error(message)
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)
