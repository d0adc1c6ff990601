"""Shared test helpers: the frozen fixture, scratch copies of the workflow, snakemake.

Tests import from here (``from helpers import ...``); conftest.py re-exports the same
names and provides the ``workflow_copy`` fixture. No helper reads the user's
``config/config.yaml``: a scratch copy always gets ``tests/fixtures/config.yaml``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from weatherplot.scratch import copy_workflow_code

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FIXTURE_CONFIG = FIXTURES / "config.yaml"
FIXTURE_PROFILE = FIXTURES / "profile" / "config.yaml"  # not the user's default one
FIXTURE_DATA = FIXTURES / "data"  # frozen copies of a few shipped stations
DATA = REPO / "data"  # the shipped data; prefer FIXTURE_DATA, which no user edits
CDO = REPO / "tests" / "data" / "ncei-cdo"  # real NCEI CDO exports
SHARED_DATA = REPO.parent / "shared" / "data"  # the project's full data set, if beside
SHARED_DATA_MISSING = (
    f"needs the project's full real-data folder at {SHARED_DATA} (a checkout of the "
    "project's shared data beside this one); the workflow does not need it"
)
DEATH_VALLEY = "USC00042319"
OXFORD = "UK000056225"
MELBOURNE = "ASN00086282"  # the smallest real .dly
SHIONOMISAKI = "JA000047778"
THREE_STATIONS = [DEATH_VALLEY, MELBOURNE, SHIONOMISAKI]


# A free-threaded CPython (no GIL) for the tests that need one: its python (a venv's
# with NumPy, Matplotlib and pandas, as `snakemake free_threaded_python` makes). CI
# sets it (.ci/run); unset, those tests are skipped (tests/conftest.py fails the
# run instead when CI=true, so CI cannot skip them silently).
FT_PYTHON_ENV = "WEATHERPLOT_FT_PYTHON"
FT_PYTHON_MISSING = (
    f"needs a free-threaded Python: set {FT_PYTHON_ENV} to its python (a venv with "
    "numpy, matplotlib and pandas; `snakemake --cores 2 free_threaded_python` "
    "makes one, see docs/free-threading.md)"
)


def ft_python() -> str | None:
    """The free-threaded python in WEATHERPLOT_FT_PYTHON, or None when unset."""
    return os.environ.get(FT_PYTHON_ENV) or None


def fixture_config() -> dict:
    """A fresh copy of the frozen fixture config."""
    return yaml.safe_load(FIXTURE_CONFIG.read_text())


FIXTURE_STATIONS = [s["id"] for s in fixture_config()["stations"]]


def station_file(station: str) -> Path:
    """The real ``.dly.gz`` of a shipped station: the fixture's frozen copy if it
    has one, else the shipped file (for a test that needs a station it lacks)."""
    frozen = FIXTURE_DATA / f"{station}.dly.gz"
    return frozen if frozen.exists() else DATA / f"{station}.dly.gz"


def snakemake_cmd() -> list[str]:
    """The snakemake of the interpreter running the tests (the project's venv)."""
    return [sys.executable, "-m", "snakemake"]


def snakemake_env() -> dict[str, str]:
    """The environment for a nested snakemake: without the user's SNAKEMAKE_PROFILE
    (a cluster profile would send the tests' jobs to the cluster)."""
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}


def copy_workflow(dest: Path, stations: list[str] | None = None) -> Path:
    """A runnable scratch copy of the workflow in ``dest`` (results start empty),
    configured by the fixture config and profile, whatever ``config/config.yaml``
    and ``profiles/default/config.yaml`` hold.

    ``stations`` limits the config to those ids (the fixture's three when None); a
    shipped station the fixture does not list is added by id with its real file.
    """
    Path(dest).mkdir(parents=True, exist_ok=True)
    copy_workflow_code(dest, REPO)
    # Snakemake loads profiles/default/ by itself: the fixture's, not the user's.
    shutil.copyfile(FIXTURE_PROFILE, dest / "profiles" / "default" / "config.yaml")
    config = fixture_config()
    if stations is not None:
        listed = {s["id"]: s for s in config["stations"]}
        config["stations"] = [listed.get(s, {"id": s}) for s in stations]
    (dest / "data").mkdir()
    shutil.copy2(FIXTURE_DATA / "stations.csv", dest / "data" / "stations.csv")
    for station in config["stations"]:
        shutil.copy2(station_file(station["id"]), dest / "data")
    write_config(dest, config)
    return dest


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )


def read_config(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600):
    result = subprocess.run(
        [*snakemake_cmd(), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=snakemake_env(),
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def run_module(workdir: Path, *args: str, timeout: int = 600):
    """``python -m ...`` in ``workdir``, importing the package of that copy (not the
    checkout's, whose WORKFLOW_ROOT would copy the user's config)."""
    env = {**snakemake_env(), "PYTHONPATH": str(workdir / "workflow")}
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def value_on(daily, element: str, day: str) -> float:
    """The value of ``element`` on ``day`` (YYYY-MM-DD), which must be in the record."""
    import numpy as np

    i = int(np.searchsorted(daily.dates, np.datetime64(day)))
    assert daily.dates[i] == np.datetime64(day)
    return daily.values[element][i]


def planned_jobs(result) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    import re

    table = result.stdout.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


class HeldStationFile:
    """A station file the test controls: a FIFO in place of the real ``.dly.gz``.

    Whatever reads it -- a plot job in a fresh process, or a worker forked from the
    warm plot server (which has Matplotlib imported already, so no import-time gate
    can hold it) -- blocks in ``open()`` until the test opens the other end, and then
    in ``read()`` until the test writes. The test thus knows a plot is under way and
    can keep it there as long as it likes (a kill test never lets it go).

    The FIFO's name ends in ``.dly`` (give the entry ``format: ghcnd``); the real
    file's gzip bytes go through it (the reader tells gzip by its magic bytes).
    Snakemake takes a FIFO as an input (it stats it, and never checksums one).
    """

    def __init__(self, path: Path, station: str):
        self.path = Path(path)
        self.real = station_file(station)
        self.entry = {"id": station, "format": "ghcnd"}
        os.mkfifo(self.path)
        self._writer: int | None = None

    def config_entry(self, workdir: Path) -> dict:
        """The station's config entry (``file`` relative to ``workdir``)."""
        return {**self.entry, "file": str(self.path.relative_to(workdir))}

    def wait_for_reader(self, still_running=lambda: True, timeout: float = 300) -> int:
        """Wait until a process opens the FIFO to read it; returns that process's pid.

        The test then holds the write end without writing: the reader stays in
        ``read()`` until :meth:`release` (or forever). ``still_running`` is polled
        so a run that ends without reading fails at once, not at the time-out.
        """
        deadline = time.monotonic() + timeout
        while self._writer is None:
            try:  # ENXIO until a reader has the FIFO open (or waits in open())
                self._writer = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                if not still_running():
                    raise AssertionError(f"nothing read {self.path}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"nothing read {self.path} in {timeout} s"
                    ) from None
                time.sleep(0.02)
        os.set_blocking(self._writer, True)
        while not (readers := fifo_readers(self.path)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no process holds {self.path} open")
            time.sleep(0.01)
        return readers[0]

    def release(self) -> None:
        """Send the real file's bytes to the waiting reader, then end of file."""
        assert self._writer is not None, "release() before wait_for_reader()"
        try:
            with os.fdopen(self._writer, "wb") as writer:
                writer.write(self.real.read_bytes())
        finally:
            self._writer = None

    def replace_with_real_file(self) -> None:
        """The real file takes the FIFO's place (for a rerun); an end still held
        is closed, so a reader still waiting gets an empty file."""
        copy = self.path.with_name(self.path.name + ".new")
        shutil.copyfile(self.real, copy)
        copy.replace(self.path)
        if self._writer is not None:
            os.close(self._writer)
            self._writer = None


def fd_targets(pid: int) -> list[str]:
    """What the process's open fds point to (from /proc; [] once it is gone or not
    ours to look at; an fd closed meanwhile is left out)."""
    targets = []
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):
                targets.append(str(fd.readlink()))
    except OSError:
        return []
    return targets


def fifo_readers(path: Path) -> list[int]:
    """Pids of the other processes that have ``path`` open (from /proc)."""
    target = str(Path(path).resolve())
    pids = (int(p.name) for p in Path("/proc").glob("[0-9]*"))
    return [pid for pid in pids if pid != os.getpid() and target in fd_targets(pid)]


def process_command(pid: int) -> str:
    """The process's command line ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
