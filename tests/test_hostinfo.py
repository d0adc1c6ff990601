"""weatherplot.hostinfo: every platform-specific call, each answered both ways: with
the Linux calls, and with them hidden (WEATHERPLOT_HIDE_LINUX_CALLS=1: the fallbacks
a Mac or Windows takes). Where the two must agree, they do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import FIXTURE_DATA, MELBOURNE, REPO

from weatherplot import hostinfo

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="compares the Linux calls with the rest",
)

ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}


@pytest.fixture(params=["linux", "hidden"])
def mode(request, monkeypatch):
    if request.param == "hidden":
        monkeypatch.setenv(hostinfo.HIDE_VAR, "1")
    else:
        monkeypatch.delenv(hostinfo.HIDE_VAR, raising=False)
    assert hostinfo.linux_calls() is (request.param == "linux")
    return request.param


def test_hiding_takes_the_fallbacks(monkeypatch):
    monkeypatch.setenv(hostinfo.HIDE_VAR, "1")
    assert hostinfo.boot_id().startswith("boot-time:")
    assert hostinfo.pid_namespace() == "none"
    monkeypatch.delenv(hostinfo.HIDE_VAR)
    assert hostinfo.boot_id().startswith("linux:")
    assert hostinfo.pid_namespace().startswith("pid:[")


def test_a_new_process_start_time_is_when_it_was_started(mode):
    waits = [
        sys.executable,
        "-c",
        "import sys; print('up', flush=True); sys.stdin.read()",
    ]
    before = time.time()
    child = subprocess.Popen(waits, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    after = time.time()
    try:
        assert child.stdout.readline() == b"up\n"  # past exec: its own arguments
        started = hostinfo.process_start_time(child.pid)
        # /proc: whole clock ticks (10 ms) anchored on the boot clock. psutil adds
        # /proc/stat's boot time, in whole seconds: up to 1 s early.
        slack = 0.05 if mode == "linux" else 1.05
        assert before - slack <= started <= after + 0.05
        key = hostinfo.start_key(child.pid)
        assert hostinfo.is_alive(child.pid, key)
        assert not hostinfo.is_alive(child.pid, key + 1)  # the pid, reused
        assert hostinfo.parent_pid(child.pid) == os.getpid()
        assert hostinfo.command_line(child.pid) == waits
        assert hostinfo.pid_exists(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not hostinfo.is_alive(child.pid, key)
    assert not hostinfo.pid_exists(child.pid)
    assert hostinfo.start_key(child.pid) is None
    assert hostinfo.command_line(child.pid) == []


def test_both_ways_agree_on_this_process(monkeypatch):
    answers = {}
    for hidden in (False, True):
        if hidden:
            monkeypatch.setenv(hostinfo.HIDE_VAR, "1")
        answers[hidden] = (
            hostinfo.process_start_time(),
            hostinfo.cpu_affinity(),
            hostinfo.parent_pid(os.getpid()),
            hostinfo.command_line(os.getpid()),
        )
    (start, *rest), (start_hidden, *rest_hidden) = answers[False], answers[True]
    assert abs(start - start_hidden) < 1.05  # psutil's whole-second boot time
    assert rest == rest_hidden
    assert answers[False][1] == len(os.sched_getaffinity(0))


def test_the_affinity_is_the_cpus_we_are_pinned_to():
    code = (
        "import os; from weatherplot import hostinfo as h; "
        "a = h.cpu_affinity(); os.environ[h.HIDE_VAR] = '1'; print(a, h.cpu_affinity())"
    )
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["1", "1"]


@pytest.mark.parametrize(("platform", "factor"), [("darwin", 1), ("freebsd14", 1024)])
def test_maxrss_is_counted_in_bytes_on_every_platform(platform, factor, monkeypatch):
    """getrusage's ru_maxrss, as each platform counts it, is read in bytes."""
    import resource
    import types

    usage = resource.getrusage(resource.RUSAGE_SELF)
    fields = (usage.ru_utime, usage.ru_stime, 12_900, *usage[3:])
    monkeypatch.setattr(
        resource, "getrusage", lambda who: resource.struct_rusage(fields)
    )
    monkeypatch.setattr(hostinfo, "sys", types.SimpleNamespace(platform=platform))
    monkeypatch.delenv(hostinfo.HIDE_VAR, raising=False)
    assert hostinfo.peak_rss() == 12_900 * factor


def peak_in_a_child(hidden: bool, allocate_mb: int = 0) -> int:
    """A fresh interpreter's peak, after holding ``allocate_mb`` MB."""
    env = {**ENV, hostinfo.HIDE_VAR: "1"} if hidden else ENV
    code = (
        f"b = bytearray({allocate_mb} * 2**20); from weatherplot import hostinfo; "
        "print(hostinfo.peak_rss())"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return int(run.stdout)


def test_the_peak_memory_is_in_bytes_both_ways():
    for hidden in (False, True):
        small, large = peak_in_a_child(hidden), peak_in_a_child(hidden, 200)
        assert 5 * 2**20 < small < 200 * 2**20, (hidden, small)
        # 200 MB more, counted in bytes: not KiB (1024x) nor 1/1024.
        assert 150 * 2**20 < large - small < 300 * 2**20, (hidden, small, large)


def test_the_peak_is_the_programs_own_not_its_large_parents():
    """A job forked from a large process (snakemake, a pytest worker) reports its own
    peak: Linux's ru_maxrss carries the parent's size across fork and exec."""
    child = "from weatherplot import hostinfo; print(hostinfo.peak_rss())"
    parent = (
        "import subprocess, sys; b = bytearray(400 * 2**20); "
        f"print(subprocess.run([sys.executable, '-c', {child!r}], "
        "capture_output=True, text=True, check=True).stdout)"
    )
    for env in (ENV, {**ENV, hostinfo.HIDE_VAR: "1"}):
        run = subprocess.run(
            [sys.executable, "-c", parent], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        # A bare interpreter with hostinfo: well under the parent's 400 MB.
        assert 5 * 2**20 < int(run.stdout) < 100 * 2**20, (
            env.get("WEATHERPLOT_HIDE_LINUX_CALLS"),
            run.stdout,
        )


def test_cpu_seconds_count_this_process_and_its_children(mode):
    before, children = hostinfo.cpu_seconds(), hostinfo.cpu_seconds(children=True)
    # A child that spins for 0.3 s of its own CPU (os.times counts in 10 ms ticks).
    spin = "import time\nwhile time.process_time() < 0.3: 0"
    subprocess.run([sys.executable, "-c", spin], check=True)
    assert hostinfo.cpu_seconds(children=True) - children >= 0.25
    assert hostinfo.cpu_seconds() >= before


def run_plot_job(tmp_path: Path, hidden: bool) -> dict:
    """The real plot job script, as the rule runs it, in a fresh process."""
    out = tmp_path / ("hidden" if hidden else "linux")
    info = {"id": MELBOURNE, "file": str(FIXTURE_DATA / f"{MELBOURNE}.dly.gz")}
    env = {k: v for k, v in ENV.items() if k != "WEATHERPLOT_PLOT_SERVER"}
    if hidden:
        env[hostinfo.HIDE_VAR] = "1"
    out.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "workflow/scripts/plot_station.py"),
            json.dumps(info),
            str(out / "plot.png"),
            str(out / "timing.json"),
            str(out / "plot.log"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return json.loads((out / "timing.json").read_text())


def test_a_plot_jobs_record_holds_its_peak_memory_in_mib_both_ways(tmp_path):
    linux, hidden = (run_plot_job(tmp_path, h) for h in (False, True))
    # A Python process with NumPy, pandas and Matplotlib: tens of MiB, not GiB.
    assert 20 < linux["max_rss_mb"] < 2000, linux["max_rss_mb"]
    # Hidden, it is the resident size at the end, which is at most the peak.
    assert linux["max_rss_mb"] / 2 < hidden["max_rss_mb"] <= linux["max_rss_mb"] * 1.1
    for record in (linux, hidden):
        assert record["process_start"] <= record["start"] + 0.05
        assert record["session"].startswith(f"{hostinfo.host_name()}:")


def test_on_a_mac_ru_maxrss_is_read_as_bytes(tmp_path, monkeypatch):
    """macOS's getrusage counts the peak in bytes: a plot job's record is not 1024x
    too large there (the job's own OS calls answer as a Mac's would)."""
    import resource
    import types

    from weatherplot import plotjob

    real = resource.getrusage

    def in_bytes(who):
        usage = real(who)
        fields = [getattr(usage, f"ru_{n}") for n in ("utime", "stime")]
        # struct_rusage is a tuple: ru_maxrss is its third field.
        return resource.struct_rusage((*fields, usage.ru_maxrss * 1024, *usage[3:]))

    monkeypatch.setattr(resource, "getrusage", in_bytes)
    monkeypatch.setattr(hostinfo, "sys", types.SimpleNamespace(platform="darwin"))
    info = {"id": MELBOURNE, "file": str(FIXTURE_DATA / f"{MELBOURNE}.dly.gz")}
    paths = [str(tmp_path / name) for name in ("p.png", "t.json", "p.log")]
    assert plotjob.run([json.dumps(info), *paths], time.time()) == 0
    recorded = json.loads(Path(paths[1]).read_text())["max_rss_mb"]
    # This process's peak, in MiB (read after: it may only have grown since).
    assert recorded == pytest.approx(
        real(resource.RUSAGE_SELF).ru_maxrss / 1024, rel=0.05
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's own calls")
def test_on_linux_every_fact_comes_without_psutil():
    """The free-threaded build's venv has no psutil (only what the demos import), and
    its demos and exercise record the CPUs, the memory and the processes like the
    GIL build's: on Linux none of these may need psutil (a psutil-only cpu_affinity
    broke every free-threaded demo)."""
    code = """
import json, os, sys
sys.modules["psutil"] = None  # import psutil now raises ImportError
from weatherplot import cpus, hostinfo
print(json.dumps({
    "usable": cpus.usable_cpus()["usable"],
    "affinity": hostinfo.cpu_affinity(),
    "alive": hostinfo.pid_exists(os.getpid()),
    "memory": cpus.available_memory()["available"],
    "peak": hostinfo.peak_rss(),
    "start": hostinfo.start_key(),
}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    env.pop(hostinfo.HIDE_VAR, None)
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    facts = json.loads(run.stdout)
    assert facts["affinity"] == len(os.sched_getaffinity(0))
    assert facts["usable"] >= 1 and facts["alive"] is True
    assert facts["peak"] > 0 and facts["start"] is not None


def test_a_record_has_its_load_average_where_os_has_none(monkeypatch):
    """Windows has no os.getloadavg, and every demo and exercise record gives the
    load: without it no demo could write its record there."""
    pytest.importorskip("psutil")  # imported first: on Linux it takes os's function
    monkeypatch.delattr(hostinfo.os, "getloadavg")
    load = hostinfo.load_average()
    assert len(load) == 3 and all(isinstance(x, float) and x >= 0 for x in load)
    monkeypatch.setitem(sys.modules, "psutil", None)  # no psutil either
    assert hostinfo.load_average() == [0.0, 0.0, 0.0]
