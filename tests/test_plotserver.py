"""The warm plot server: a forked worker plots exactly what a fresh process plots,
errors reach the job, a killed job takes its worker along, and no server outlives
its run. The real server runs as a subprocess; the plot job is the real script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, DEATH_VALLEY, REPO

from weatherplot import plotserver

pytestmark = pytest.mark.skipif(
    not plotserver.supported(), reason="the plot server needs Linux"
)

SCRIPT = REPO / "workflow" / "scripts" / "plot_station.py"
ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}


def start_server(tmp_path: Path, parent: int | None = None):
    address = plotserver.new_address()
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weatherplot.plotserver",
            address,
            "--parent",
            str(parent or os.getpid()),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=ENV,
    )
    wait_for(log, "listening")
    return process, address, log


def wait_for(log: Path, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {log}:\n{content}")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def server(tmp_path):
    process, address, log = start_server(tmp_path)
    yield address, log
    process.terminate()
    process.wait(timeout=30)


def plot_job(tmp_path: Path, station: dict, address: str | None, name: str = "out"):
    """Run the real plot script as Snakemake would; returns (result, png, record)."""
    png = tmp_path / f"{name}.png"
    timing = tmp_path / f"{name}.json"
    env = dict(ENV)
    env.pop(plotserver.ENV_VAR, None)
    if address:
        env[plotserver.ENV_VAR] = address
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            json.dumps(station),
            str(png),
            str(timing),
            str(tmp_path / f"{name}.log"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    record = json.loads(timing.read_text()) if timing.exists() else None
    return result, png, record


DEATH_VALLEY_ENTRY = {
    "id": DEATH_VALLEY,
    "name": "Death Valley",
    "file": str(DATA / f"{DEATH_VALLEY}.dly.gz"),
}


def test_a_forked_worker_plots_the_same_bytes_as_a_fresh_process(tmp_path, server):
    address, log = server
    forked, forked_png, forked_record = plot_job(
        tmp_path, DEATH_VALLEY_ENTRY, address, "forked"
    )
    assert forked.returncode == 0, forked.stderr
    fresh, fresh_png, fresh_record = plot_job(
        tmp_path, DEATH_VALLEY_ENTRY, None, "fresh"
    )
    assert fresh.returncode == 0, fresh.stderr
    assert forked_png.read_bytes() == fresh_png.read_bytes()

    assert forked_record["worker"] == "forked"
    assert set(forked_record["phases"]) == {"handoff", "read", "plot", "save"}
    # The record times the job's own process (its start, its pid) and the worker.
    assert forked_record["job_pid"] != forked_record["pid"]
    assert forked_record["process_start"] <= forked_record["start"]
    assert forked_record["start"] < forked_record["end"]
    assert f"worker {forked_record['pid']} ({DEATH_VALLEY}) exited with 0" in (
        log.read_text()
    )
    # Each record holds the CPU time and peak memory of the process that plotted.
    for record in (forked_record, fresh_record):
        assert 0 < record["cpu_seconds"] < record["end"] - record["process_start"] + 1
        assert record["max_rss_mb"] > 20
    assert fresh_record["worker"] == "fresh"
    assert set(fresh_record["phases"]) == {"imports", "read", "plot", "save"}
    # The worker's log line went to the job's log file, not the server's.
    assert "in a forked process" in (tmp_path / "forked.log").read_text()


def test_a_bad_station_fails_its_job_with_the_message_on_the_jobs_stderr(
    tmp_path, server
):
    address, _ = server
    bad = tmp_path / "BROKEN00001.dly"
    bad.write_text("this is not a GHCN-Daily line\n")
    entry = {"id": "BROKEN00001", "file": str(bad), "format": "ghcnd"}
    result, png, record = plot_job(tmp_path, entry, address)
    assert result.returncode == 1
    assert "ERROR: station BROKEN00001" in result.stderr
    assert str(bad) in result.stderr
    assert not png.exists() and record is None
    assert list(tmp_path.glob(".*.tmp")) == []


def test_without_a_server_the_job_plots_in_its_own_process(tmp_path):
    result, png, record = plot_job(
        tmp_path, DEATH_VALLEY_ENTRY, plotserver.new_address()
    )
    assert result.returncode == 0, result.stderr
    assert "cannot reach the plot server" in result.stderr
    assert "plotting in this process instead" in result.stderr
    assert png.stat().st_size > 0
    assert record["worker"] == "fresh"


def test_a_killed_job_takes_its_worker_along(tmp_path, server):
    address, log = server
    env = {**ENV, plotserver.ENV_VAR: address}
    # A large real station: the worker is still plotting when the job is killed.
    entry = {"id": "USW00094728", "file": str(DATA / "USW00094728.dly.gz")}
    job = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            json.dumps(entry),
            str(tmp_path / "out.png"),
            str(tmp_path / "out.json"),
            str(tmp_path / "out.log"),
        ],
        env=env,
        cwd=tmp_path,
    )
    content = wait_for(log, "(USW00094728) started")
    worker = int(content.split("(USW00094728) started")[0].split("worker ")[-1])
    job.send_signal(signal.SIGKILL)
    job.wait()
    wait_for(log, f"job of worker {worker} is gone: killing the worker")
    wait_for(log, f"worker {worker} (USW00094728) exited with -9")
    assert not alive(worker)
    assert not (tmp_path / "out.json").exists()


def test_the_server_leaves_when_the_process_that_started_it_is_gone(tmp_path):
    address = plotserver.new_address()
    log = tmp_path / "server.log"
    # A shell starts the server as its child, then exits: the server is orphaned.
    subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m weatherplot.plotserver {address} --parent $$ "
            f"> {log} 2>&1 & sleep 1",
        ],
        env=ENV,
        check=True,
    )
    content = wait_for(log, "stopped after 0 plot(s)", timeout=30)
    pid = int(content.split("plot server ")[1].split()[0])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_users_job_is_refused(tmp_path, server):
    address, _ = server
    import weatherplot.timing  # noqa: F401  (before setuid: nobody cannot read /root)

    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        outcome = b"?"
        try:
            os.close(reader)
            os.setuid(65534)
            plotserver.request_plot(address, ["{}", "a", "b", "c"], time.time())
            outcome = b"accepted"
        except BaseException as error:
            outcome = repr(error).encode()
        finally:
            os.write(writer, outcome)
            os._exit(0)
    os.close(writer)
    outcome = os.read(reader, 4096).decode()
    os.waitpid(child, 0)
    assert "refused the job: another user's job" in outcome


def test_snakemakes_side_starts_a_ready_server_and_stops_it(tmp_path, monkeypatch):
    """What the onstart/onsuccess hooks do: the address is published only once the
    server accepts jobs, and a stale address from an outer run never survives."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(plotserver.ENV_VAR, "an-outer-runs-server")
    server = plotserver.PlotServer()
    address = server.start("logs/plot_server.log")
    assert address and os.environ[plotserver.ENV_VAR] == address
    pid = server.process.pid
    # Ready at once: the very first job is served by the server, not by itself.
    result, _, record = plot_job(tmp_path, DEATH_VALLEY_ENTRY, address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked"
    server.stop()
    assert plotserver.ENV_VAR not in os.environ
    assert not alive(pid)
    assert "stopped after 1 plot(s)" in (tmp_path / "logs/plot_server.log").read_text()


def test_a_disabled_server_clears_an_inherited_address(monkeypatch):
    monkeypatch.setenv(plotserver.ENV_VAR, "an-outer-runs-server")
    server = plotserver.PlotServer()
    assert server.start("unused.log", enabled=False) is None
    assert plotserver.ENV_VAR not in os.environ
    server.stop()  # nothing to stop: harmless
