"""Atomic writes: through a temporary file and a rename, so a reader (or a rerun
after a crash) sees the old file or the whole new one, never half of it.

A writer killed mid-write leaves its temporary file, named by its pid and the pid
space it is a pid in (an output folder may be shared between hosts, or with a
container); the next writer of the path removes it when that pid is gone.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from pathlib import Path

from . import hostinfo


def write_json_atomic(path: str | os.PathLike, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = _pid_space_tag()
    tmp = temp_path(path, os.getpid(), tag)
    if tag is not None:
        _remove_dead_writers_files(path, tag)
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def temp_path(path: Path, pid: int, tag: str | None) -> Path:
    """Where writer ``pid`` (of pid space ``tag``) writes ``path`` first."""
    return path.with_name(f".{path.name}.{pid}-{tag or 'unknown'}.tmp")


def _pid_space_tag() -> str | None:
    """Short name of the pid space we are in (host, boot, pid namespace): a pid
    means one process only within it. None when it cannot be told."""
    namespace = hostinfo.pid_namespace()
    if namespace is None:
        return None
    space = f"{hostinfo.host_name()}\0{hostinfo.boot_id()}\0{namespace}"
    return hashlib.blake2s(space.encode(), digest_size=4).hexdigest()


def _remove_dead_writers_files(path: Path, tag: str) -> None:
    """Remove the temporary files of ``path`` left by writers of our pid space
    whose pid is gone (another user's live pid counts as alive)."""
    suffix = f"-{tag}.tmp"
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{suffix}"):
        pid = stale.name[len(path.name) + 2 : -len(suffix)]
        mine = pid == str(os.getpid())
        if pid.isdigit() and not mine and not hostinfo.pid_exists(int(pid)):
            stale.unlink(missing_ok=True)
