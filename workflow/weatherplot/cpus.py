"""How many CPUs and how much memory this process may really use.

The lesson's predictions ("4 processes on N CPUs") must use the smaller of the CPUs
we may run on (the affinity: ``taskset``, SLURM's cpuset) and our control group's CPU
quota (Docker's ``--cpus``, Kubernetes limits); memory, the smaller of the machine's
available memory and the cgroup's ``memory.max`` headroom. Without cgroups (or off
Linux) the cgroup figures are None.

Limits are hierarchical: the effective one is the smallest from our group (named by
``/proc/self/cgroup``, mounted where ``/proc/self/mountinfo`` says) up to the mount
root. ``/sys/fs/cgroup/cpu.max`` alone is wrong both ways: cgroup v1 has no such file,
and outside a cgroup namespace it is the root group's, not ours.
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


def _mounts(proc: Path) -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount root, mount point, super options) of every cgroup mount."""
    mounts = []
    for line in (_read(proc / "self" / "mountinfo") or "").splitlines():
        # 36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or not rfields or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        superopts = set(rfields[2].split(",")) if len(rfields) > 2 else set()
        mounts.append((rfields[0], fields[3], fields[4], superopts))
    return mounts


def _cgroup_dirs(controller: str, proc: Path) -> list[tuple[str, list[Path]]]:
    """``[(version, [our dir, its parent, ..., mount point])]``: one entry per
    hierarchy ("v1" or "v2") that carries ``controller``."""
    groups: dict[str, str] = {}  # "v2" or a v1 controller -> our path in it
    for line in (_read(proc / "self" / "cgroup") or "").splitlines():
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
        chain = [d for d in (leaf, *leaf.parents) if d == top or top in d.parents]
        found.append((version, chain))
    return found


def _levels(controller: str, v2_files: str, v1_files: str, proc: Path):
    """The two words of ``v2_files`` or ``v1_files`` (by the hierarchy's version),
    read together at each level of our cgroups of ``controller``."""
    for version, chain in _cgroup_dirs(controller, proc):
        names = (v2_files if version == "v2" else v1_files).split()
        for d in chain:
            words = " ".join(_read(d / name) or "" for name in names).split()
            if len(words) == 2:
                yield words


def cgroup_cpu_quota(proc: Path = PROC) -> float | None:
    """CPU quota of our control group in CPUs (1.5 = one and a half), None if none."""
    quotas = []
    v1 = "cpu.cfs_quota_us cpu.cfs_period_us"
    for quota, period in _levels("cpu", "cpu.max", v1, proc):
        # v2: "max 100000" or "150000 100000"; v1: a quota of -1 is none.
        if quota.isdigit() and period.isdigit() and int(quota) and int(period):
            quotas.append(int(quota) / int(period))
    return min(quotas) if quotas else None


def usable_cpus(proc: Path = PROC) -> dict:
    """The CPUs this process can keep busy, ``min(affinity, ceil(cgroup quota))``
    (a quota of 1.5 CPUs still lets two processes run at once), and its figures."""
    aff = cpu_affinity()
    quota = cgroup_cpu_quota(proc)
    usable = aff if quota is None else min(aff, math.ceil(quota))
    return {
        "usable": max(1, usable),
        "os_cpu_count": os.cpu_count(),
        "affinity": aff,
        "cgroup_quota": quota,
    }


def cgroup_memory_headroom(proc: Path = PROC) -> int | None:
    """Bytes our control group may still allocate (limit minus usage), None if none."""
    room = []
    v1 = "memory.limit_in_bytes memory.usage_in_bytes"
    for limit, usage in _levels("memory", "memory.max memory.current", v1, proc):
        # v2 says "max" for no limit, v1 a number near 2**63.
        if limit.isdigit() and usage.isdigit() and int(limit) < _V1_UNLIMITED:
            room.append(int(limit) - int(usage))
    return max(0, min(room)) if room else None


def available_memory(proc: Path = PROC) -> dict:
    """Memory we can still use, in bytes: the smaller of the machine's available
    memory (psutil's: ``MemAvailable`` on Linux) and the cgroup's headroom."""
    try:
        import psutil

        mem = psutil.virtual_memory().available
    except ImportError:  # a free-threaded venv may not have it: no figure
        mem = None
    cg = cgroup_memory_headroom(proc)
    known = [m for m in (mem, cg) if m is not None]
    return {
        "available": min(known) if known else None,
        "meminfo_available": mem,
        "cgroup_headroom": cg,
    }
