"""The plot server's workers: warm-up, request checks, and the forked worker.

The server (:mod:`.server`) forks up to ``--cores`` workers and hands
each accepted connection to an idle one. For each job the worker checks the request,
takes the job's stdout/stderr and thread/temp-dir environment, plots, gives the
streams back (to the server's log) and closes the job's log file, then waits for the
next job. It dies with the server (``PR_SET_PDEATHSIG``) and with its job (the server
kills it if the job's process is gone); a worker whose job hit an unexpected error
leaves, and the server forks a new one when needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time

from .client import JOB_ENV, peer, seconds_setting

OUTPUT_DIRS = ("results", "logs")
# A worker waits this long at most for its job's request.
REQUEST_SECONDS = seconds_setting("WEATHERPLOT_PLOT_REQUEST_SECONDS", 10)
MAX_REQUEST = 64 * 1024
REFUSED = 75  # a worker's exit code: refused the job before doing anything
LEAVING = b"leaving"  # after a job's exit code: this worker takes no more jobs


def warm_up() -> float:
    """Import what a plot needs and draw once (fonts, the Agg renderer); seconds."""
    started = time.perf_counter()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .. import plotjob, plotting, stations  # noqa: F401
    from ..io import preload_readers

    # Not the CSV readers: they bring pandas (~0.4 s), which .dly stations never use.
    preload_readers()

    figure = Figure(figsize=(2, 2), dpi=50)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], label="warm-up")
    axes.set_title("warm-up")
    axes.legend()
    FigureCanvasAgg(figure).print_png(_Discard())
    return time.perf_counter() - started


class _Discard:
    def write(self, data):
        return len(data)


class Refused(Exception):
    """A request this server does not run (another run's, or outside the workflow)."""


def check_request(request: object, root: str) -> dict:
    """The request if it is a plot job of the run in ``root``; else :class:`Refused`."""
    import posixpath
    import re
    from pathlib import Path

    from ..stations import STATION_ID_PATTERN  # the schema's

    if not isinstance(request, dict):
        raise Refused("not a request")
    argv = request.get("argv")
    if not (isinstance(argv, list) and len(argv) == 4):
        raise Refused("argv must be STATION_JSON PNG TIMING LOG")
    if not all(isinstance(a, str) for a in argv):
        raise Refused("argv must be STATION_JSON PNG TIMING LOG")
    cwd = request.get("cwd")
    try:
        same = isinstance(cwd, str) and Path(cwd).samefile(root)
    except OSError:
        same = False
    if not same:
        raise Refused(f"working directory {cwd!r} is not this run's ({root})")
    for path in argv[1:]:
        parts = path.split("/")
        if (
            posixpath.isabs(path)
            or posixpath.normpath(path) != path
            or ".." in parts
            or len(parts) < 2
            or parts[0] not in OUTPUT_DIRS
        ):
            raise Refused(
                f"{path!r} is not a relative path under {', '.join(OUTPUT_DIRS)}"
            )
    try:
        station = json.loads(argv[0])
        station_id = station["id"]
    except (ValueError, TypeError, KeyError):
        raise Refused("STATION_JSON is not a station entry") from None
    if not (
        isinstance(station_id, str) and re.fullmatch(STATION_ID_PATTERN, station_id)
    ):
        raise Refused(f"station id {station_id!r} does not match {STATION_ID_PATTERN}")
    env = request.get("env", {})
    if not (
        isinstance(env, dict)
        and all(k in JOB_ENV and isinstance(v, str) for k, v in env.items())
    ):
        raise Refused("unexpected environment")
    if type(request.get("started")) not in (int, float):
        raise Refused("started must be a number")
    return request


def load_libc():
    """The C library, through ctypes (loaded by the server once, before any fork)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent: int, libc) -> None:
    """Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: die when the server dies."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the server died before prctl took effect
        os._exit(1)


def run_worker(
    control: socket.socket, authkey: bytes, server: int, close: list[int], libc
) -> None:
    """In the forked worker: serve the jobs the server hands over. Never returns."""
    import signal

    from ..joblog import exit_now

    code = 1
    try:
        _die_with_parent(server, libc)
        for fd in close:  # the listener, epoll, other workers' sockets and pidfds
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        _serve_jobs(control, authkey)
        code = 0
    except BaseException:  # report anything, then leave
        import traceback

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
        if not message or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return
        served += 1
        with socket.socket(fileno=fds[0]) as job:
            try:
                code, reusable = _take_job(job, authkey, served)
            finally:
                _restore_streams(server_streams)
        # Sent once the job's connection is closed here: the server answers the job
        # and closes its own copy, and no worker writes for the job any more.
        control.send(str(code).encode() + (b"" if reusable else b" " + LEAVING))
        if not reusable:
            return


def _restore_streams(streams: tuple[int, int]) -> None:
    """Flush what the job's streams still hold; point stdout/stderr back at the
    server's log (closing the job's copies: a job's pipe must see its end)."""
    import sys

    from ..joblog import stop_logging

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the job's pipe may be gone
            stream.flush()
    os.dup2(streams[0], 1)
    os.dup2(streams[1], 2)
    stop_logging()


def _take_job(sock: socket.socket, authkey: bytes, served: int) -> tuple[int, bool]:
    """Check one job's request and plot it: (exit code, whether this worker may take
    another job)."""
    import hmac
    import resource
    import signal
    import tempfile

    from .client import (
        READY,
        REFUSED_PREFIX,
        BadFrame,
        decode_request,
        recv_frame,
        send_frame,
    )

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
        head, fds = _recv_fds(sock, 4, 2)
        key, request = decode_request(recv_frame(sock, MAX_REQUEST, head))
        signal.alarm(0)
        if not hmac.compare_digest(key, authkey):
            raise PermissionError("the request does not carry this run's key")
        if len(fds) != 2:
            raise BadFrame("the job's stdout and stderr did not come along")
        request = check_request(request, os.getcwd())  # noqa: PTH109
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
        if name in request["env"]:
            os.environ[name] = request["env"][name]
        else:
            os.environ.pop(name, None)
    tempfile.tempdir = None
    _reset_peak_memory()
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
        import traceback

        traceback.print_exc()
        return 1, False
    return code, True


def _reset_peak_memory() -> None:
    """Start this job's peak-memory count afresh (Linux's clear_refs 5 resets the
    high-water mark that ``getrusage`` reports); if that is not allowed, the record
    holds the worker's peak so far."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _recv_fds(sock: socket.socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    """Up to ``size`` bytes and the fds attached to them (at least one byte)."""
    data, fds, _, _ = socket.recv_fds(sock, size, max_fds)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError("the connection was closed")
    return data, fds


def log(message: str) -> None:
    """A line in the server's log (a worker's stdout, until it takes the job's)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)
