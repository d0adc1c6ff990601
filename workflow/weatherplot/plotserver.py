"""The warm plot server: pay Python's start and the NumPy/Matplotlib imports once.

A plot job in a fresh Python process spends ~0.5 s importing NumPy and Matplotlib
before it plots for ~0.6 s: most of what the fan-out could gain. This is what
``multiprocessing``'s "forkserver" start method (and gunicorn's ``--preload``) do about
it: one server process imports once, and every job still gets a process of its own,
forked from the warm server, so ``--cores N`` still plots N stations on N CPUs at once.

- ``snakemake`` starts the server in its ``onstart`` hook and stops it when the run
  ends; the server also leaves by itself once ``snakemake`` is gone, and its workers
  die with it (``PR_SET_PDEATHSIG``).
- Transport: a filesystem socket in a private directory (mode 0700: no other user can
  connect or squat it), the job's stdout/stderr passed as fds (``SCM_RIGHTS``), and
  a random per-run key. The address, the server's pid and the key reach the jobs in
  the ``WEATHERPLOT_PLOT_SERVER`` environment variable. The wire format is in
  :mod:`weatherplot.plotclient`, kept to built-in modules so a job's process is cheap.
- A plot job (scripts/plot_station.py) connects and checks by ``SO_PEERCRED`` that the
  listener is the server of its run (pid, uid): only then does it send the key, its
  arguments and stdout/stderr. The server forks a worker on ``accept`` and
  goes back to waiting: the worker reads the request (bounded in time and size),
  accepts only a job of this run (the run's key, same working directory, outputs
  under ``results/`` or ``logs/``, a valid station id), runs
  :func:`plotjob.run` with the job's streams and thread/temp-dir environment, and the
  server sends back its exit code. At most ``--cores`` workers exist at once. If the
  job is killed, its worker is killed too.
- Without a server (disabled in the config, another OS, SLURM, a software deployment
  method, or a server that went away before taking the job), the job plots in its own
  process. Once a worker took the job, the job never plots a second time while that
  worker may still write: the worker holds the job's connection until it exits, so
  the job waits for the connection to close before it plots by itself.

The code is split by side: :mod:`weatherplot.plotclient` (the job's, imported by every
plot job, so kept small), this module (the server's loop), :mod:`weatherplot.plotworker`
(request checks, the forked worker) and :mod:`weatherplot.plothooks` (Snakemake's hooks
start and stop the server). The names other code uses are re-exported here.
"""

from __future__ import annotations

import os
import socket
import sys

from .plotclient import (  # noqa: F401 (re-exported)
    ANSWER_SECONDS,
    ENV_VAR,
    JOB_ENV,
    Unavailable,
    parse_address,
    request_plot,
)
from .plothooks import KEY_VAR, PlotServer, remove_socket, supported  # noqa: F401
from .plotworker import (  # noqa: F401 (re-exported)
    MAX_REQUEST,
    OUTPUT_DIRS,
    REFUSED,
    REQUEST_SECONDS,
    Refused,
    check_request,
    load_libc,
    log,
    run_worker,
    warm_up,
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
    # Imported before any fork, so the workers find them warm.
    import hmac  # noqa: F401  (the workers check the key with it)
    import signal

    def stop(signum, frame):
        raise SystemExit(0)

    server = _Server(path, authkey, max_workers, log)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"plot server {os.getpid()} listening on {path} (parent {parent_pid})")
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    try:
        while os.getppid() == parent_pid:
            server.poll_once()
    finally:
        server.close()


class _Server:
    """The listener, its epoll and the running workers of :func:`serve`."""

    def __init__(self, path: str, authkey: bytes, max_workers: int, log) -> None:
        import select

        self.path = path
        self.authkey = authkey
        self.max_workers = max_workers
        self.log = log
        self.libc = load_libc()  # ctypes costs a worker ~10 ms if it loads it itself
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # bind fails if the path exists: never take over another socket
        self.listener.bind(path)
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.poller = select.epoll()
        self.poller.register(self.listener, select.EPOLLIN)
        # pidfd -> (worker pid, the job's connection); connection fd -> worker pid
        self.workers: dict[int, tuple[int, socket.socket]] = {}
        self.jobs: dict[int, int] = {}
        self.closing: list = []  # pidfds and connections of finished workers
        self.accepting = True
        self.warm = False
        self.served = 0

    def poll_once(self) -> None:
        """Wait up to a second for events and handle them."""
        import select

        if self.accepting != (len(self.workers) < self.max_workers):
            self.accepting = not self.accepting
            self.poller.modify(self.listener, select.EPOLLIN if self.accepting else 0)
        for fd, _ in self.poller.poll(1.0):
            try:
                self._handle(fd)
            except Exception as error:  # this job alone is refused
                self.log(f"request failed: {error!r}")
        # Closed only after the batch: a number reused by an accept in this
        # batch would otherwise receive a later event meant for the old fd.
        while self.closing:
            done = self.closing.pop()
            done.close() if isinstance(done, socket.socket) else os.close(done)

    def _handle(self, fd: int) -> None:
        import signal

        if fd == self.listener.fileno():
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            try:
                self._start_worker(conn)
            except BaseException:
                conn.close()
                raise
        elif fd in self.workers:
            self._finish_worker(fd)
        elif fd in self.jobs:
            # The job's process is gone (killed by Snakemake or the
            # user): so is its worker.
            pid, conn = self.workers[self.jobs[fd]]
            self.log(f"job of worker {pid} is gone: killing the worker")
            self.poller.unregister(conn)
            del self.jobs[fd]
            os.kill(pid, signal.SIGKILL)

    def _warm_up(self) -> None:
        import gc

        self.warm = True
        try:
            self.log(f"warm-up (imports, first drawing): {warm_up():.2f} s")
        except Exception as error:  # the workers import what they need
            self.log(f"warm-up failed: {error!r}")
        # Keep the collector off the inherited objects: a collection in a
        # worker would write to (and so copy) every page holding them.
        # Measured: plot+save 0.58-0.67 s without, 0.48 s with.
        gc.freeze()

    def _start_worker(self, conn: socket.socket) -> None:
        import select
        import signal

        if not self.warm:
            self._warm_up()
        sys.stdout.flush()
        sys.stderr.flush()
        close = [self.listener.fileno(), self.poller.fileno(), *self.workers]
        close += [c.fileno() for _, c in self.workers.values()]
        server = os.getpid()
        stopping = {signal.SIGTERM, signal.SIGINT}
        # No stop() between fork and bookkeeping: the worker is always tracked.
        signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        try:
            child = os.fork()
            if child == 0:
                run_worker(conn, self.authkey, server, close, self.libc)
            try:
                pidfd = os.pidfd_open(child)
            except OSError:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                raise
            self.workers[pidfd] = (child, conn)
            self.jobs[conn.fileno()] = pidfd
            self.poller.register(pidfd, select.EPOLLIN)
            # Only a hang-up: bytes the job sends after its request wake nobody.
            self.poller.register(conn, select.EPOLLRDHUP)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)

    def _finish_worker(self, pidfd: int) -> None:
        pid, conn = self.workers.pop(pidfd)
        self.poller.unregister(pidfd)
        self.closing.append(pidfd)
        try:
            if self.jobs.pop(conn.fileno(), None) is not None:  # else unregistered
                self.poller.unregister(conn)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != REFUSED:
                self.served += 1
                self.log(f"worker {pid} exited with {code}")
                _reply(conn, code if code >= 0 else 128 - code)
        finally:
            self.closing.append(conn)

    def close(self) -> None:
        """Kill the running workers, close the listener, remove the socket."""
        import signal

        for pidfd, (pid, conn) in self.workers.items():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(pidfd)
            conn.close()
        self.listener.close()
        remove_socket(self.path)
        self.log(f"plot server {os.getpid()} stopped after {self.served} plot(s)")


def _reply(conn: socket.socket, code: int) -> None:
    import contextlib

    from .plotclient import EXIT_PREFIX, send_frame

    with contextlib.suppress(OSError):  # if the job is gone, there is nobody to tell
        send_frame(conn, EXIT_PREFIX + str(code).encode())


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
    authkey = os.environ.pop(KEY_VAR, "")
    if not authkey:
        parser.error(f"the authkey must be in the environment variable {KEY_VAR}")

    serve(
        args.path,
        args.parent,
        bytes.fromhex(authkey),
        max_workers=max(1, args.max_workers),
        log=log,
        ready_fd=args.ready_fd,
    )


if __name__ == "__main__":
    main()
