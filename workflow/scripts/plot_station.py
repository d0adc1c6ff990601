"""Snakemake script of rule plot_station: one station's PNG and its timing record."""

import time

_started = time.time()  # before any import we could avoid: the record's "start"

import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/ -> weatherplot
from weatherplot.timing import PhaseTimer  # noqa: E402

timer = PhaseTimer("plot_station", snakemake.wildcards.station, start=_started)
logging.basicConfig(
    filename=snakemake.log[0],
    filemode="w",
    level=logging.INFO,
    format="%(asctime)s %(levelname)s %(message)s",
)
import weatherplot.plotting  # noqa: E402, F401  (numpy + matplotlib: the "imports" phase)
from weatherplot.errors import StationDataError  # noqa: E402
from weatherplot.stations import plot_station  # noqa: E402

timer.lap("imports")
info = snakemake.params.station
try:
    metadata = plot_station(info, snakemake.output.png, timer=timer)
except StationDataError as error:
    message = f"station {info['id']}: {error}"
    logging.error(message)
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)
timer.extra["station_format"] = metadata["format"]
record = timer.write(snakemake.output.timing)
logging.info("plotted %s from %s: %s", info["id"], info["file"], record["phases"])
