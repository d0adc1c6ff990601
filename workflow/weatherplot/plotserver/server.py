"""The warm plot server: pay Python's start and the NumPy/Matplotlib imports once.

One server process per run imports them once and forks up to ``--cores`` workers,
each serving one job after another like a ``multiprocessing.Pool`` worker (a worker
forked per job cost ~125 ms of CPU a job: docs/performance.md). How it works and what
it guarantees: docs/plot-server.md. The job's side is :mod:`.client`, the workers'
:mod:`.worker`, and Snakemake's :mod:`.hooks`, which starts and stops this server.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import io
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from .client import ANSWER_SECONDS, EXIT_PREFIX, JOB_ENV, send_frame
from .worker import LEAVING, REFUSED, log, run_worker

KEY_VAR = "WEATHERPLOT_PLOT_SERVER_KEY"  # the authkey, for the server process only
OWNER_FILE = "owner"  # beside the socket: the run that made its folder (ownedtemp)


def remove_socket(path: str) -> None:
    """Remove the socket, its owner file and their folder, whatever is left of them."""
    for name in (Path(path).name, OWNER_FILE):
        with contextlib.suppress(OSError):
            (Path(path).parent / name).unlink()
    with contextlib.suppress(OSError):
        Path(path).parent.rmdir()


@dataclass(eq=False)  # each worker is itself: found by identity in the idle list
class _Worker:
    """A worker process of the server, and the job it is serving (if any)."""

    pid: int
    pidfd: int
    control: socket.socket  # the server's end: connections out, exit codes in
    job: socket.socket | None = None  # the connection it is serving
    # Killed by the server (its job hung up): never idle again, even if the
    # exit code it sent is read before its pidfd says it is gone.
    killed: bool = False


class _Server:
    """The listener, its epoll and the workers of :func:`main`."""

    def __init__(self, path: str, authkey: bytes, max_workers: int) -> None:
        self.path = path
        self.authkey = authkey
        self.max_workers = max_workers
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # bind fails if the path exists: never take over another socket
        self.listener.bind(path)
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.poller = select.epoll()
        self.poller.register(self.listener, select.EPOLLIN)
        # Every fd the poller watches leads to its worker, and means:
        self.by_pidfd: dict[int, _Worker] = {}  # it exited
        self.by_control: dict[int, _Worker] = {}  # it finished a job
        self.by_job: dict[int, _Worker] = {}  # its job's process is gone
        self.idle: list[_Worker] = []
        self.closing: list = []  # fds and sockets of finished jobs and workers
        # Out of descriptors (accept: EMFILE/ENFILE): the listener is off until a
        # batch closes one or a poll passes quietly (a back-off of a second, not a
        # loop writing the same line); said once per shortage.
        self.starved = False  # the listener is off
        self.shortage = False  # said so, until an accept succeeds
        self.warm = False
        self.plotted = 0  # jobs that ended well
        self.failed = 0  # jobs that failed or were killed (refusals are neither)

    def poll_once(self) -> None:
        """Wait up to a second for events and handle them."""
        busy = len(self.by_pidfd) - len(self.idle)
        accepting = busy < self.max_workers and not self.starved
        self.poller.modify(self.listener, select.EPOLLIN if accepting else 0)
        events = self.poller.poll(1.0)
        for fd, _ in events:
            try:
                self._handle(fd)
            except Exception as error:  # this job alone is refused
                log(f"request failed: {error!r}")
        # Closed only after the batch: a number reused by an accept in this
        # batch would otherwise receive a later event meant for the old fd.
        freed = bool(self.closing)
        while self.closing:
            done = self.closing.pop()
            done.close() if isinstance(done, socket.socket) else os.close(done)
        if self.starved and (freed or not events):
            self.starved = False  # try accept() again (it may say EMFILE again)

    def _handle(self, fd: int) -> None:
        if fd == self.listener.fileno():
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno not in (errno.EMFILE, errno.ENFILE):
                    raise
                if not self.shortage:
                    log(
                        f"accept failed ({error.strerror}): not accepting jobs until "
                        "a descriptor is free (waiting jobs plot by themselves after "
                        f"{ANSWER_SECONDS} s)"
                    )
                self.shortage = self.starved = True
                return
            if self.shortage:
                self.shortage = False
                log("descriptors free again: accepting jobs")
            try:
                self._assign(conn)
            except BaseException:
                conn.close()
                raise
        elif fd in self.by_pidfd:
            self._worker_exited(self.by_pidfd[fd])
        elif fd in self.by_control:
            self._job_finished(self.by_control[fd])
        elif fd in self.by_job:
            # The job's process is gone (killed by Snakemake or the user): so is
            # its worker, wherever it was in the plot.
            worker = self.by_job.pop(fd)
            self.poller.unregister(fd)
            log(f"job of worker {worker.pid} is gone: killing the worker")
            worker.killed = True
            if worker in self.idle:
                self.idle.remove(worker)
            os.kill(worker.pid, signal.SIGKILL)

    def _warm_up(self) -> None:
        """Import what a plot needs and draw once (fonts, the Agg renderer)."""
        self.warm = True
        # One thread, before NumPy loads: OpenBLAS starts a thread per extra CPU
        # at its import, and a fork while another thread runs may deadlock the
        # child (CPython 3.12+ warns). Plot jobs are one-thread jobs anyway.
        os.environ.update({name: "1" for name in JOB_ENV if name.endswith("THREADS")})
        started = time.perf_counter()
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            from .. import plotjob, plotting, stations  # noqa: F401
            from ..io import preload_readers

            # Not the CSV readers: they bring pandas (~0.4 s), which .dly stations
            # never use.
            preload_readers()
            figure = Figure(figsize=(2, 2), dpi=50)
            axes = figure.add_subplot()
            axes.plot([0, 1], [0, 1], label="warm-up")
            axes.set_title("warm-up")
            axes.legend()
            FigureCanvasAgg(figure).print_png(io.BytesIO())
            seconds = time.perf_counter() - started
            log(f"warm-up (imports, first drawing): {seconds:.2f} s")
        except Exception as error:  # the workers import what they need
            log(f"warm-up failed: {error!r}")
        # Keep the collector off the inherited objects: a collection in a
        # worker would write to (and so copy) every page holding them.
        # Measured: plot+save 0.58-0.67 s without, 0.48 s with.
        gc.freeze()

    def _start_worker(self, conn: socket.socket) -> _Worker:
        """Fork a worker for ``conn``'s job (which it then receives like any other)."""
        if not self.warm:
            self._warm_up()
        threads = psutil.Process().num_threads()
        if threads > 1:  # the job plots by itself
            raise RuntimeError(
                f"not forking a worker: {threads} threads run in the server, and a "
                "fork now may deadlock the worker"
            )
        sys.stdout.flush()
        sys.stderr.flush()
        # SEQPACKET: one message per job each way, and EOF when either end is gone.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Not even this job's connection: the worker must hold only the copy it is
        # sent, which it closes when the job is done.
        close = [self.listener.fileno(), self.poller.fileno(), ours.fileno()]
        close.append(conn.fileno())
        for other in self.by_pidfd.values():
            close += [other.pidfd, other.control.fileno()]
            close += [other.job.fileno()] if other.job is not None else []
        # And what this batch retired (closed only after it): a dead worker's pidfd,
        # control socket and job connection, which a child holding them would keep
        # open for its whole life (a refused job would wait that long for its EOF).
        for done in self.closing:
            close.append(done.fileno() if isinstance(done, socket.socket) else done)
        close = list(dict.fromkeys(close))  # the worker closes each fd once
        server = os.getpid()
        stopping = {signal.SIGTERM, signal.SIGINT}
        # No stop() between fork and bookkeeping: the worker is always tracked.
        signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        try:
            child = os.fork()
            if child == 0:
                run_worker(theirs, self.authkey, server, close)
            theirs.close()
            try:
                pidfd = os.pidfd_open(child)
            except OSError:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                ours.close()
                raise
            worker = _Worker(child, pidfd, ours)
            self.by_pidfd[pidfd] = worker
            self.by_control[ours.fileno()] = worker
            self.poller.register(pidfd, select.EPOLLIN)
            self.poller.register(ours, select.EPOLLIN)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
        return worker

    def _assign(self, conn: socket.socket) -> None:
        """Hand the job's connection to an idle worker, or to a new one; the server
        keeps its copy to notice the job going away and to send the job its exit
        code."""
        while self.idle:
            worker = self.idle.pop()
            try:
                socket.send_fds(worker.control, [b"job"], [conn.fileno()])
                break
            except OSError:  # it died idle: its pidfd event retires it
                log(f"worker {worker.pid} is gone: handing the job to another")
        else:  # (if a new worker fails too, the job plots by itself)
            worker = self._start_worker(conn)
            socket.send_fds(worker.control, [b"job"], [conn.fileno()])
        worker.job = conn
        self.by_job[conn.fileno()] = worker
        # Only a hang-up: bytes the job sends after its request wake nobody.
        self.poller.register(conn, select.EPOLLRDHUP)

    def _job_finished(self, worker: _Worker) -> None:
        """The worker says how its job ended; it waits for the next one."""
        code, leaving = _read_code(worker.control)
        if code is not None:
            self._answer(worker, code)
        if leaving:  # its pidfd event follows
            self.poller.unregister(worker.control)
            del self.by_control[worker.control.fileno()]
        elif code is not None and not worker.killed:
            self.idle.append(worker)

    def _answer(self, worker: _Worker, code: int) -> None:
        conn, worker.job = worker.job, None
        if conn is None:
            return
        if self.by_job.pop(conn.fileno(), None) is not None:  # else unregistered
            self.poller.unregister(conn)
        if code != REFUSED:
            if code == 0:
                self.plotted += 1
            else:
                self.failed += 1
            log(f"worker {worker.pid} finished a job with exit code {code}")
            with contextlib.suppress(OSError):  # a job that is gone hears nothing
                send_frame(conn, EXIT_PREFIX + str(code).encode())
        self.closing.append(conn)

    def _worker_exited(self, worker: _Worker) -> None:
        del self.by_pidfd[worker.pidfd]
        self.poller.unregister(worker.pidfd)
        self.closing.append(worker.pidfd)
        if worker in self.idle:
            self.idle.remove(worker)
        try:
            # A code it sent before leaving (it leaves after an unexpected error).
            code, _ = _read_code(worker.control)
            _, status = os.waitpid(worker.pid, 0)
            if code is None:
                code = os.waitstatus_to_exitcode(status)
                code = code if code >= 0 else 128 - code
                log(f"worker {worker.pid} exited with {code}")
            self._answer(worker, code)
        finally:
            if self.by_control.pop(worker.control.fileno(), None) is not None:
                self.poller.unregister(worker.control)
            self.closing.append(worker.control)

    def close(self) -> None:
        """Kill the workers, close the listener, remove the socket (before exit)."""
        for worker in self.by_pidfd.values():  # (their fds close as this exits)
            os.kill(worker.pid, signal.SIGKILL)
            os.waitpid(worker.pid, 0)
        self.listener.close()
        remove_socket(self.path)
        failed = f", {self.failed} job(s) failed or killed" if self.failed else ""
        log(f"plot server {os.getpid()} stopped after {self.plotted} plot(s){failed}")


def _read_code(control: socket.socket) -> tuple[int | None, bool]:
    """A worker's message: (exit code of the job it finished, whether it is leaving).

    (None, True) once it has closed its end; (None, False) if it sent nothing yet.
    """
    try:
        message = control.recv(32, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None, False
    except OSError:
        return None, True
    if not message:
        return None, True
    code, _, leaving = message.partition(b" ")
    return int(code), leaving == LEAVING


def main(argv=None) -> None:
    """Accept plot jobs until SIGTERM/SIGINT or until the ``--parent`` is gone."""
    parser = argparse.ArgumentParser(
        prog="python -m weatherplot.plotserver", description=__doc__.splitlines()[0]
    )
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

    def stop(signum, frame):
        raise SystemExit(0)

    server = _Server(args.path, bytes.fromhex(authkey), max(1, args.max_workers))
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"plot server {os.getpid()} listening on {args.path} (parent {args.parent})")
    try:
        # Inside the try: a stop right after "ready" still closes (and logs).
        if args.ready_fd is not None:
            os.write(args.ready_fd, b"ready\n")
            os.close(args.ready_fd)
        while os.getppid() == args.parent:
            server.poll_once()
    finally:
        server.close()
