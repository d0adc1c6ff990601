"""Snakemake script of rule station_list_metadata: NOAA's station list, parsed once
per run, down to the title metadata of the configured stations that need it."""

import json
import logging

from weatherplot.io.ghcnd_meta import station_metadata
from weatherplot.joblog import log_to
from weatherplot.timing import write_bytes_atomic

log_to(snakemake.log[0])
wanted = list(snakemake.params.ids)
found = station_metadata(snakemake.input.stations, snakemake.input.countries, wanted)
for station in sorted(set(wanted) - set(found)):
    logging.warning("%s is not in NOAA's station list: its plot shows the id", station)
logging.info("station list: metadata of %d of %d stations", len(found), len(wanted))
write_bytes_atomic(
    snakemake.output[0], json.dumps(found, indent=1, sort_keys=True).encode()
)
