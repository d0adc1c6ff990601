"""How many CPUs and how much memory this process may really use.

``os.cpu_count()`` counts the CPUs of the machine, not the ones we are allowed to run
on. A job can be pinned to fewer CPUs (``taskset``, SLURM's cpuset: the *affinity*) or
throttled to a CPU-time quota by its control group (Docker's ``--cpus``, Kubernetes
limits: the *cgroup quota*). The lesson's predictions ("4 processes on N CPUs") must use
the smaller of the two. Memory is the same story: ``MemAvailable`` is the machine's, a
cgroup ``memory.max`` may be much lower.

Only the standard library is used (the affinity comes from :mod:`weatherplot.hostinfo`),
and every reader returns ``None`` rather than raise when a file is missing, so the
functions are safe on any platform (no cgroups: the affinity alone).

Control groups are found the way the kernel exposes them: ``/proc/self/cgroup`` names
our group, ``/proc/self/mountinfo`` says where each hierarchy is mounted. Limits are
hierarchical, so the effective limit is the smallest one on the way from our group up
to the mount root. (Reading ``/sys/fs/cgroup/cpu.max`` alone is wrong in both
directions: on cgroup v1 that file does not exist, and outside a cgroup namespace it is
the root group's, not ours.)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .hostinfo import cpu_affinity

PROC = Path("/proc")

# cgroup v1 reports "no memory limit" as a huge page-aligned number near 2**63.
_V1_UNLIMITED = 2**62


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _mounts(proc: Path = PROC) -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount root, mount point, super options) of every cgroup mount."""
    text = _read(proc / "self" / "mountinfo")
    if not text:
        return []
    mounts = []
    for line in text.splitlines():
        # 36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 1:
            continue
        fstype = rfields[0]
        if fstype not in ("cgroup", "cgroup2"):
            continue
        superopts = set(rfields[2].split(",")) if len(rfields) > 2 else set()
        mounts.append((fstype, fields[3], fields[4], superopts))
    return mounts


def _cgroup_dirs(controller: str, proc: Path = PROC) -> list[tuple[str, list[Path]]]:
    """Directories holding ``controller``'s files for this process, innermost first.

    Returns ``[(version, [dir, parent, ..., mount point])]``, one entry per hierarchy
    that carries the controller ("v1" or "v2").
    """
    text = _read(proc / "self" / "cgroup")
    if not text:
        return []
    groups: dict[str, str] = {}  # "v2" or a v1 controller -> our path in it
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, path = parts
        if hier == "0" and controllers == "":
            groups["v2"] = path
        else:
            for c in controllers.split(","):
                groups[c] = path
    found = []
    for fstype, root, mountpoint, superopts in _mounts(proc):
        if fstype == "cgroup2":
            version, ours = "v2", groups.get("v2")
        elif controller in superopts:
            version, ours = "v1", groups.get(controller)
        else:
            continue
        if ours is None:
            continue
        top = Path(mountpoint)
        # Our path is relative to the hierarchy's root; the mount may show a subtree.
        rel = os.path.relpath(ours, root) if ours.startswith(root) else "."
        leaf = Path(os.path.normpath(top / rel))
        if not leaf.is_dir():  # a cgroup namespace we cannot see into: use the mount
            leaf = top
        chain = [leaf]
        while chain[-1] != top and top in chain[-1].parents:
            chain.append(chain[-1].parent)
        found.append((version, chain))
    return found


def cgroup_cpu_quota(proc: Path = PROC) -> float | None:
    """CPU quota of our control group in CPUs (1.5 = one and a half), None if none."""
    quotas = []
    for version, chain in _cgroup_dirs("cpu", proc):
        for d in chain:
            if version == "v2":
                text = _read(d / "cpu.max")  # "max 100000" or "150000 100000"
                if text:
                    quota, _, period = text.partition(" ")
                    if quota != "max" and period and int(period) > 0:
                        quotas.append(int(quota) / int(period))
            else:
                quota, period = (
                    _read(d / "cpu.cfs_quota_us"),
                    _read(d / "cpu.cfs_period_us"),
                )
                if quota and period and int(quota) > 0 and int(period) > 0:
                    quotas.append(int(quota) / int(period))
    return min(quotas) if quotas else None


def usable_cpus(proc: Path = PROC) -> dict:
    """The CPUs this process can actually keep busy, and how that was decided.

    ``usable = min(affinity, ceil(cgroup quota))``. The quota is rounded up: a quota of
    1.5 CPUs still lets two processes run at once, each for part of the time.
    """
    aff = cpu_affinity()
    quota = cgroup_cpu_quota(proc)
    usable = aff if quota is None else min(aff, math.ceil(quota))
    return {
        "usable": max(1, usable),
        "os_cpu_count": os.cpu_count(),
        "affinity": aff,
        "cgroup_quota": quota,
    }


def meminfo_available(proc: Path = PROC) -> int | None:
    """``MemAvailable`` from ``/proc/meminfo``, in bytes: what the kernel can give."""
    text = _read(proc / "meminfo")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024  # always in kB
    return None


def cgroup_memory_headroom(proc: Path = PROC) -> int | None:
    """Bytes our control group may still allocate (limit minus usage), None if none."""
    room = []
    for version, chain in _cgroup_dirs("memory", proc):
        for d in chain:
            if version == "v2":
                limit, usage = _read(d / "memory.max"), _read(d / "memory.current")
                if limit and limit != "max" and usage:
                    room.append(int(limit) - int(usage))
            else:
                limit = _read(d / "memory.limit_in_bytes")
                usage = _read(d / "memory.usage_in_bytes")
                if limit and usage and int(limit) < _V1_UNLIMITED:
                    room.append(int(limit) - int(usage))
    return max(0, min(room)) if room else None


def available_memory(proc: Path = PROC) -> dict:
    """Memory we can still use, in bytes, and where each figure came from.

    ``available`` is the smaller of the machine's ``MemAvailable`` and the cgroup's
    headroom; ``None`` only when neither can be read (then nothing is refused).
    """
    mem = meminfo_available(proc)
    cg = cgroup_memory_headroom(proc)
    known = [v for v in (mem, cg) if v is not None]
    return {
        "available": min(known) if known else None,
        "meminfo_available": mem,
        "cgroup_headroom": cg,
    }
