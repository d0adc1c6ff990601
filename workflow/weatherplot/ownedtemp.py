"""Temporary folders a SIGKILLed run leaves behind, removed by the next run.

A killed process runs no ``finally`` (nor ``TemporaryDirectory``'s clean-up), so each
folder records its owner: the pid and start time of the process that made it. A
later run removes a folder of the same prefix only if it is ours (this user, a real
folder, an owner file) and its owner is gone (dead, or the pid reused).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

OWNER_FILE = ".weatherplot-owner"


def process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def write_owner(directory: Path, name: str = OWNER_FILE) -> None:
    pid = os.getpid()
    (directory / name).write_text(f"{pid} {process_start(pid)}\n")


def is_stale(directory: Path, name: str = OWNER_FILE) -> bool:
    """Whether ``directory`` is ours and its owner process is gone."""
    try:
        if directory.is_symlink() or not directory.is_dir():
            return False
        if directory.lstat().st_uid != os.getuid():
            return False
        pid, start = (directory / name).read_text().split()
        return process_start(int(pid)) != start
    except (OSError, ValueError):
        return False  # not one we can judge: leave it


def stale_dirs(prefixes: tuple[str, ...], name: str = OWNER_FILE) -> list[Path]:
    """Stale folders with one of ``prefixes`` in the temp folder (and /tmp)."""
    found = []
    for parent in dict.fromkeys((Path(tempfile.gettempdir()), Path("/tmp"))):
        with contextlib.suppress(OSError):
            found += [
                path
                for path in parent.iterdir()
                if path.name.startswith(prefixes) and is_stale(path, name)
            ]
    return found


@contextlib.contextmanager
def owned_tempdir(prefix: str) -> Iterator[str]:
    """``tempfile.TemporaryDirectory(prefix=prefix)`` that a later run removes if
    this process is killed; first removes such leftovers of ``prefix``."""
    for stale in stale_dirs((prefix,)):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        write_owner(Path(scratch))
        yield scratch
