"""The plot job's side of the warm plot server (see :mod:`weatherplot.plotserver`).

scripts/plot_station.py imports this module in every plot job, started with
``python -S``: keep its top-level imports to the few standard-library modules the
client needs, and never import the server or worker modules from here.
"""

from __future__ import annotations

import json
import os
import socket
import sys

ENV_VAR = "WEATHERPLOT_PLOT_SERVER"  # "PID:AUTHKEY_HEX:SOCKET_PATH", for the jobs
# What the worker takes from the job's environment: Snakemake sets the thread counts
# from the rule's threads, and the temp dir may be per job.
JOB_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TMPDIR",
)
ANSWER_SECONDS = 60  # a job waits this long at most for the server to take it


class Unavailable(Exception):
    """No worker took the job, or none can still write: plot in this process."""


def peer(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end, as the kernel recorded them."""
    import struct

    size = struct.calcsize("3i")
    pid, uid, _ = struct.unpack(
        "3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    )
    return pid, uid


def parse_address(value: str) -> tuple[int, bytes, str]:
    """``PID:AUTHKEY_HEX:PATH`` -> (server pid, authkey, socket path)."""
    pid, key, path = value.split(":", 2)
    return int(pid), bytes.fromhex(key), path


def request_plot(address: str, argv: list[str], started: float) -> int:
    """Have a worker of this run's server plot for this job; return its exit code.

    Raises :class:`Unavailable` when the job may plot by itself: no worker took the
    job, or the one that did has exited without a valid answer.
    """
    from multiprocessing.connection import (
        AuthenticationError,
        Connection,
        answer_challenge,
        deliver_challenge,
    )

    try:
        server_pid, authkey, path = parse_address(address)
    except ValueError:
        raise Unavailable(f"malformed {ENV_VAR}") from None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(path)
            # Before sending anything: is this our run's server? (A stale path whose
            # server died may be bound by another process.)
            if peer(sock) != (server_pid, os.getuid()):
                raise Unavailable(f"{path} is not this run's plot server")
            conn = Connection(os.dup(sock.fileno()))
        except OSError as error:
            raise Unavailable(f"cannot reach the plot server: {error}") from None
        with conn:
            try:
                if not conn.poll(ANSWER_SECONDS):
                    raise Unavailable("the plot server did not take the job in time")
                answer_challenge(conn, authkey)
                deliver_challenge(conn, authkey)
            except (OSError, EOFError, AssertionError, AuthenticationError) as error:
                raise Unavailable(
                    f"the plot server failed authentication: {error!r}"
                ) from None
            return _hand_over(conn, sock, argv, started)


def _hand_over(conn, sock: socket.socket, argv: list[str], started: float) -> int:
    from multiprocessing.reduction import sendfds

    # The worker finds this process's start time and run (session) by itself: the
    # timing module's imports (pathlib) cost every job ~5 ms.
    request = {
        "argv": list(argv),
        "cwd": os.getcwd(),  # noqa: PTH109 (pathlib is not imported on this side)
        "env": {name: os.environ[name] for name in JOB_ENV if name in os.environ},
        "started": started,
    }
    try:
        conn.send_bytes(json.dumps(request).encode())
        # Our stdout and stderr go along: the worker's messages reach the job's
        # streams, which Snakemake shows. Sent last: without them nothing is plotted.
        sendfds(sock, [1, 2])
    except OSError as error:
        raise Unavailable(f"the plot server hung up: {error}") from None
    try:
        answer = json.loads(conn.recv_bytes(4096))
        if "refused" in answer:  # the worker did nothing and is gone
            raise Unavailable(f"the plot server refused the job: {answer['refused']}")
        code = answer["exit"]
        if type(code) is not int or not 0 <= code <= 255:
            raise TypeError(code)
        return code
    except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
        why = "it stopped" if isinstance(error, EOFError) else f"bad answer {error!r}"
    # A worker may have been plotting: it holds this connection until it exits, so
    # wait until every end is closed before this job writes the same files.
    print(
        f"the plot server gave no valid answer ({why}); waiting until its worker "
        "is gone",
        file=sys.stderr,
    )
    try:
        while True:
            conn.recv_bytes(4096)
    except (OSError, EOFError):
        pass
    raise Unavailable("no worker of the plot server is running this job any more")
