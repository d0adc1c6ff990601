"""The warm plot server: a forked worker plots exactly what a fresh process plots,
errors reach the job, a killed job takes its worker along, no server outlives its
run, and no hostile or broken local client, squatter or server crash can stall the
server, steal a job's streams, write outside the workflow or plot a station twice
at once. The real server runs as a subprocess; the plot job is the real script."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from helpers import (
    DEATH_VALLEY,
    FIXTURE_DATA,
    REPO,
    HeldStationFile,
    fd_targets,
    fifo_readers,
    parent_of,
)
from PIL import Image

from weatherplot.plotserver import client as plotclient
from weatherplot.plotserver import hooks as plothooks
from weatherplot.plotserver import server as plotserver

pytestmark = pytest.mark.skipif(
    not plothooks.supported(), reason="the plot server needs Linux"
)

SCRIPT = REPO / "workflow" / "scripts" / "plot_station.py"
ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
STATIONS = sorted(p.name.removesuffix(".dly.gz") for p in FIXTURE_DATA.glob("*.dly.gz"))


def entry(station: str) -> dict:
    return {"id": station, "file": str(FIXTURE_DATA / f"{station}.dly.gz")}


def wait_for(log: Path, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {log}:\n{content}")


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A running server of a 'run' in tmp_path (the tests' working directory)."""

    def __init__(self, tmp_path: Path, cores: int = 2):
        self.log = tmp_path / "logs" / "plot_server.log"
        self.handle = plothooks.PlotServer()
        self.address = self.handle.start(str(self.log), cores=cores)
        assert self.address, self.log.read_text()
        self.pid, self.authkey, self.path = plotclient.parse_address(self.address)

    def worker_started(self, station: str) -> int:
        content = wait_for(self.log, f"({station}) started")
        return int(content.split(f"({station}) started")[0].split("worker ")[-1])


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    running = Server(tmp_path)
    yield running
    running.handle.stop()


def job_command(station: dict, name: str) -> list[str]:
    return [
        sys.executable,
        "-S",  # as the rule runs it
        str(SCRIPT),
        json.dumps(station),
        f"results/plots/{name}.png",
        f"results/timings/{name}.json",
        f"logs/{name}.log",
    ]


def plot_job(tmp_path: Path, station: dict, address: str | None, name: str = "out"):
    """Run the real plot script as Snakemake would; returns (result, png, record)."""
    (tmp_path / "logs").mkdir(exist_ok=True)  # as Snakemake does
    env = dict(ENV)
    env.pop(plotclient.ENV_VAR, None)
    if address:
        env[plotclient.ENV_VAR] = address
    result = subprocess.run(
        job_command(station, name),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    timing = tmp_path / f"results/timings/{name}.json"
    record = json.loads(timing.read_text()) if timing.exists() else None
    return result, tmp_path / f"results/plots/{name}.png", record


def test_one_worker_plots_job_after_job_the_same_bytes_as_fresh_processes(
    tmp_path, server
):
    forked_records = []
    for index, station in enumerate(STATIONS):
        # capture_output: each job's pipes must reach their end, so this also
        # proves the worker gave the job's stdout and stderr back after it.
        forked, forked_png, forked_record = plot_job(
            tmp_path, entry(station), server.address, f"{station}-forked"
        )
        assert forked.returncode == 0, forked.stderr
        assert forked_record["worker"] == "forked"
        forked_records.append(forked_record)
        if index % 3 != 2:  # a fresh process costs ~1 s of imports: every third
            continue
        # The worker's 3rd, 6th, 9th and 12th job: nothing left from the jobs
        # before it changes a pixel.
        fresh, fresh_png, fresh_record = plot_job(
            tmp_path, entry(station), None, f"{station}-fresh"
        )
        assert fresh.returncode == 0, fresh.stderr
        assert fresh_record["worker"] == "fresh"
        assert forked_png.read_bytes() == fresh_png.read_bytes(), station
    assert len(STATIONS) == 12

    # One job after another: one worker served them all, in order (no fork per job).
    assert len({record["pid"] for record in forked_records}) == 1
    # Between jobs it holds no job's connection, streams or log file: only its
    # control socket and the server's log.
    worker_fds = fd_targets(forked_record["pid"])
    assert sum(fd.startswith("socket:") for fd in worker_fds) == 1, worker_fds
    assert not [fd for fd in worker_fds if fd.startswith("pipe:")], worker_fds
    logs = {fd for fd in worker_fds if fd.endswith(".log")}
    assert logs == {str(server.log.resolve())}, worker_fds
    assert [record["worker_job"] for record in forked_records] == list(range(1, 13))
    # The record times the job's own process (its start, its pid) and the worker.
    assert set(forked_record["phases"]) == {"handoff", "read", "plot", "save"}
    assert forked_record["job_pid"] != forked_record["pid"]
    assert forked_record["process_start"] <= forked_record["start"]
    assert forked_record["start"] < forked_record["end"]
    log = server.log.read_text()
    assert log.count(f"worker {forked_record['pid']} finished a job with exit code 0")
    # Each record holds the CPU time and peak memory of this job alone: the twelve
    # jobs' CPU times add up to no more than the worker's whole (its own count, from
    # /proc, read after them; one tick of rounding each for user and system time).
    # A worker's running total in each record would add up to ~6 times it.
    worker_cpu = cpu_seconds(forked_record["pid"])
    assert sum(r["cpu_seconds"] for r in forked_records) <= worker_cpu + 0.03
    for record in (*forked_records, fresh_record):
        assert record["cpu_seconds"] > 0
        assert record["max_rss_mb"] > 20
    assert set(fresh_record["phases"]) == {"imports", "read", "plot", "save"}
    # Each job's log line went to its own log file, not the server's nor the next's.
    for station in STATIONS:
        job_log = (tmp_path / f"logs/{station}-forked.log").read_text()
        assert f"plotted {station} " in job_log and "in a forked process" in job_log
        assert job_log.count("plotted ") == 1
    assert "plotted " not in log


def test_a_bad_station_fails_its_job_with_the_message_on_the_jobs_stderr(
    tmp_path, server
):
    bad = tmp_path / "BROKEN00001.dly"
    bad.write_text("this is not a GHCN-Daily line\n")
    station = {"id": "BROKEN00001", "file": str(bad), "format": "ghcnd"}
    result, png, record = plot_job(tmp_path, station, server.address)
    assert result.returncode == 1
    assert "ERROR: station BROKEN00001" in result.stderr
    assert str(bad) in result.stderr
    assert not png.exists() and record is None
    assert list(tmp_path.rglob(".*.tmp")) == []
    # The worker serves the next job as usual, and none of the failure follows it.
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "next")
    assert result.returncode == 0, result.stderr
    assert "BROKEN00001" not in result.stderr + (tmp_path / "logs/next.log").read_text()
    assert (record["worker"], record["worker_job"]) == ("forked", 2)


def test_a_job_that_fails_unexpectedly_gets_a_new_worker_after_it(tmp_path, server):
    # A file where the plots' folder should be: not a station's fault, and the
    # worker may be in any state after it.
    (tmp_path / "results").mkdir()
    (tmp_path / "results/plots").write_text("in the way\n")
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    assert result.returncode == 1 and record is None
    assert "Traceback" in result.stderr  # on the job's stderr, which Snakemake shows
    first = server.worker_started(DEATH_VALLEY)
    assert wait_until(lambda: not alive(first), timeout=30)
    (tmp_path / "results/plots").unlink()
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked" and record["pid"] != first
    assert record["worker_job"] == 1


def test_without_a_server_the_job_plots_in_its_own_process(tmp_path):
    address = f"{os.getpid()}:{'00' * 32}:{tmp_path}/no-such-socket"
    result, png, record = plot_job(tmp_path, entry(DEATH_VALLEY), address)
    assert result.returncode == 0, result.stderr
    assert "cannot reach the plot server" in result.stderr
    assert "plotting in this process instead" in result.stderr
    assert png.stat().st_size > 0
    assert record["worker"] == "fresh"


def start_job(
    tmp_path: Path, station: dict, address: str, name: str = "out"
) -> subprocess.Popen:
    """The real plot script as Snakemake starts it, left running (stderr kept)."""
    return subprocess.Popen(
        job_command(station, name),
        env={**ENV, plotclient.ENV_VAR: address},
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )


def held_entry(tmp_path: Path) -> tuple[dict, HeldStationFile]:
    """A station whose file is a FIFO the test holds: whoever plots it is provably
    blocked reading it (no reliance on a big file taking a while to plot)."""
    held = HeldStationFile(tmp_path / f"{DEATH_VALLEY}.dly", DEATH_VALLEY)
    return {**held.entry, "file": str(held.path)}, held


def test_a_killed_job_takes_its_worker_along(tmp_path, server):
    station, held = held_entry(tmp_path)
    job = start_job(tmp_path, station, server.address)
    worker = held.wait_for_reader(lambda: job.poll() is None, timeout=60)
    assert worker != job.pid and parent_of(worker) == server.pid
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert wait_until(lambda: not alive(worker), timeout=60)
    assert alive(server.pid)  # it lost a worker, not its life
    assert not (tmp_path / "results/timings/out.json").exists()
    assert not (tmp_path / "results/plots/out.png").exists()
    # The next job is served as usual.
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked" and record["pid"] != worker
    server.handle.stop()
    # The killed job is no plot in the server's count.
    assert (
        "stopped after 1 plot(s), 1 job(s) failed or killed" in server.log.read_text()
    )


def connected(pid: int) -> bool:
    """Whether process ``pid`` holds a connected Unix socket (from /proc/net/unix)."""
    inodes = {
        target[len("socket:[") : -1]
        for target in fd_targets(pid)
        if target.startswith("socket:[")
    }
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[6] in inodes and fields[5] == "03":  # SS_CONNECTED
            return True
    return False


def test_a_worker_that_died_while_idle_is_replaced_for_the_next_job(tmp_path, server):
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "a")
    assert result.returncode == 0, result.stderr
    # The next job connects, then its idle worker dies (as the OOM killer might
    # kill it), all while the server is stopped: on waking, the server sees the
    # job before the worker's death.
    os.kill(server.pid, signal.SIGSTOP)
    try:
        job = start_job(tmp_path, entry(DEATH_VALLEY), server.address, "b")
        assert wait_until(lambda: connected(job.pid), timeout=60)
        os.kill(record["pid"], signal.SIGKILL)
        assert wait_until(lambda: not alive(record["pid"]))
    finally:
        os.kill(server.pid, signal.SIGCONT)
    _, stderr = job.communicate(timeout=180)
    assert job.returncode == 0, stderr
    next_record = json.loads((tmp_path / "results/timings/b.json").read_text())
    assert next_record["worker"] == "forked", stderr
    assert next_record["pid"] != record["pid"]
    assert wait_until(lambda: holds_no_connection(server.pid))


def test_the_server_leaves_when_the_process_that_started_it_is_gone(tmp_path):
    log = tmp_path / "server.log"
    directory = tmp_path / "private"
    directory.mkdir(mode=0o700)
    # A shell starts the server as its child, then exits: the server is orphaned.
    subprocess.run(
        [
            "bash",
            "-c",
            f"{sys.executable} -m weatherplot.plotserver {directory}/socket "
            f"--parent $$ > {log} 2>&1 & sleep 1",
        ],
        env={**ENV, "WEATHERPLOT_PLOT_SERVER_KEY": "ab" * 16},
        check=True,
    )
    content = wait_for(log, "stopped after 0 plot(s)", timeout=30)
    pid = int(content.split("plot server ")[1].split()[0])
    assert wait_until(lambda: not alive(pid), timeout=10)
    assert not directory.exists()  # socket and its directory removed


def test_snakemakes_side_starts_a_ready_private_server_and_stops_it(
    tmp_path, monkeypatch
):
    """What the onstart/onsuccess hooks do: the address is published only once the
    server accepts jobs, and a stale address from an outer run never survives."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(plotclient.ENV_VAR, "an-outer-runs-server")
    running = Server(tmp_path)
    assert os.environ[plotclient.ENV_VAR] == running.address
    directory = Path(running.path).parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    # The authkey is in no command line.
    cmdline = Path(f"/proc/{running.pid}/cmdline").read_bytes()
    assert running.authkey.hex().encode() not in cmdline
    # Ready at once: the very first job is served by the server, not by itself.
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), running.address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked"
    running.handle.stop()
    assert plotclient.ENV_VAR not in os.environ
    assert not alive(running.pid)
    assert not directory.exists()
    assert "stopped after 1 plot(s)" in running.log.read_text()


def test_no_server_when_disabled_or_inside_a_slurm_allocation(monkeypatch):
    monkeypatch.setenv(plotclient.ENV_VAR, "an-outer-runs-server")
    server = plothooks.PlotServer()
    assert server.start("unused.log", enabled=False) is None
    assert plotclient.ENV_VAR not in os.environ
    monkeypatch.setenv("SLURM_JOB_ID", "12345")
    assert server.start("unused.log") is None  # its jobs would never use it
    assert server.process is None
    server.stop()  # nothing to stop: harmless


def test_a_kernel_without_pidfd_open_is_not_supported(monkeypatch):
    def enosys(pid):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", enosys)
    assert not plothooks.supported()


# ---------------------------------------------------------------------------
# Adversaries: each of these broke the server of the previous design
# ---------------------------------------------------------------------------


class Squatter(threading.Thread):
    """Listens on a path and records whatever any client sends (bytes and fds)."""

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen()
        self.received = b""
        self.fds: list[int] = []
        self.connections = 0

    def run(self):
        with self.sock:
            conn, _ = self.sock.accept()
            self.connections += 1
            with conn:
                conn.settimeout(30)
                while True:
                    try:
                        data, fds, _, _ = socket.recv_fds(conn, 65536, 8)
                    except OSError:
                        break
                    self.received += data
                    self.fds += fds
                    if not data:
                        break


def test_the_server_forks_its_workers_from_a_process_of_one_thread(tmp_path, server):
    # The warm-up loads NumPy, whose OpenBLAS starts a thread per extra CPU unless
    # told one: the server tells it so, and forks (it forks from one thread only).
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked"
    assert psutil.Process(server.pid).num_threads() == 1
    log = server.log.read_text()
    assert "not forking" not in log and "multi-threaded" not in log


def test_the_server_does_not_fork_while_another_thread_runs(tmp_path):
    """Whatever thread runs (a library's, a later change's): no worker is forked, and
    the job plots by itself (its connection is closed)."""
    server = plotserver._Server(str(tmp_path / "socket"), b"k" * 32, 2)
    server.warm = True  # not this process's imports
    release = threading.Event()
    thread = threading.Thread(target=release.wait, daemon=True)
    thread.start()
    job_end, conn = socket.socketpair()
    before = children(os.getpid())
    try:
        with pytest.raises(RuntimeError, match=r"not forking a worker: \d+ threads"):
            server._start_worker(conn)
        assert children(os.getpid()) == before
    finally:
        release.set()
        thread.join()
        job_end.close()
        conn.close()
        server.listener.close()
        server.poller.close()


def test_a_squatter_after_the_server_died_gets_nothing_from_the_job(tmp_path, server):
    os.kill(server.pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(server.pid))
    # The same path, bound by another process (as a different user cannot: the
    # directory is private).
    Path(server.path).unlink(missing_ok=True)
    squatter = Squatter(server.path)
    squatter.start()
    result, png, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    squatter.join(timeout=30)
    assert squatter.connections == 1
    assert squatter.received == b"" and squatter.fds == []
    assert "is not this run's plot server" in result.stderr
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "fresh" and png.stat().st_size > 0


# Run by a child interpreter (forking this process, whose threads include pytest's
# and OpenBLAS's, may deadlock the child): as nobody, ask the server for a job, then
# bind beside its socket.
AS_NOBODY = """
import os, socket, sys
from weatherplot.plotserver import client as plotclient
import weatherplot.timing  # before setuid: nobody cannot read /root
address, path = sys.argv[1:]
os.setuid(65534)
try:
    plotclient.request_plot(address, ["{}", "a", "b", "c"], 0.0)
    print("accepted")
except plotclient.Unavailable as error:
    print(error)
try:
    socket.socket(socket.AF_UNIX).bind(path + "-squat")
    print("bound")
except OSError as error:
    print(repr(error))
"""


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_can_neither_connect_nor_squat(tmp_path, server):
    result = subprocess.run(
        [sys.executable, "-c", AS_NOBODY, server.address, server.path],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = result.stdout
    assert "cannot reach the plot server" in outcome
    assert "Permission denied" in outcome.splitlines()[0]
    assert "PermissionError" in outcome.splitlines()[1]


def test_a_slow_client_does_not_stall_other_jobs(tmp_path, monkeypatch):
    # A server whose workers wait 4 s for a request (the setting; 10 s by default):
    # the slow client below never completes one, however slow the machine.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WEATHERPLOT_PLOT_REQUEST_SECONDS", "4")
    server = Server(tmp_path)
    trickling, done = threading.Event(), threading.Event()

    def trickle():
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(server.path)
            trickling.set()
            # A header promising 60 bytes, then a byte every 0.7 s until the worker
            # hangs up or the test ends: the request is never complete.
            for byte in (60).to_bytes(4, "big") + b"x" * 59:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                if done.wait(0.7):
                    break

    try:
        threading.Thread(target=trickle, daemon=True).start()
        assert trickling.wait(60)
        result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
        assert result.returncode == 0, result.stderr
        assert record["worker"] == "forked"
        # Its worker gives up on the slow client after a bounded time; the job did
        # not wait for that (the old server read each request in its accept loop).
        log = wait_for(server.log, "no complete request within 4 s", timeout=120)
        started = log.index(f"({DEATH_VALLEY}) started")
        assert started < log.index("no complete request")
    finally:
        done.set()
        server.handle.stop()


def test_a_flood_of_malformed_requests_leaks_nothing_and_stops_nothing(
    tmp_path, server
):
    plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "warm-up")
    # The warm-up job's connection is closed just after its answer.
    assert wait_until(lambda: holds_no_connection(server.pid))
    # Beyond a pidfd and a control socket per worker, the server's own fds.
    own_fds = open_fds(server.pid) - 2 * len(children(server.pid))
    spare_r, spare_w = os.pipe()
    try:
        for index in range(50):
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(server.path)
                # Garbage with fds attached, as the old protocol's requests came.
                socket.send_fds(sock, [b"GET / HTTP/1.0\r\n\r\n"], [spare_r, spare_w])
                if index % 2:
                    # Wait for the worker's 'ready' (or its reset: it refused the
                    # garbage and closed with bytes unread).
                    with contextlib.suppress(ConnectionResetError):
                        sock.recv(1024)
    finally:
        os.close(spare_r)
        os.close(spare_w)
    # No worker more than the cores, and no fd held for any of those connections.
    assert wait_until(lambda: holds_no_connection(server.pid)), fd_targets(server.pid)
    assert len(children(server.pid)) <= 2
    assert open_fds(server.pid) == own_fds + 2 * len(children(server.pid))
    assert alive(server.pid)
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked"


def holds_no_connection(server: int) -> bool:
    """The server's sockets are its listener and one control socket per worker, and
    its pidfds one per worker: no job's connection is open in it."""
    targets, workers = fd_targets(server), len(children(server))
    sockets = sum(target.startswith("socket:") for target in targets)
    return sockets == 1 + workers and targets.count("anon_inode:[pidfd]") == workers


class Job:
    """A client speaking the wire format by hand (plotclient's helpers)."""

    def __init__(self, server: Server, request: dict, authkey: bytes | None = None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(server.path)
        assert plotclient.recv_frame(self.sock) == plotclient.READY
        payload = plotclient.encode_request(
            server.authkey if authkey is None else authkey,
            request["argv"],
            request["cwd"],
            request["env"],
            request["started"],
        )
        plotclient.send_frame(self.sock, payload, fds=(1, 2))

    def answer(self) -> bytes:
        return plotclient.recv_frame(self.sock)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def answered(sock: socket.socket) -> bool:
    """Whether the server answered the job or hung up (without waiting)."""
    import select

    return bool(select.select([sock], [], [], 0)[0])


def valid_request(tmp_path: Path, name: str = "out") -> dict:
    return {
        "argv": job_command(entry(DEATH_VALLEY), name)[3:],
        "cwd": str(tmp_path),
        "env": {},
        "started": time.time(),
    }


def test_bytes_after_the_request_do_not_busy_loop_the_server(tmp_path, server):
    """A byte the job sends after its request must not wake the server again and
    again while the worker plots (it spun at 1 CPU-second per second): the server's
    epoll watches the job's connection for its hang-up only, not for input. The
    job's station file is held (a FIFO), so the job is under way while we look."""
    import select

    plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "warm-up")  # idle worker
    watched = epoll_entries(server.pid)
    held = HeldStationFile(tmp_path / f"{DEATH_VALLEY}.dly", DEATH_VALLEY)
    request = valid_request(tmp_path)
    request["argv"] = job_command({**held.entry, "file": str(held.path)}, "out")[3:]
    with Job(server, request) as job:
        job.sock.sendall(b"x")  # one byte too many
        # The idle worker has the job, held in read() (a job answered before it
        # reads fails here at once).
        held.wait_for_reader(still_running=lambda: not answered(job.sock))
        assert wait_until(lambda: len(epoll_entries(server.pid)) > len(watched))
        added = {
            fd: events
            for fd, events in epoll_entries(server.pid).items()
            if fd not in watched
        }
        (events,) = added.values()  # the job's connection, and nothing else
        assert events & select.EPOLLRDHUP and not events & select.EPOLLIN, added
        held.release()
        answer = job.answer()
    assert answer == b"exit 0"
    with Image.open(tmp_path / "results/plots/out.png") as image:
        assert image.size == (1200, 1050)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"log": "VICTIM"}, "is not a relative path"),
        ({"log": "logs/../VICTIM"}, "is not a relative path"),
        ({"log": "../VICTIM"}, "is not a relative path"),
        ({"log": "config/VICTIM"}, "is not a relative path"),
        ({"cwd": "/"}, "is not this run's"),
        ({"id": "../../x"}, "does not match"),
        ({"env": {"LD_PRELOAD": "/tmp/x.so"}}, "unexpected environment"),
    ],
)
def test_a_request_outside_this_runs_workflow_is_refused(
    tmp_path, server, change, reason
):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    request = valid_request(tmp_path)
    station = entry(DEATH_VALLEY)
    station["id"] = change.get("id", station["id"])
    request["argv"][0] = json.dumps(station)
    log = change.get("log", "logs/out.log").replace("VICTIM", "victim.txt")
    if log == "victim.txt":
        log = str(victim)
    request["argv"][3] = log
    request["cwd"] = change.get("cwd", request["cwd"])
    request["env"] = change.get("env", {})
    with Job(server, request) as job:
        answer = job.answer().decode()
    assert answer.startswith("refused: ") and reason in answer
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "results").exists()


def test_a_request_without_the_runs_key_is_refused_and_writes_nothing(tmp_path, server):
    plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "warm-up")
    job = Job(server, valid_request(tmp_path), authkey=os.urandom(32))
    with job, pytest.raises(EOFError):
        job.answer()  # no answer: the worker left
    assert "does not carry this run's key" in wait_for(server.log, "key")
    assert not (tmp_path / "results/plots/out.png").exists()
    assert not (tmp_path / "logs/out.log").exists()


def test_requests_round_trip_any_path_and_refuse_garbage():
    station = json.dumps({"id": "X1", "name": 'a "b"\\c'})
    argv = [station, "results/\udcff.png", "t", "l"]
    env = {"TMPDIR": "/tmp/a=b", "OMP_NUM_THREADS": "1"}
    payload = plotclient.encode_request(b"\x00key", argv, "/w d", env, 12.5)
    key, request = plotclient.decode_request(payload)
    assert key == b"\x00key"
    assert request == {"argv": argv, "cwd": "/w d", "env": env, "started": 12.5}
    for garbage in (b"", b"GET / HTTP/1.0", payload.replace(b"OMP_", b"\0OMP_")):
        with pytest.raises(plotclient.BadFrame):
            plotclient.decode_request(garbage)


def test_the_jobs_process_imports_no_more_than_it_needs(tmp_path):
    # The job's side is ~20 ms of CPU with built-in modules only; socket, json,
    # multiprocessing.connection and hmac made it ~90 ms (docs/performance.md).
    probe = (
        "import sys; before = set(sys.modules); "
        "import weatherplot.plotserver.client, weatherplot.joblog; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True,
        text=True,
        env=ENV,
        check=True,
    )
    dear = {"socket", "json", "re", "enum", "hmac", "_hashlib", "struct", "pathlib"}
    dear |= {"multiprocessing", "multiprocessing.connection", "logging", "__future__"}
    assert not dear & set(result.stdout.split())


def test_the_job_itself_falls_back_when_refused(tmp_path, server):
    (tmp_path / "elsewhere").mkdir()
    result = subprocess.run(
        [*job_command(entry(DEATH_VALLEY), "out")[:4], "../x.png", "../x.json", "l"],
        capture_output=True,
        text=True,
        env={**ENV, plotclient.ENV_VAR: server.address},
        cwd=tmp_path / "elsewhere",
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "the plot server refused the job" in result.stderr
    assert json.loads((tmp_path / "x.json").read_text())["worker"] == "fresh"


def test_a_killed_server_takes_its_workers_along_and_the_job_plots_once(
    tmp_path, server
):
    station, held = held_entry(tmp_path)
    job = start_job(tmp_path, station, server.address)
    worker = held.wait_for_reader(lambda: job.poll() is None, timeout=60)
    assert worker != job.pid and parent_of(worker) == server.pid
    assert fifo_readers(held.path) == [worker]  # the job waits, it does not read
    os.kill(server.pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(worker), timeout=60)  # no orphan plotting on
    # Then the job plots by itself: it is the file's next reader.
    assert held.wait_for_reader(timeout=60) == job.pid
    held.release()
    _, stderr = job.communicate(timeout=180)
    assert job.returncode == 0, stderr
    assert "waiting until its worker is gone" in stderr
    assert "plotting in this process instead" in stderr
    record = json.loads((tmp_path / "results/timings/out.json").read_text())
    assert record["worker"] == "fresh"
    with Image.open(tmp_path / "results/plots/out.png") as image:
        image.verify()  # whole: the worker wrote none of it


class FakeServer(threading.Thread):
    """Has the right pid (it runs in this process), takes the job, answers badly."""

    def __init__(self, path: str, answer: bytes):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen()
        self.answer = answer

    def run(self):
        with self.sock:
            conn, _ = self.sock.accept()
            with conn:
                plotclient.send_frame(conn, plotclient.READY)
                _, fds, _, _ = socket.recv_fds(conn, 65536, 2)
                for fd in fds:
                    os.close(fd)
                plotclient.send_frame(conn, self.answer)


@pytest.mark.parametrize(
    "answer", [b"exit zero", b"exit 256", b"exit -1", b"\xff", b"", b"exit 1e9"]
)
def test_a_bad_answer_makes_the_job_plot_by_itself(tmp_path, answer):
    directory = tmp_path / "private"
    directory.mkdir(mode=0o700)
    authkey = os.urandom(32)
    fake = FakeServer(str(directory / "socket"), answer)
    fake.start()
    address = f"{os.getpid()}:{authkey.hex()}:{directory}/socket"
    result, png, record = plot_job(tmp_path, entry(DEATH_VALLEY), address)
    fake.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "gave no valid answer" in result.stderr
    assert record["worker"] == "fresh" and png.stat().st_size > 0


def test_workers_are_capped_at_the_runs_cores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    running = Server(tmp_path, cores=1)
    try:
        # Each job waits for the one worker as long as the others take (not the
        # 60 s a job waits by default before it plots by itself).
        env = {**ENV, plotclient.ENV_VAR: running.address}
        env["WEATHERPLOT_PLOT_ANSWER_SECONDS"] = "1800"
        jobs = [
            subprocess.Popen(job_command(entry(s), s), env=env, cwd=tmp_path)
            for s in THREE
        ]
        assert [job.wait(timeout=180) for job in jobs] == [0, 0, 0]
    finally:
        running.handle.stop()
    events = [
        line.split()[-1] == "started"
        for line in running.log.read_text().splitlines()
        if line.endswith(" started") or " finished a job with " in line
    ]
    assert events == [True, False] * 3  # one worker at a time


THREE = ["USC00042319", "ASN00086282", "JA000047778"]


class ServerLoop:
    """A :class:`plotserver._Server` in this process, with one tracked worker that
    is a real child (``sleep``) and one job connection: the bookkeeping of a batch
    of events, handled in the order the kernel may report them."""

    def __init__(self, tmp_path: Path):
        import select

        self.server = plotserver._Server(str(tmp_path / "socket"), b"k" * 32, 2)
        self.child = subprocess.Popen(["sleep", "600"])
        ours, self.worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pidfd = os.pidfd_open(self.child.pid)
        self.worker = plotserver._Worker(self.child.pid, pidfd, ours)
        self.server.by_pidfd[pidfd] = self.worker
        self.server.by_control[ours.fileno()] = self.worker
        self.server.poller.register(pidfd, select.EPOLLIN)
        self.server.poller.register(ours, select.EPOLLIN)
        self.job_end, conn = socket.socketpair()
        self.worker.job = conn
        self.server.by_job[conn.fileno()] = self.worker
        self.server.poller.register(conn, select.EPOLLRDHUP)

    def wait_until_dead(self):
        import select

        # Not reaped here: the server's waitpid does that.
        assert select.select([self.worker.pidfd], [], [], 60)[0]

    def close(self):
        with contextlib.suppress(ProcessLookupError):
            self.child.kill()
        self.child.wait()
        while self.server.closing:  # as poll_once does after a batch
            done = self.server.closing.pop()
            done.close() if isinstance(done, socket.socket) else os.close(done)
        self.server.listener.close()
        self.server.poller.close()


def test_a_worker_killed_for_its_hung_up_job_never_goes_back_on_the_idle_list(
    tmp_path,
):
    loop = ServerLoop(tmp_path)
    try:
        server, worker = loop.server, loop.worker
        job_fd = worker.job.fileno()
        # The job's process is killed just as its worker finishes: the hang-up is
        # handled first (the worker is killed), then the exit code it had sent.
        loop.job_end.close()
        loop.worker_end.send(b"0")
        server._handle(job_fd)
        loop.wait_until_dead()
        server._handle(worker.control.fileno())
        # The next job must go to a live worker, not to this one (whose pidfd event
        # would then answer that job "exit 137" without trying it).
        assert worker not in server.idle
        server._handle(worker.pidfd)
        assert worker not in server.idle and not server.by_pidfd
    finally:
        loop.close()


def test_a_worker_forked_in_the_batch_of_a_dead_worker_holds_none_of_its_fds(
    tmp_path,
):
    # The server forks from a process of one thread: so does this check, in a child
    # interpreter (this process has pytest's and OpenBLAS's threads), where CPython
    # 3.12+'s warning of a fork among threads is an error.
    check = (
        "import sys, pathlib, test_plotserver as t; "
        "t.fork_in_the_batch_of_a_dead_worker(pathlib.Path(sys.argv[1]))"
    )
    fork_warning = "error:This process:DeprecationWarning"
    result = subprocess.run(
        [sys.executable, "-W", fork_warning, "-c", check, str(tmp_path)],
        env={
            **ENV,
            "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), ENV["PYTHONPATH"]]),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def fork_in_the_batch_of_a_dead_worker(tmp_path: Path) -> None:
    assert psutil.Process().num_threads() == 1
    loop = ServerLoop(tmp_path)
    try:
        server, worker = loop.server, loop.worker
        held = (worker.control, worker.job)
        inodes = {f"socket:[{os.fstat(s.fileno()).st_ino}]" for s in held}
        loop.child.kill()
        loop.wait_until_dead()
        server._worker_exited(worker)  # its fds wait in server.closing
        assert server.closing
        job_end, conn = socket.socketpair()
        # A job accepted in the same batch gets a new worker (a fork of this process).
        new = server._start_worker(conn)
        try:
            # Once it says "ready" to a job, it has closed what it must not hold.
            socket.send_fds(new.control, [b"job"], [conn.fileno()])
            conn.close()
            job_end.settimeout(120)
            assert plotclient.recv_frame(job_end) == plotclient.READY
            targets = fd_targets(new.pid)
            assert not inodes & set(targets), targets
            assert not [t for t in targets if "pidfd" in t], targets
        finally:
            os.kill(new.pid, signal.SIGKILL)
            os.waitpid(new.pid, 0)
            job_end.close()
            conn.close()
    finally:
        loop.close()


@pytest.mark.parametrize("through_server", [True, False])
def test_an_unexpected_error_is_in_the_log_snakemake_points_to(
    tmp_path, monkeypatch, through_server
):
    monkeypatch.chdir(tmp_path)
    # A file where the plots' folder should be: not a station's fault.
    (tmp_path / "results").mkdir()
    (tmp_path / "results/plots").write_text("in the way\n")
    running = Server(tmp_path) if through_server else None
    try:
        result, _, record = plot_job(
            tmp_path, entry(DEATH_VALLEY), running and running.address
        )
    finally:
        if running:
            running.handle.stop()
    assert result.returncode == 1 and record is None
    job_log = (tmp_path / "logs/out.log").read_text()
    assert "Traceback" in job_log, (job_log, result.stderr)
    assert f"station {DEATH_VALLEY}: unexpected error:" in job_log
    assert "results/plots" in job_log  # what was in the way
    line = f"ERROR: station {DEATH_VALLEY}: unexpected error:"
    assert result.stderr.count(line) == 1, result.stderr
    assert "traceback in logs/out.log" in result.stderr


def test_two_runs_at_once_keep_both_their_lines_in_the_servers_log(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    first = Server(tmp_path)
    try:
        result, _, _ = plot_job(tmp_path, entry(DEATH_VALLEY), first.address)
        assert result.returncode == 0, result.stderr
        second = Server(tmp_path)  # another run, disjoint targets, same log
        second.handle.stop()
    finally:
        first.handle.stop()
    log = first.log.read_text()
    for running in (first, second):
        assert f"plot server {running.pid} listening" in log, log
        assert f"plot server {running.pid} stopped after" in log, log
    assert f"plot server {first.pid} stopped after 1 plot(s)" in log
    assert log.count("=== plot server of snakemake run") == 2, log


def test_a_stuck_worker_fails_its_job_at_the_runtime_deadline_and_is_killed(
    tmp_path, server
):
    # The worker blocks opening the held FIFO, which nobody ever writes: it cannot
    # finish, whenever the deadline comes (no race with the test).
    station, _ = held_entry(tmp_path)
    job = subprocess.Popen(
        job_command(station, "out"),
        # The rule sets this from its runtime (minutes * 60); short here.
        env={
            **ENV,
            plotclient.ENV_VAR: server.address,
            plotclient.PLOT_SECONDS_VAR: "2",
        },
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = job.communicate(timeout=180)  # the old code: for ever
    finally:
        with contextlib.suppress(ProcessLookupError):
            job.kill()
    assert job.returncode == 1, stderr
    errors = [line for line in stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "within 2 s" in errors[0], stderr
    assert "plotting in this process" not in stderr  # nobody plots it twice
    log = wait_for(server.log, "gone: killing the worker")
    worker = int(log.split(" is gone: killing the worker")[0].split("worker ")[-1])
    # The job left only once its worker was gone (it may not write the files later).
    assert not alive(worker)
    assert not (tmp_path / "results/plots/out.png").exists()
    # The next job gets a live worker.
    result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address, "b")
    assert result.returncode == 0, result.stderr
    assert record["worker"] == "forked" and record["pid"] != worker


def test_the_plot_deadline_comes_from_the_environment_or_a_generous_default(
    monkeypatch,
):
    def deadline():  # as request_plot reads it
        name, default = plotclient.PLOT_SECONDS_VAR, plotclient.PLOT_SECONDS
        return plotclient.seconds_setting(name, default)

    monkeypatch.setenv(plotclient.PLOT_SECONDS_VAR, "300")
    assert deadline() == 300
    for bad in ("", "soon", "0", "-5"):
        monkeypatch.setenv(plotclient.PLOT_SECONDS_VAR, bad)
        assert deadline() == plotclient.PLOT_SECONDS
    monkeypatch.delenv(plotclient.PLOT_SECONDS_VAR)
    assert deadline() == plotclient.PLOT_SECONDS >= 600


def epoll_entries(server_pid: int) -> dict[int, int]:
    """The fds the server's epoll watches, with the events it waits for on each
    (from /proc: its fdinfo lists them)."""
    for fd in Path(f"/proc/{server_pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            if str(fd.readlink()) == "anon_inode:[eventpoll]":
                info = Path(f"/proc/{server_pid}/fdinfo/{fd.name}").read_text()
                return {
                    int(fields[1]): int(fields[3], 16)
                    for fields in map(str.split, info.splitlines())
                    if fields[:1] == ["tfd:"]
                }
    raise AssertionError(f"process {server_pid} has no epoll")


def listener_events(server_pid: int, path: str) -> int | None:
    """The events the server's epoll waits for on its listener (from /proc)."""
    inode = None
    # The listening socket only (flag __SO_ACCEPTCON, 0x10000): a connection waiting
    # in its backlog is listed under the same path.
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[7] == path and int(fields[3], 16) & 0x10000:
            inode = fields[6]
    listener = None
    for fd in Path(f"/proc/{server_pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            if str(fd.readlink()) == f"socket:[{inode}]":
                listener = int(fd.name)
    return epoll_entries(server_pid).get(listener)


def test_running_out_of_descriptors_stops_accepting_instead_of_busy_looping(
    tmp_path, server
):
    import resource
    import select

    message = "accept failed"
    # A soft limit below the descriptors it holds: its next accept() fails (EMFILE).
    limit = resource.prlimit(server.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(server.pid, resource.RLIMIT_NOFILE, (3, limit[1]))
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(server.path)  # waits in the listen backlog
        wait_for(server.log, message)
        # It stops listening (the old loop stayed ready and wrote a line a turn).
        # (epoll always adds EPOLLERR | EPOLLHUP: what matters is EPOLLIN.)
        assert wait_until(
            lambda: not listener_events(server.pid, server.path) & select.EPOLLIN,
            timeout=60,
        ), server.log.read_text()
        resource.prlimit(server.pid, resource.RLIMIT_NOFILE, limit)
        # Descriptors again: it accepts by itself, and the next job is served.
        wait_for(server.log, "descriptors free again")
        result, _, record = plot_job(tmp_path, entry(DEATH_VALLEY), server.address)
        assert result.returncode == 0, result.stderr
        assert record["worker"] == "forked"
    finally:
        client.close()
    assert server.log.read_text().count(message) == 1, server.log.read_text()


def test_a_killed_runs_socket_folder_is_removed_at_the_next_start(
    tmp_path, monkeypatch
):
    import tempfile

    monkeypatch.chdir(tmp_path)
    scratch = Path(tempfile.mkdtemp(prefix="wpt-", dir="/tmp"))  # short: AF_UNIX
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)
    try:
        # A run killed with SIGKILL: its folder and socket stay, its process is gone.
        killed = subprocess.run(
            [
                sys.executable,
                "-c",
                "from weatherplot.plotserver import hooks as h; "
                "import socket; p = h._socket_path(); "
                "socket.socket(socket.AF_UNIX).bind(p); print(p)",
            ],
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert Path(killed).exists()
        # A live run's folder (this process) and one nobody can judge stay.
        live = Path(plothooks._socket_path()).parent
        foreign = scratch / "weatherplot-plot-server-notours"
        foreign.mkdir()
        running = Server(tmp_path)
        running.handle.stop()
        assert not Path(killed).parent.exists()
        assert live.is_dir() and foreign.is_dir()
        assert not Path(running.path).parent.exists()  # its own, removed at stop
    finally:
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
