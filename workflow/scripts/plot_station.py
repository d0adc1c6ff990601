"""Plot job of rule plot_station: one station's PNG and its timing record.

The rule runs it as a plain Python process (a ``shell:`` command)::

    python workflow/scripts/plot_station.py STATION_JSON PNG TIMING LOG

rather than through Snakemake's ``script:`` directive, whose preamble imports
Snakemake and unpickles the job before our first line: ~0.15-0.2 s of every plot job,
measured with ``python -m weatherplot.benchmark``. STATION_JSON is the station's config
entry (``STATIONS[id]`` in common.smk) as JSON.
"""

import time

_started = time.time()  # before any import we could avoid: the record's "start"

import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # workflow/ -> weatherplot
from weatherplot.joblog import log_to  # noqa: E402
from weatherplot.timing import PhaseTimer  # noqa: E402


def main(argv: list[str]) -> int:
    station_json, png, timing, log = argv
    info = json.loads(station_json)
    timer = PhaseTimer("plot_station", info["id"], start=_started)
    log_to(log)
    import weatherplot.plotting  # noqa: F401  (numpy + matplotlib: the "imports" phase)
    from weatherplot.errors import StationDataError
    from weatherplot.stations import plot_station

    timer.lap("imports")
    try:
        metadata = plot_station(info, png, timer=timer)
    except StationDataError as error:
        message = f"station {info['id']}: {error}"
        logging.error(message)
        print(f"ERROR: {message}", file=sys.stderr)
        return 1
    timer.extra["station_format"] = metadata["format"]
    record = timer.write(timing)
    logging.info("plotted %s from %s: %s", info["id"], info["file"], record["phases"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
