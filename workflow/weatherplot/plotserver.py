"""The warm plot server: pay Python's start and the NumPy/Matplotlib imports once.

A plot job in a fresh Python process spends ~0.5 s importing NumPy and Matplotlib
before it plots for ~0.6 s: most of what the fan-out could gain. This is what
``multiprocessing``'s "forkserver" start method (and gunicorn's ``--preload``) do about
it: one server process imports once, and every job still gets a process of its own,
forked from the warm server, so ``--cores N`` still plots N stations on N CPUs at once.

- ``snakemake`` starts the server in its ``onstart`` hook and stops it when the run
  ends; the server also leaves by itself once ``snakemake`` is gone, and its workers
  die with it (``PR_SET_PDEATHSIG``).
- Transport: the standard library's. A filesystem socket in a private directory
  (mode 0700: no other user can connect or squat it), ``multiprocessing.connection``
  with a random authkey (mutual HMAC challenge), ``multiprocessing.reduction.sendfds``
  for the job's stdout/stderr. The address, the server's pid and the key reach the
  jobs in the ``WEATHERPLOT_PLOT_SERVER`` environment variable.
- A plot job (scripts/plot_station.py) connects, checks by ``SO_PEERCRED`` that the
  listener is the server of its run (pid, uid), authenticates both ways, and only then
  sends its arguments and stdout/stderr. The server forks a worker on ``accept`` and
  goes back to waiting: the worker reads the request (bounded in time and size),
  accepts only a job of this run (same working directory, outputs under
  ``results/``, ``logs/``, ``benchmarks/``, a valid station id), runs
  :func:`plotjob.run` with the job's streams and thread/temp-dir environment, and the
  server sends back its exit code. At most ``--cores`` workers exist at once. If the
  job is killed, its worker is killed too.
- Without a server (disabled in the config, another OS, SLURM, a software deployment
  method, or a server that went away before taking the job), the job plots in its own
  process. Once a worker took the job, the job never plots a second time while that
  worker may still write: the worker holds the job's connection until it exits, so
  the job waits for the connection to close before it plots by itself.
"""

from __future__ import annotations

# The job's side imports this module: only what the client needs at the top level
# (the server's own modules are imported where used).
import json
import os
import socket
import sys
import time

ENV_VAR = "WEATHERPLOT_PLOT_SERVER"  # "PID:AUTHKEY_HEX:SOCKET_PATH", for the jobs
_KEY_VAR = "WEATHERPLOT_PLOT_SERVER_KEY"  # the authkey, for the server process only
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
OUTPUT_DIRS = ("results", "logs", "benchmarks")
REQUEST_SECONDS = 10  # a worker waits this long at most for its job's request
ANSWER_SECONDS = 60  # a job waits this long at most for the server to take it
MAX_REQUEST = 64 * 1024
REFUSED = 75  # a worker's exit code: refused the job before doing anything


class Unavailable(Exception):
    """No worker took the job, or none can still write: plot in this process."""


def supported() -> bool:
    """Linux with working pidfds (a real probe: a kernel may answer ENOSYS)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_PEERCRED"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def _peer(sock: socket.socket) -> tuple[int, int]:
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


# ---------------------------------------------------------------------------
# Client: the plot job's process
# ---------------------------------------------------------------------------


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
            if _peer(sock) != (server_pid, os.getuid()):
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


class Refused(Exception):
    """A request this server does not run (another run's, or outside the workflow)."""


def check_request(request: object, root: str) -> dict:
    """The request if it is a plot job of the run in ``root``; else :class:`Refused`."""
    import posixpath
    import re
    from pathlib import Path

    from .stations import STATION_ID_PATTERN  # the schema's

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


def _libc():
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


def _worker(
    sock: socket.socket, authkey: bytes, server: int, close: list[int], libc
) -> None:
    """In the forked worker: take one job's request and plot it. Never returns."""
    import signal

    from .joblog import exit_now

    code = 1
    try:
        _die_with_parent(server, libc)
        for fd in close:  # the listener, epoll, other jobs' connections and pidfds
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        code = _take_job(sock, authkey)
    except BaseException:  # report anything, then leave
        import traceback

        traceback.print_exc()
    finally:
        exit_now(code)


def _take_job(sock: socket.socket, authkey: bytes) -> int:
    import contextlib
    import signal
    import tempfile
    from multiprocessing.connection import (
        Connection,
        answer_challenge,
        deliver_challenge,
    )
    from multiprocessing.reduction import recvfds

    def too_slow(signum, frame):
        raise TimeoutError(f"no complete request within {REQUEST_SECONDS} s")

    # This connection stays open in this process until it exits: the job knows that
    # no worker writes for it once the connection is closed.
    conn = Connection(os.dup(sock.fileno()))
    job_pid, _ = _peer(sock)
    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(REQUEST_SECONDS)
    try:
        deliver_challenge(conn, authkey)
        answer_challenge(conn, authkey)
        data = conn.recv_bytes(MAX_REQUEST)
        fds = recvfds(sock, 2)
        signal.alarm(0)
        request = check_request(json.loads(data), os.getcwd())  # noqa: PTH109
    except Exception as error:  # nothing done: say why if the job still listens
        signal.alarm(0)
        _log(f"worker {os.getpid()} refused job {job_pid}: {error!r}")
        if isinstance(error, Refused):
            with contextlib.suppress(OSError):
                conn.send_bytes(json.dumps({"refused": str(error)}).encode())
        return REFUSED
    argv = request["argv"]
    _log(f"worker {os.getpid()} ({json.loads(argv[0])['id']}) started")
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in fds:
        os.close(fd)
    for name in JOB_ENV:  # the job's, not the server's
        if name in request["env"]:
            os.environ[name] = request["env"][name]
        else:
            os.environ.pop(name, None)
    tempfile.tempdir = None
    from .plotjob import run
    from .timing import process_start_time

    # The session (which snakemake run) is the worker's own: its server's parent.
    return run(
        argv,
        request["started"],
        worker="forked",
        process_start=process_start_time(job_pid),
        job_pid=job_pid,
    )


def serve(
    path: str,
    parent_pid: int,
    authkey: bytes,
    max_workers: int = 1,
    log=print,
    ready_fd: int | None = None,
) -> None:
    """Accept plot jobs until SIGTERM/SIGINT or until ``parent_pid`` is gone.

    Writes a line to ``ready_fd`` (and closes it) once it accepts connections.
    """
    import gc

    # Imported before any fork, so the workers find them warm.
    import multiprocessing.connection
    import multiprocessing.reduction  # noqa: F401
    import select
    import signal

    libc = _libc()  # ctypes costs a worker ~10 ms if it loads it itself
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)  # fails if the path exists: never take over another socket
    listener.listen(128)
    listener.setblocking(False)
    poller = select.epoll()
    poller.register(listener, select.EPOLLIN)
    # pidfd -> (worker pid, the job's connection); connection fd -> worker pid
    workers: dict[int, tuple[int, socket.socket]] = {}
    jobs: dict[int, int] = {}
    closing: list = []  # pidfds and connections of finished workers
    accepting = True
    warm = False
    served = 0
    stopping = {signal.SIGTERM, signal.SIGINT}

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def start_worker(conn: socket.socket) -> None:
        nonlocal warm
        if not warm:
            warm = True
            try:
                log(f"warm-up (imports, first drawing): {warm_up():.2f} s")
            except Exception as error:  # the workers import what they need
                log(f"warm-up failed: {error!r}")
            # Keep the collector off the inherited objects: a collection in a
            # worker would write to (and so copy) every page holding them.
            # Measured: plot+save 0.58-0.67 s without, 0.48 s with.
            gc.freeze()
        sys.stdout.flush()
        sys.stderr.flush()
        close = [listener.fileno(), poller.fileno(), *workers]
        close += [c.fileno() for _, c in workers.values()]
        server = os.getpid()
        # No stop() between fork and bookkeeping: the worker is always tracked.
        signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        try:
            child = os.fork()
            if child == 0:
                _worker(conn, authkey, server, close, libc)
            try:
                pidfd = os.pidfd_open(child)
            except OSError:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                raise
            workers[pidfd] = (child, conn)
            jobs[conn.fileno()] = pidfd
            poller.register(pidfd, select.EPOLLIN)
            # Only a hang-up: bytes the job sends after its request wake nobody.
            poller.register(conn, select.EPOLLRDHUP)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)

    def finish_worker(pidfd: int) -> None:
        nonlocal served
        pid, conn = workers.pop(pidfd)
        poller.unregister(pidfd)
        closing.append(pidfd)
        try:
            if jobs.pop(conn.fileno(), None) is not None:  # else already unregistered
                poller.unregister(conn)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != REFUSED:
                served += 1
                log(f"worker {pid} exited with {code}")
                _reply(conn, {"exit": code if code >= 0 else 128 - code})
        finally:
            closing.append(conn)

    log(f"plot server {os.getpid()} listening on {path} (parent {parent_pid})")
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    try:
        while os.getppid() == parent_pid:
            if accepting != (len(workers) < max_workers):
                accepting = not accepting
                poller.modify(listener, select.EPOLLIN if accepting else 0)
            for fd, _ in poller.poll(1.0):
                try:
                    if fd == listener.fileno():
                        try:
                            conn, _ = listener.accept()
                        except BlockingIOError:
                            continue
                        try:
                            start_worker(conn)
                        except BaseException:
                            conn.close()
                            raise
                    elif fd in workers:
                        finish_worker(fd)
                    elif fd in jobs:
                        # The job's process is gone (killed by Snakemake or the
                        # user): so is its worker.
                        pid, conn = workers[jobs[fd]]
                        log(f"job of worker {pid} is gone: killing the worker")
                        poller.unregister(conn)
                        del jobs[fd]
                        os.kill(pid, signal.SIGKILL)
                except Exception as error:  # this job alone is refused
                    log(f"request failed: {error!r}")
            # Closed only after the batch: a number reused by an accept in this
            # batch would otherwise receive a later event meant for the old fd.
            while closing:
                done = closing.pop()
                done.close() if isinstance(done, socket.socket) else os.close(done)
    finally:
        for pidfd, (pid, conn) in workers.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(pidfd)
            conn.close()
        listener.close()
        _remove_socket(path)
        log(f"plot server {os.getpid()} stopped after {served} plot(s)")


def _log(message: str) -> None:
    """A line in the server's log (a worker's stdout, until it takes the job's)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _reply(conn: socket.socket, answer: dict) -> None:
    from multiprocessing.connection import Connection

    reply = Connection(os.dup(conn.fileno()))
    try:
        reply.send_bytes(json.dumps(answer).encode())
    except OSError:
        pass  # the job is gone: nobody to tell
    finally:
        reply.close()


def _remove_socket(path: str) -> None:
    import contextlib
    from pathlib import Path

    with contextlib.suppress(OSError):
        Path(path).unlink()
    with contextlib.suppress(OSError):
        Path(path).parent.rmdir()


# ---------------------------------------------------------------------------
# Snakemake's side: start and stop (onstart / onsuccess / onerror hooks)
# ---------------------------------------------------------------------------


class PlotServer:
    """The server process of one ``snakemake`` run."""

    def __init__(self) -> None:
        self.process = None
        self.path: str | None = None

    def start(
        self, log_path: str, enabled: bool = True, cores: int | None = None
    ) -> str | None:
        """Start the server if ``enabled`` and possible; publish its address.

        Always (re)sets the environment variable, so a nested ``snakemake`` never
        hands its jobs to an outer run's server. Returns once the server accepts
        connections, so no job finds it missing; if it cannot start, says so and
        returns None (the jobs then plot in fresh processes). ``cores`` caps the
        workers (Snakemake's ``--cores``).
        """
        import secrets
        import select
        import subprocess
        import tempfile
        from pathlib import Path

        from .importpath import child_env

        os.environ.pop(ENV_VAR, None)
        # Inside a SLURM allocation the jobs never use a server (scripts/plot_station).
        if not (enabled and supported()) or os.environ.get("SLURM_JOB_ID"):
            return None
        directory = Path(tempfile.mkdtemp(prefix="weatherplot-plot-server-"))  # 0700
        if len(str(directory)) > 90:  # AF_UNIX paths hold 107 bytes
            directory.rmdir()
            directory = Path(tempfile.mkdtemp(prefix="wpps-", dir="/tmp"))
        self.path = str(directory / "socket")
        authkey = secrets.token_bytes(32)
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        env = child_env()
        env[_KEY_VAR] = authkey.hex()  # not on the command line: /proc/PID/cmdline
        ready, ready_w = os.pipe()
        command = [sys.executable, "-m", "weatherplot.plotserver", self.path]
        command += ["--parent", str(os.getpid()), "--ready-fd", str(ready_w)]
        command += ["--max-workers", str(max(1, cores or os.cpu_count() or 1))]
        with open(log_path, "w") as log_file:
            self.process = subprocess.Popen(
                command,
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
        address = f"{self.process.pid}:{authkey.hex()}:{self.path}"
        os.environ[ENV_VAR] = address
        return address

    def stop(self) -> None:
        os.environ.pop(ENV_VAR, None)
        if self.process is not None:
            import subprocess

            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.path is not None:
            _remove_socket(self.path)
            self.path = None


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="socket path, in a directory of mode 0700")
    parser.add_argument(
        "--parent", type=int, default=os.getppid(), help="leave when this pid is gone"
    )
    parser.add_argument(
        "--ready-fd", type=int, help="write a line here once accepting connections"
    )
    parser.add_argument(
        "--max-workers", type=int, default=1, help="at most this many plots at once"
    )
    args = parser.parse_args(argv)
    authkey = os.environ.pop(_KEY_VAR, "")
    if not authkey:
        parser.error(f"the authkey must be in the environment variable {_KEY_VAR}")

    serve(
        args.path,
        args.parent,
        bytes.fromhex(authkey),
        max_workers=max(1, args.max_workers),
        log=_log,
        ready_fd=args.ready_fd,
    )


if __name__ == "__main__":
    main()
