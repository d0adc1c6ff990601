"""The warm plot server: pay Python's start and the NumPy/Matplotlib imports once.

A plot job in a fresh Python process spends ~0.5 s importing NumPy and Matplotlib
before it plots for ~0.6 s: most of what the fan-out could gain. This is what
``multiprocessing``'s "forkserver" start method (and gunicorn's ``--preload``) do about
it: one server process imports once, and every job still gets a process of its own,
forked from the warm server, so ``--cores N`` still plots N stations on N CPUs at once.

- ``snakemake`` starts the server in its ``onstart`` hook (rules/plots.smk) and stops
  it when the run ends; the server also leaves by itself once ``snakemake`` is gone.
  Its address (a Linux abstract socket: no file to clean up) reaches the jobs in the
  ``WEATHERPLOT_PLOT_SERVER`` environment variable.
- A plot job (scripts/plot_station.py) connects, hands over its arguments and its
  stdout/stderr, and waits: the server forks a child that runs :func:`plotjob.run`
  with the job's own output streams, and sends back the child's exit code. If the job
  is killed, its child is killed too.
- Without a server (disabled in the config, another OS, a SLURM job, a software
  deployment method, or a server that went away), the job plots in its own process.

Only the standard library is imported here: a job's client side costs ~30 ms.
"""

from __future__ import annotations

# The job's side imports this module: only what the client needs at the top level
# (the server's own modules are imported where used; ~20 ms less per job).
import contextlib
import json
import os
import socket
import sys
import time

ENV_VAR = "WEATHERPLOT_PLOT_SERVER"
_MAX_REQUEST = 1 << 20


class Unavailable(Exception):
    """No server answered: the job should plot in its own process."""


def supported() -> bool:
    """Abstract sockets, SO_PEERCRED and pidfds are Linux features."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def new_address() -> str:
    """An unguessable abstract-socket name (the server also checks the caller's uid)."""
    import secrets

    return f"weatherplot-plot-server-{os.getpid()}-{secrets.token_hex(8)}"


# ---------------------------------------------------------------------------
# Client: the plot job's process
# ---------------------------------------------------------------------------


def request_plot(address: str, argv: list[str], started: float) -> int:
    """Have the server's forked worker plot for this job; return its exit code.

    Raises :class:`Unavailable` when no server takes the job (then nothing was done
    and the job may plot by itself).
    """
    from .timing import process_start_time, session_id

    request = {
        "argv": list(argv),
        "cwd": os.getcwd(),  # noqa: PTH109 (pathlib is not imported on this side)
        "started": started,
        "process_start": process_start_time(),
        "session": session_id(),
        "pid": os.getpid(),
    }
    payload = json.dumps(request).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect("\0" + address)
        except OSError as error:
            raise Unavailable(f"cannot reach the plot server: {error}") from None
        try:
            # Our stdout and stderr go along: the worker's messages reach the job's
            # streams, which Snakemake shows.
            sent = socket.send_fds(sock, [payload], [1, 2])
            sock.sendall(payload[sent:])
        except OSError:
            pass  # the server hung up (it may have said why): read its answer
        reply = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                reply += chunk
    try:
        answer = json.loads(reply)
    except ValueError:
        # The server went away before answering; it killed the worker first.
        raise Unavailable("the plot server stopped before the plot was done") from None
    if answer.get("refused"):
        raise Unavailable(f"the plot server refused the job: {answer['refused']}")
    return int(answer["exit"])


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------


def warm_up() -> float:
    """Import what a plot needs and draw once (fonts, the Agg renderer); seconds."""
    started = time.perf_counter()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Not the CSV readers: they bring pandas (~0.4 s), which .dly stations never use.
    from . import plotjob, plotting, stations  # noqa: F401
    from .io import ghcnd  # noqa: F401

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


def _peer_uid(conn: socket.socket) -> int:
    import struct

    size = struct.calcsize("3i")
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    return struct.unpack("3i", creds)[1]


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    conn.settimeout(10)
    data, fds, _, _ = socket.recv_fds(conn, 65536, 2)
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > _MAX_REQUEST:
            for fd in fds:
                os.close(fd)
            raise ValueError("incomplete request")
        data += chunk
    conn.settimeout(None)
    return json.loads(data), fds


def _station_id(request: dict) -> str:
    try:
        return str(json.loads(request["argv"][0])["id"])
    except (KeyError, IndexError, TypeError, ValueError):
        return "?"


def _send(conn: socket.socket, answer: dict) -> None:
    with contextlib.suppress(OSError):  # else the job is gone: nobody to tell
        conn.sendall(json.dumps(answer).encode() + b"\n")
    conn.close()


def _child(request: dict, fds: list[int], selector) -> None:
    """In the forked worker: become the job's plot process. Never returns."""
    import signal

    from .joblog import exit_now

    code = 1
    try:
        for key in list(selector.get_map().values()):
            if isinstance(key.fileobj, int):
                os.close(key.fileobj)  # another worker's pidfd
            else:
                key.fileobj.close()  # the listener, other jobs' connections
        selector.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in fds:
            os.close(fd)
        os.chdir(request["cwd"])
        from .plotjob import run

        code = run(
            request["argv"],
            request["started"],
            worker="forked",
            process_start=request["process_start"],
            session=request["session"],
            job_pid=request["pid"],
        )
    except BaseException:  # report anything, then leave
        import traceback

        traceback.print_exc()
    finally:
        exit_now(code)


def serve(
    address: str, parent_pid: int, log=print, ready_fd: int | None = None
) -> None:
    """Accept plot jobs until SIGTERM/SIGINT or until ``parent_pid`` is gone.

    Writes a line to ``ready_fd`` (and closes it) once it accepts connections.
    """
    import gc
    import selectors
    import signal

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + address)
    listener.listen(128)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, ("accept", None))
    # worker pid -> (pidfd, the job's connection, station id)
    workers: dict[int, tuple[int, socket.socket, str]] = {}
    warm = False
    served = 0

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"plot server {os.getpid()} listening (parent {parent_pid})")
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    try:
        while os.getppid() == parent_pid:
            for key, _ in selector.select(timeout=1.0):
                kind, pid = key.data
                if kind == "accept":
                    conn, _ = listener.accept()
                    if _peer_uid(conn) != os.getuid():
                        _send(conn, {"refused": "another user's job"})
                        continue
                    try:
                        request, fds = _read_request(conn)
                    except (OSError, ValueError) as error:
                        log(f"bad request: {error}")
                        conn.close()
                        continue
                    if not warm:
                        log(f"warm-up (imports, first drawing): {warm_up():.2f} s")
                        # Keep the collector off the inherited objects: a collection
                        # in a worker would write to (and so copy) every page holding
                        # them. Measured: plot+save 0.58-0.67 s without, 0.48 s with.
                        gc.freeze()
                        warm = True
                    sys.stdout.flush()
                    sys.stderr.flush()
                    child = os.fork()
                    if child == 0:
                        _child(request, fds, selector)
                    for fd in fds:
                        os.close(fd)
                    pidfd = os.pidfd_open(child)
                    workers[child] = (pidfd, conn, _station_id(request))
                    log(f"worker {child} ({workers[child][2]}) started")
                    selector.register(pidfd, selectors.EVENT_READ, ("worker", child))
                    selector.register(conn, selectors.EVENT_READ, ("job", child))
                elif kind == "worker":
                    pidfd, conn, station = workers.pop(pid)
                    selector.unregister(pidfd)
                    os.close(pidfd)
                    if conn in selector.get_map():  # unless the job is gone
                        selector.unregister(conn)
                    _, status = os.waitpid(pid, 0)
                    code = os.waitstatus_to_exitcode(status)
                    served += 1
                    log(f"worker {pid} ({station}) exited with {code}")
                    _send(conn, {"exit": code if code >= 0 else 128 - code})
                elif kind == "job":
                    # The job's process sends nothing after its request: readable
                    # means it is gone (killed by Snakemake or the user).
                    try:
                        gone = not key.fileobj.recv(1, socket.MSG_PEEK)
                    except OSError:
                        gone = True
                    if gone:
                        log(f"job of worker {pid} is gone: killing the worker")
                        selector.unregister(key.fileobj)
                        os.kill(pid, signal.SIGKILL)
    finally:
        for pid, (_, conn, _) in workers.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            conn.close()
        listener.close()
        log(f"plot server {os.getpid()} stopped after {served} plot(s)")


# ---------------------------------------------------------------------------
# Snakemake's side: start and stop (onstart / onsuccess / onerror hooks)
# ---------------------------------------------------------------------------


class PlotServer:
    """The server process of one ``snakemake`` run."""

    def __init__(self) -> None:
        self.process = None

    def start(self, log_path: str, enabled: bool = True) -> str | None:
        """Start the server if ``enabled`` and possible; publish its address.

        Always (re)sets the environment variable, so a nested ``snakemake`` never
        hands its jobs to an outer run's server. Returns once the server accepts
        connections, so no job finds it missing; if it cannot start, says so and
        returns None (the jobs then plot in fresh processes).
        """
        import select
        import subprocess
        from pathlib import Path

        from .importpath import child_env

        os.environ.pop(ENV_VAR, None)
        if not (enabled and supported()):
            return None
        address = new_address()
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        env = child_env()
        ready, ready_w = os.pipe()
        with open(log_path, "w") as log_file:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "weatherplot.plotserver",
                    address,
                    "--parent",
                    str(os.getpid()),
                    "--ready-fd",
                    str(ready_w),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                pass_fds=(ready_w,),
            )
        os.close(ready_w)
        with os.fdopen(ready, "rb") as ready_file:
            answered = select.select([ready_file], [], [], 60)[0]
            started = bool(answered) and ready_file.readline() == b"ready\n"
        if not started:
            self.stop()
            print(
                f"The plot server did not start (see {log_path}): every plot job "
                "plots in a fresh process.",
                file=sys.stderr,
            )
            return None
        os.environ[ENV_VAR] = address
        return address

    def stop(self) -> None:
        os.environ.pop(ENV_VAR, None)
        if self.process is None:
            return
        import subprocess

        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="abstract socket name (without the NUL)")
    parser.add_argument(
        "--parent", type=int, default=os.getppid(), help="leave when this pid is gone"
    )
    parser.add_argument(
        "--ready-fd", type=int, help="write a line here once accepting connections"
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    serve(args.address, args.parent, log=log, ready_fd=args.ready_fd)


if __name__ == "__main__":
    main()
