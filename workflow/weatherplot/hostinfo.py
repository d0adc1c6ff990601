"""Every platform-specific question the package asks about processes and this host.

Linux answers from ``/proc`` and ``os``, never psutil: a free-threaded venv may not
have it, it costs a plot job ~20 ms to import, and its ``create_time`` adds
``/proc/stat``'s whole-second boot time (0.94 s off on the development machine), while
a job's start must be comparable with ``time.time()``. Elsewhere psutil or the
standard library. ``WEATHERPLOT_HIDE_LINUX_CALLS=1`` takes the fallbacks on Linux too
(docs/development.md).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

HIDE_VAR = "WEATHERPLOT_HIDE_LINUX_CALLS"


def linux_calls() -> bool:
    """Whether the Linux-only calls are used (Linux, and not hidden for a test)."""
    return sys.platform.startswith("linux") and os.environ.get(HIDE_VAR) != "1"


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces and ")")."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _psutil_process(pid: int | None):
    import psutil  # here: ~20 ms, and only the fallbacks need it

    return psutil.Process(pid)


def start_key(pid: int | None = None) -> float | None:
    """When ``pid`` started, as a number that stays the same for its whole life
    (None if it is gone or hidden from us): seconds since boot on Linux (unaffected
    by clock steps); psutil's create time elsewhere (stored at creation)."""
    pid = os.getpid() if pid is None else pid
    try:
        if linux_calls():
            return int(_stat_fields(pid)[19]) / os.sysconf("SC_CLK_TCK")
        return _psutil_process(pid).create_time()
    except Exception:  # gone, denied, or a zombie psutil will not read
        return None


def process_start_time(pid: int | None = None) -> float | None:
    """Epoch time at which the OS started ``pid`` (None if it cannot be read)."""
    started = start_key(pid)
    if started is None or not linux_calls():
        return started
    # Anchor on the boot clock, not /proc/stat's btime: btime is whole seconds and
    # drifts from the wall clock by tenths of a second on VMs.
    return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - started)


#: Two start keys of one process differ only by float rounding; a pid is not reused
#: within this long.
SAME_START = 0.05


def is_alive(pid: int, started: float) -> bool:
    """Whether process ``pid`` still runs and is the one that started at ``started``
    (a :func:`start_key`), not a later process given the same pid."""
    now = start_key(pid)
    return now is not None and abs(now - started) < SAME_START


def pid_exists(pid: int) -> bool:
    """Whether any process has ``pid`` (another user's counts). Not ``os.kill(pid,
    0)``: on Windows that terminates the process."""
    if linux_calls():
        return Path(f"/proc/{pid}").exists()
    import psutil

    return psutil.pid_exists(pid)


def parent_pid(pid: int) -> int | None:
    try:
        if linux_calls():
            return int(_stat_fields(pid)[1])
        return _psutil_process(pid).ppid()
    except Exception:
        return None


def command_line(pid: int) -> list[str]:
    """The process's arguments ([] if they cannot be read)."""
    try:
        if linux_calls():
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0")
            return os.fsdecode(arguments).split("\0") if arguments else []
        return _psutil_process(pid).cmdline()
    except Exception:
        return []


def cpu_affinity() -> int:
    """How many CPUs this process may be scheduled on."""
    if linux_calls():
        return len(os.sched_getaffinity(0))
    try:
        return len(_psutil_process(None).cpu_affinity())
    except (ImportError, AttributeError):  # no psutil; no affinity on macOS
        return os.cpu_count() or 1


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages, as every timing record gives them.
    Windows has no os.getloadavg: psutil emulates it there (zeros for its first 5 s),
    and without psutil the record says 0 rather than the demo failing."""
    if hasattr(os, "getloadavg"):
        return [round(x, 2) for x in os.getloadavg()]
    try:
        import psutil
    except ImportError:
        return [0.0, 0.0, 0.0]
    return [round(x, 2) for x in psutil.getloadavg()]


def peak_rss() -> int:
    """Peak resident memory of this process in bytes (without ``resource``: psutil's
    peak working set on Windows, else the current resident size, at most the peak)."""
    if linux_calls():
        # This program's own peak: Linux's ru_maxrss also keeps the peak from before
        # exec, so a job forked from a large process (snakemake, a pytest worker)
        # would report its parent's size; VmHWM belongs to the current program only.
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    if _has_resource():
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # macOS counts bytes, Linux and the BSDs KiB.
        return peak if sys.platform == "darwin" else peak * 1024
    memory = _psutil_process(None).memory_info()
    return getattr(memory, "peak_wset", None) or memory.rss


def _has_resource() -> bool:
    """Whether the ``resource`` module is there to use (not on Windows)."""
    return sys.platform != "win32" and os.environ.get(HIDE_VAR) != "1"


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU time of this process so far, or of its waited-for children
    (``getrusage``'s microseconds where it exists: a plot-server worker subtracts one
    from the other). Windows does not count children's: 0 there."""
    if _has_resource():
        import resource

        usage = resource.getrusage(
            resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
        )
        return usage.ru_utime + usage.ru_stime
    times = os.times()
    if children:
        return times.children_user + times.children_system
    return times.user + times.system


def boot_id() -> str:
    """This boot of this machine: Linux's random boot id (exact), elsewhere
    ``boot-time:`` and the boot time in whole seconds (moves with clock steps)."""
    if linux_calls():
        with_id = Path("/proc/sys/kernel/random/boot_id")
        try:
            return "linux:" + with_id.read_text().strip()
        except OSError:
            pass
    import psutil

    return f"boot-time:{psutil.boot_time():.0f}"


def pid_namespace() -> str | None:
    """The pid namespace our pids are numbers in: Linux's ``pid:[inode]``; ``none``
    where there are no pid namespaces; None when it cannot be told (``/proc`` is
    another namespace's: its pids are not ours)."""
    if not linux_calls():
        return "none"
    try:
        if str(Path("/proc/self").readlink()) != str(os.getpid()):
            return None
        return str(Path("/proc/self/ns/pid").readlink())
    except OSError:
        return None


def host_name() -> str:
    return socket.gethostname()


def owns(stat: os.stat_result) -> bool:
    """Whether a file's stat says it is this user's (Windows: no uids; the temp
    folder is per user there)."""
    return not hasattr(os, "getuid") or stat.st_uid == os.getuid()
