"""One plot job: a station's PNG and its timing record, in a ``fresh`` process (the
job's own, which imports NumPy and Matplotlib: the "imports" phase) or in a worker
``forked`` from the warm plot server, which imported them once (the "handoff" phase).
"""

from __future__ import annotations

import json
import logging
import sys

from . import hostinfo
from .joblog import log_to
from .timing import PhaseTimer

log = logging.getLogger(__name__)


def run(
    argv: list[str],
    started: float,
    worker: str = "fresh",
    usage_since=None,
    **record: object,
) -> int:
    """Plot one station (``argv``: STATION_JSON PNG TIMING LOG); the exit code.

    ``started``: when the job's own process ran its first line (epoch seconds);
    ``usage_since``: ``getrusage`` when this job began (a worker serves several);
    ``record``: more fields for the timing record.
    """
    station_json, png, timing, log_path = argv
    info = json.loads(station_json)
    timer = PhaseTimer(info["id"], start=started)
    log_to(log_path)
    from . import plotting  # noqa: F401  (NumPy + Matplotlib: free when forked)
    from .errors import StationDataError
    from .stations import plot_station

    timer.lap("imports" if worker == "fresh" else "handoff")
    try:
        metadata = plot_station(info, png, timer=timer)
    except StationDataError as error:
        message = f"station {info['id']}: {error}"
        log.error(message)
        print(f"ERROR: {message}", file=sys.stderr)
        return 1
    except Exception as error:
        # Not the station's data: the traceback belongs in the job's log, which
        # Snakemake points the user to (stderr reaches only the terminal). The
        # caller still sees the exception (a server worker then retires).
        message = f"station {info['id']}: unexpected error: {error!r}"
        log.exception(message)
        print(f"ERROR: {message} (traceback in {log_path})", file=sys.stderr)
        raise
    cpu = hostinfo.cpu_seconds()
    if usage_since is not None:
        cpu -= usage_since.ru_utime + usage_since.ru_stime
    timer.extra.update(
        station_format=metadata["format"],
        worker=worker,
        # Of the process that plotted, for this job alone (a worker counts from the
        # hand-over): Snakemake's benchmark file sees only the job's waiting process.
        cpu_seconds=round(cpu, 3),
        max_rss_mb=round(hostinfo.peak_rss() / 2**20, 1),  # MiB
        **record,
    )
    written = timer.write(timing)
    log.info(
        "plotted %s from %s in a %s process: %s",
        info["id"],
        info["file"],
        worker,
        written["phases"],
    )
    return 0
