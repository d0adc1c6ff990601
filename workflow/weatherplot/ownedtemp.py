"""Temporary folders a SIGKILLed run leaves behind, removed by the next run.

A killed process runs no ``finally``, so each folder records its owner process (host,
boot, pid namespace, pid, start). A later run removes only a folder that is ours and
whose owner is surely gone; one it cannot judge (another host or container sharing
the temp folder, an unreadable owner file) is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import hostinfo

OWNER_FILE = ".weatherplot-owner"


def owner() -> dict:
    """This process, as an owner file records it."""
    return {
        "host": hostinfo.host_name(),
        "boot": hostinfo.boot_id(),
        "pid_namespace": hostinfo.pid_namespace(),
        "pid": os.getpid(),
        "start": hostinfo.start_key(),
    }


def write_owner(directory: Path, name: str = OWNER_FILE) -> None:
    (directory / name).write_text(json.dumps(owner()) + "\n")


def owner_is_gone(recorded: dict) -> bool:
    """Whether the process an owner file names has surely ended; False whenever that
    cannot be known."""
    here = owner()
    pid, start = recorded.get("pid"), recorded.get("start")
    if not (isinstance(pid, int) and isinstance(start, int | float)):
        return False
    if recorded.get("host") != here["host"] or here["pid_namespace"] is None:
        return False
    if recorded.get("boot") != here["boot"]:
        # Another boot of this host ended every process of it; but a boot time
        # (no boot id on this platform) moves with the clock: it proves nothing.
        boots = (recorded.get("boot"), here["boot"])
        return all(str(boot).startswith("linux:") for boot in boots)
    if recorded.get("pid_namespace") != here["pid_namespace"]:
        return False  # its pids are not ours: pid 7 there is another process here
    return not hostinfo.is_alive(pid, start)


def is_stale(directory: Path, name: str = OWNER_FILE) -> bool:
    """Whether ``directory`` is ours and its owner process is surely gone."""
    try:
        if directory.is_symlink() or not directory.is_dir():
            return False
        if not hostinfo.owns(directory.lstat()):
            return False
        recorded = json.loads((directory / name).read_text())
        return isinstance(recorded, dict) and owner_is_gone(recorded)
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
