"""One plot job: a station's PNG and its timing record.

The same code runs in either kind of plot process (see :mod:`weatherplot.plotserver`):

- ``fresh``: the job's own Python process, which imports NumPy and Matplotlib itself
  (the "imports" phase);
- ``forked``: a worker forked from the warm plot server, which imported them once for
  the whole run, and which serves one job after another; the job's process only hands
  its arguments over (the "handoff" phase: client start, connect, hand-over).
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
    """Plot one station: ``argv`` = STATION_JSON PNG TIMING LOG. Returns the exit code.

    ``started`` is when the job's own process ran its first line (epoch seconds);
    ``usage_since``: the process's ``getrusage`` when this job began (a plot-server
    worker serves several jobs); ``record`` adds fields to the timing record (the
    worker passes the job process's start and pid).
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
        # CPU time and peak memory of the process that plotted, for this job (a
        # plot-server worker counts from the job's hand-over and resets its peak;
        # Snakemake's benchmark file cannot see the worker, only the job's waiting
        # process).
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
