"""Snakemake's side of the warm plot server: its run hooks (rules/plots.smk) start
and stop the server of one run with :class:`PlotServer`."""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..importpath import child_env
from ..ownedtemp import stale_dirs, write_owner
from .client import ENV_VAR

SOCKET_PREFIXES = ("weatherplot-plot-server-", "wpps-")


def _server():
    """The server's module, imported only where a server starts: it imports the
    worker's Linux-only modules (resource), and every platform's Snakefile imports
    this one."""
    from . import server

    return server


def supported() -> bool:
    """Linux with working pidfds (a real probe: a kernel may answer ENOSYS)."""
    try:  # (an AttributeError off Linux)
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def remove_stale_socket_dirs() -> list[str]:
    """Remove the socket folders of killed runs (SIGKILL runs no stop hook): only
    folders of ours whose owner is surely gone (:mod:`weatherplot.ownedtemp`)."""
    removed = []
    server = _server()
    for directory in stale_dirs(SOCKET_PREFIXES, server.OWNER_FILE):
        server.remove_socket(str(directory / "socket"))
        if not directory.exists():
            removed.append(str(directory))
    return removed


def _socket_path() -> str:
    """A socket path in a new private folder (mkdtemp: mode 0700), with an owner
    file by which a later run can tell it stale."""
    directory = Path(tempfile.mkdtemp(prefix=SOCKET_PREFIXES[0]))
    if len(str(directory)) > 90:  # AF_UNIX paths hold 107 bytes
        directory.rmdir()
        directory = Path(tempfile.mkdtemp(prefix=SOCKET_PREFIXES[1], dir="/tmp"))
    write_owner(directory, _server().OWNER_FILE)
    return str(directory / "socket")


class PlotServer:
    """The server process of one ``snakemake`` run."""

    def __init__(self) -> None:
        self.process = None
        self.path: str | None = None

    def start(
        self, log_path: str, enabled: bool = True, cores: int | None = None
    ) -> str | None:
        """Start the server (at most ``cores`` workers) if ``enabled`` and possible,
        and publish its address once it accepts connections, so no job finds it
        missing; if it cannot start, say so and return None (the jobs then plot in
        fresh processes). Always (re)sets the environment variable: a nested
        ``snakemake`` never hands its jobs to an outer run's server."""
        os.environ.pop(ENV_VAR, None)
        # Inside a SLURM allocation the jobs never use a server (scripts/plot_station).
        if not (enabled and supported()) or os.environ.get("SLURM_JOB_ID"):
            return None
        for stale in remove_stale_socket_dirs():
            print(f"Removed a killed run's plot server folder {stale}", file=sys.stderr)
        self.path = _socket_path()
        authkey = secrets.token_bytes(32)
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        env = child_env()
        # The key not on the command line, which /proc/PID/cmdline shows.
        env[_server().KEY_VAR] = authkey.hex()
        ready, ready_w = os.pipe()
        command = [sys.executable, "-m", "weatherplot.plotserver", self.path]
        command += ["--parent", str(os.getpid()), "--ready-fd", str(ready_w)]
        command += ["--max-workers", str(max(1, cores or os.cpu_count() or 1))]
        # Appended under a header per run: two runs at once (disjoint targets) or
        # one after another each keep their lines (~1 a plot).
        with open(log_path, "a") as log_file:
            log_file.write(
                f"=== plot server of snakemake run {os.getpid()}, started "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} ===\n"
            )
            log_file.flush()
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
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.path is not None:
            _server().remove_socket(self.path)
            self.path = None
