"""weatherplot.atomicwrite: a killed writer's temporary file is removed by the next
write only when that writer is surely gone (a killed writer here: test_faults.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from helpers import REPO

from weatherplot.atomicwrite import _pid_space_tag, write_bytes_atomic


def test_a_killed_writer_on_another_host_keeps_its_temp_file(tmp_path):
    """An output folder shared between hosts (a cluster's file system): a writer's
    pid there says nothing about a process here."""
    png = tmp_path / "X.png"
    child = f"""
import os, signal, socket
from pathlib import Path
from weatherplot.atomicwrite import write_bytes_atomic
socket.gethostname = lambda: "another-host"
real = Path.write_bytes
def half_then_die(self, data):
    real(self, data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
Path.write_bytes = half_then_die
write_bytes_atomic({str(png)!r}, b"a png from elsewhere " * 100)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    killed = subprocess.run([sys.executable, "-c", child], env=env, check=False)
    assert killed.returncode == -signal.SIGKILL
    (left,) = tmp_path.iterdir()  # its pid is gone here too
    write_bytes_atomic(png, b"the png")
    assert png.read_bytes() == b"the png"
    assert left.exists()
    assert not left.name.endswith(f"-{_pid_space_tag()}.tmp")
