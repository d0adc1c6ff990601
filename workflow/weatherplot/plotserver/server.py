"""The warm plot server: pay Python's start and the NumPy/Matplotlib imports once.

A plot job in a fresh Python process spends ~0.5 s importing NumPy and Matplotlib
before it plots for ~0.6 s: most of what the fan-out could gain. One server process
per run imports once and forks up to ``--cores`` workers from that warm state; each
worker serves one job after another, like a ``multiprocessing.Pool`` worker, so
``--cores N`` still plots N stations on N CPUs at once. (A worker forked for each job,
as ``multiprocessing``'s "forkserver" does, cost ~125 ms of CPU per job: the child
copies every page it writes to, and CPython writes reference counts on every object
it touches. docs/performance.md has the measurements.)

- ``snakemake`` starts the server in its ``onstart`` hook and stops it when the run
  ends; the server also leaves by itself once ``snakemake`` is gone, and its workers
  die with it (``PR_SET_PDEATHSIG``).
- Transport: a filesystem socket in a private directory (mode 0700: no other user can
  connect or squat it), the job's stdout/stderr passed as fds (``SCM_RIGHTS``), and
  a random per-run key. The address, the server's pid and the key reach the jobs in
  the ``WEATHERPLOT_PLOT_SERVER`` environment variable. The wire format is in
  :mod:`.client`, kept to built-in modules so a job's process is cheap.
- A plot job (scripts/plot_station.py) connects and checks by ``SO_PEERCRED`` that the
  listener is the server of its run (pid, uid): only then does it send the key, its
  arguments and stdout/stderr. The server hands each accepted connection to an idle
  worker over the worker's control socket (forking one if fewer than ``--cores``
  exist) and goes back to waiting: the worker reads the request (bounded in time and
  size), accepts only a job of this run (the run's key, same working directory,
  outputs under ``results/`` or ``logs/``, a valid station id), runs
  :func:`plotjob.run` with the job's streams and thread/temp-dir environment, gives
  the streams back, closes the job's connection and reports the exit code, which the
  server sends to the job. At most ``--cores`` jobs are served at once. If the job is
  killed, its worker is killed too (a new one is forked when needed); a job that ends
  in an unexpected error (not a station's bad data) retires its worker.
- The server runs one thread (NumPy's BLAS is told so before it loads): a fork
  while another thread runs may deadlock the child (CPython 3.12+ warns). Should
  one run, no worker is forked and the job plots by itself.
- Without a server (disabled in the config, another OS, SLURM, a software deployment
  method, or a server that went away before taking the job), the job plots in its own
  process. Once a worker took the job, the job never plots a second time while that
  worker may still write: the worker holds the job's connection until the job is
  done (or it dies), so the job waits for the connection to close before it plots by
  itself.

The code is split by side: :mod:`.client` (the job's, imported by every plot job, so
kept small), this module (the server's loop), :mod:`.worker` (request checks, the
workers) and :mod:`.hooks` (Snakemake's hooks start and stop the server).
"""

from __future__ import annotations

import errno
import os
import socket
import sys

from .client import ANSWER_SECONDS, JOB_ENV
from .hooks import KEY_VAR, remove_socket
from .worker import LEAVING, REFUSED, load_libc, log, run_worker, warm_up

# The thread pools' sizes, read when NumPy loads its BLAS.
BLAS_THREADS = [name for name in JOB_ENV if name.endswith("_THREADS")]


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
    try:
        # Inside the try: a stop right after "ready" still closes (and logs).
        if ready_fd is not None:
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
        while os.getppid() == parent_pid:
            server.poll_once()
    finally:
        server.close()


class _Worker:
    """A worker process of the server, and the job it is serving (if any)."""

    def __init__(self, pid: int, pidfd: int, control: socket.socket) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.control = control  # the server's end: connections out, exit codes in
        self.job: socket.socket | None = None  # the connection it is serving
        # Killed by the server (its job hung up): never idle again, even if the
        # exit code it sent is read before its pidfd says it is gone.
        self.killed = False


class _Server:
    """The listener, its epoll and the workers of :func:`serve`."""

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
        # Every fd the poller watches leads to its worker: its pidfd (it exited),
        # its control socket (it finished a job), its job's connection (the job is
        # gone).
        self.by_pidfd: dict[int, _Worker] = {}
        self.by_control: dict[int, _Worker] = {}
        self.by_job: dict[int, _Worker] = {}
        self.idle: list[_Worker] = []
        self.closing: list = []  # fds and sockets of finished jobs and workers
        self.accepting = True
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
        import select

        busy = len(self.by_pidfd) - len(self.idle)
        if self.accepting != (busy < self.max_workers and not self.starved):
            self.accepting = not self.accepting
            self.poller.modify(self.listener, select.EPOLLIN if self.accepting else 0)
        events = self.poller.poll(1.0)
        for fd, _ in events:
            try:
                self._handle(fd)
            except Exception as error:  # this job alone is refused
                self.log(f"request failed: {error!r}")
        # Closed only after the batch: a number reused by an accept in this
        # batch would otherwise receive a later event meant for the old fd.
        freed = bool(self.closing)
        while self.closing:
            done = self.closing.pop()
            done.close() if isinstance(done, socket.socket) else os.close(done)
        if self.starved and (freed or not events):
            self.starved = False  # try accept() again (it may say EMFILE again)

    def _handle(self, fd: int) -> None:
        import signal

        if fd == self.listener.fileno():
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno not in (errno.EMFILE, errno.ENFILE):
                    raise
                if not self.shortage:
                    self.log(
                        f"accept failed ({error.strerror}): not accepting jobs until "
                        "a descriptor is free (waiting jobs plot by themselves after "
                        f"{ANSWER_SECONDS} s)"
                    )
                self.shortage = self.starved = True
                return
            if self.shortage:
                self.shortage = False
                self.log("descriptors free again: accepting jobs")
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
            self.log(f"job of worker {worker.pid} is gone: killing the worker")
            worker.killed = True
            if worker in self.idle:
                self.idle.remove(worker)
            os.kill(worker.pid, signal.SIGKILL)

    def _warm_up(self) -> None:
        import gc

        self.warm = True
        # One thread, before NumPy loads: OpenBLAS starts a thread per extra CPU
        # at its import, and a fork while another thread runs may deadlock the
        # child (CPython 3.12+ warns). Plot jobs are one-thread jobs anyway.
        os.environ.update(dict.fromkeys(BLAS_THREADS, "1"))
        try:
            self.log(f"warm-up (imports, first drawing): {warm_up():.2f} s")
        except Exception as error:  # the workers import what they need
            self.log(f"warm-up failed: {error!r}")
        # Keep the collector off the inherited objects: a collection in a
        # worker would write to (and so copy) every page holding them.
        # Measured: plot+save 0.58-0.67 s without, 0.48 s with.
        gc.freeze()

    def _start_worker(self, conn: socket.socket) -> _Worker:
        """Fork a worker for ``conn``'s job (which it then receives like any other)."""
        import select
        import signal

        if not self.warm:
            self._warm_up()
        import psutil

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
                run_worker(theirs, self.authkey, server, close, self.libc)
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
        import select

        while self.idle:
            worker = self.idle.pop()
            try:
                socket.send_fds(worker.control, [b"job"], [conn.fileno()])
                break
            except OSError:  # it died idle: its pidfd event retires it
                self.log(f"worker {worker.pid} is gone: handing the job to another")
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
            self.log(f"worker {worker.pid} finished a job with exit code {code}")
            _reply(conn, code)
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
                self.log(f"worker {worker.pid} exited with {code}")
            self._answer(worker, code)
        finally:
            if self.by_control.pop(worker.control.fileno(), None) is not None:
                self.poller.unregister(worker.control)
            self.closing.append(worker.control)

    def close(self) -> None:
        """Kill the workers, close the listener, remove the socket."""
        import signal

        for worker in self.by_pidfd.values():
            os.kill(worker.pid, signal.SIGKILL)
            os.waitpid(worker.pid, 0)
            os.close(worker.pidfd)
            worker.control.close()
            if worker.job is not None:
                worker.job.close()
        self.listener.close()
        remove_socket(self.path)
        failed = f", {self.failed} job(s) failed or killed" if self.failed else ""
        self.log(
            f"plot server {os.getpid()} stopped after {self.plotted} plot(s){failed}"
        )


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


def _reply(conn: socket.socket, code: int) -> None:
    import contextlib

    from .client import EXIT_PREFIX, send_frame

    with contextlib.suppress(OSError):  # if the job is gone, there is nobody to tell
        send_frame(conn, EXIT_PREFIX + str(code).encode())


def main(argv=None) -> None:
    import argparse

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

    serve(
        args.path,
        args.parent,
        bytes.fromhex(authkey),
        max_workers=max(1, args.max_workers),
        log=log,
        ready_fd=args.ready_fd,
    )
