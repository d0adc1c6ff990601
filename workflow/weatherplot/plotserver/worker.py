"""The plot server's forked workers: check a job's request, plot it, then wait for the
next job. A worker dies with the server (``PR_SET_PDEATHSIG``) and with its job (the
server kills it when the job's process is gone); one whose job hit an unexpected
error leaves.
"""

from __future__ import annotations

import contextlib
import ctypes
import hmac
import json
import os
import re
import resource
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ..joblog import exit_now, stop_logging
from .client import (
    JOB_ENV,
    READY,
    REFUSED_PREFIX,
    BadFrame,
    decode_request,
    peer,
    recv_frame,
    seconds_setting,
    send_frame,
)

OUTPUT_DIRS = ("results", "logs")
# A worker waits this long at most for its job's request.
REQUEST_SECONDS = seconds_setting("WEATHERPLOT_PLOT_REQUEST_SECONDS", 10)
MAX_REQUEST = 64 * 1024
REFUSED = 75  # a worker's exit code: refused the job before doing anything
LEAVING = b"leaving"  # after a job's exit code: this worker takes no more jobs
# Loaded in the server, before any fork: ctypes costs a worker ~10 ms to load itself.
LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


class Refused(Exception):
    """A request this server does not run (another run's, or outside the workflow)."""


def check_request(request: dict, root: str) -> None:
    """:class:`Refused` unless ``request`` (:func:`.client.decode_request`'s) is a plot
    job of the run in ``root``."""
    from ..stations import STATION_ID_PATTERN  # the schema's

    argv, cwd = request["argv"], request["cwd"]
    try:
        same = Path(cwd).samefile(root)
    except OSError:
        same = False
    if not same:
        raise Refused(f"working directory {cwd!r} is not this run's ({root})")
    for path in argv[1:]:
        # Normalised, a path holds ".." only at its start (no output folder then).
        parts = path.split("/")
        if (
            os.path.normpath(path) != path
            or len(parts) < 2
            or parts[0] not in OUTPUT_DIRS
        ):
            raise Refused(
                f"{path!r} is not a relative path under {', '.join(OUTPUT_DIRS)}"
            )
    try:
        station_id = json.loads(argv[0])["id"]
    except (ValueError, TypeError, KeyError):
        raise Refused("STATION_JSON is not a station entry") from None
    if not (
        isinstance(station_id, str) and re.fullmatch(STATION_ID_PATTERN, station_id)
    ):
        raise Refused(f"station id {station_id!r} does not match {STATION_ID_PATTERN}")
    if not set(request["env"]) <= set(JOB_ENV):
        raise Refused("unexpected environment")


def run_worker(
    control: socket.socket, authkey: bytes, server: int, close: list[int]
) -> None:
    """In the forked worker: serve the jobs the server hands over. Never returns."""
    code = 1
    try:
        if LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
        if os.getppid() != server:  # the server died before prctl took effect
            return
        for fd in close:  # the listener, epoll, other workers' sockets and pidfds
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        _serve_jobs(control, authkey)
        code = 0
    except BaseException:  # report anything, then leave
        traceback.print_exc()
    finally:
        exit_now(code)


def _serve_jobs(control: socket.socket, authkey: bytes) -> None:
    """One job after another, until the server closes ``control`` or a job ends in
    an unexpected error (which may have left this process in any state)."""
    # The server's log: where this process's stdout and stderr return after a job.
    server_streams = os.dup(1), os.dup(2)
    served = 0
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, 1)
        if not message:  # the server is gone
            return
        served += 1
        with socket.socket(fileno=fds[0]) as job:
            try:
                code, reusable = _take_job(job, authkey, served)
            finally:
                # Back to the server's log, closing the job's copies of its
                # streams (its pipes must see their end).
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(OSError, ValueError):  # a pipe gone
                        stream.flush()
                os.dup2(server_streams[0], 1)
                os.dup2(server_streams[1], 2)
                stop_logging()
        # Sent once the job's connection is closed here: the server answers the job
        # and closes its own copy, and no worker writes for the job any more.
        control.send(str(code).encode() + (b"" if reusable else b" " + LEAVING))
        if not reusable:
            return


def _take_job(sock: socket.socket, authkey: bytes, served: int) -> tuple[int, bool]:
    """Check one job's request and plot it: (exit code, whether this worker may take
    another job)."""

    def too_slow(signum, frame):
        raise TimeoutError(f"no complete request within {REQUEST_SECONDS} s")

    # The job knows no worker writes for it once every end of this connection is
    # closed: this one closes only after the job is done (or when this process dies).
    job_pid, _ = peer(sock)
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this job's CPU counts from here
    fds: list[int] = []
    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(REQUEST_SECONDS)
    try:
        send_frame(sock, READY)
        # The job's fds come with the first bytes of the request's header.
        head, fds, _, _ = socket.recv_fds(sock, 4, 2)
        key, request = decode_request(recv_frame(sock, MAX_REQUEST, head))
        signal.alarm(0)
        if not hmac.compare_digest(key, authkey):
            raise PermissionError("the request does not carry this run's key")
        if len(fds) != 2:
            raise BadFrame("the job's stdout and stderr did not come along")
        check_request(request, os.getcwd())  # noqa: PTH109
    except Exception as error:  # nothing done: say why if the job still listens
        signal.alarm(0)
        for fd in fds:
            os.close(fd)
        log(f"worker {os.getpid()} refused job {job_pid}: {error!r}")
        if isinstance(error, Refused):
            with contextlib.suppress(OSError):
                send_frame(sock, REFUSED_PREFIX + str(error).encode())
        return REFUSED, True
    argv = request["argv"]
    log(f"worker {os.getpid()} ({json.loads(argv[0])['id']}) started")
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    for name in JOB_ENV:  # the job's, not the server's or an earlier job's
        os.environ.pop(name, None)
    os.environ.update(request["env"])
    tempfile.tempdir = None
    # This job's peak memory from here (clear_refs 5 resets the high-water mark that
    # getrusage reports); if not allowed, the record holds the worker's peak so far.
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    from ..hostinfo import process_start_time
    from ..plotjob import run

    try:
        # The session (which snakemake run) is the worker's own: its server's parent.
        code = run(
            argv,
            request["started"],
            worker="forked",
            usage_since=usage,
            process_start=process_start_time(job_pid),
            job_pid=job_pid,
            worker_job=served,
        )
    except Exception:  # on the job's stderr; the next job gets a fresh worker
        traceback.print_exc()
        return 1, False
    return code, True


def log(message: str) -> None:
    """A line in the server's log (a worker's stdout, until it takes the job's)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)
