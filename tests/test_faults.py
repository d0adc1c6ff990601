"""Faults and safety: kill, interrupt, run twice at once; no way out of results/.

The real snakemake on scratch copies of the workflow, with as few stations as prove
the point. One uninterrupted run (during which a second snakemake is refused the
directory) gives the reference PNGs that the interrupted runs must reproduce byte for
byte. Nothing races the clock: a run that must be caught mid-way has one station
whose file is a FIFO the test holds (``HeldStationFile``): its plot job, or the
worker forked from the warm plot server, is provably blocked reading it when the
test kills or interrupts snakemake. Every wait is for a file or a process.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import (
    DEATH_VALLEY,
    MELBOURNE,
    REPO,
    THREE_STATIONS,
    HeldStationFile,
    copy_workflow,
    parent_of,
    process_command,
    read_config,
    run_snakemake,
    snakemake_cmd,
    snakemake_env,
    write_config,
)
from PIL import Image

from weatherplot import timing

STATIONS = THREE_STATIONS
HELD = MELBOURNE  # the station whose file the test holds
KEPT = DEATH_VALLEY  # plotted in the same run before it is cut short
PLOTS_ONLY = ("--until", "plot_station")
# Both ways a plot job can plot: a worker forked from the warm plot server, or the
# job's own fresh process.
SERVER_SETTINGS = {
    "forked": ("--config", "plot_server=True"),
    "fresh": ("--config", "plot_server=False"),
}
LOCK_MESSAGE = "Directory cannot be locked"
HANG_GUARD = 300  # seconds: a guard against a hang, not a timing assertion


def start(workdir: Path, *args: str) -> subprocess.Popen:
    """snakemake in its own session (process group), as a terminal would run it:
    with Ctrl-C's default handling, even when pytest itself was started in the
    background by a shell without job control (which ignores SIGINT for it)."""
    return subprocess.Popen(
        [*snakemake_cmd(), *args],
        cwd=workdir,
        stdout=(workdir / "run.out").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=snakemake_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def output_of(workdir: Path) -> str:
    return (workdir / "run.out").read_text()


def wait_for(condition, process: subprocess.Popen, workdir: Path, what: str):
    """Poll ``condition`` until it holds; fail if the process ends first."""
    deadline = time.monotonic() + HANG_GUARD
    while not (result := condition()):
        if process.poll() is not None and not (result := condition()):
            pytest.fail(f"snakemake ended before {what}:\n{output_of(workdir)}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} after {HANG_GUARD} s")
        time.sleep(0.02)
    return result


def copy_with_held_station(workdir: Path, stations: list[str]) -> HeldStationFile:
    """A scratch copy of the workflow whose ``HELD`` station reads a FIFO."""
    copy_workflow(workdir, stations)
    (workdir / "data" / f"{HELD}.dly.gz").unlink()
    held = HeldStationFile(workdir / "data" / f"{HELD}.dly", HELD)
    config = read_config(workdir)
    for entry in config["stations"]:
        if entry["id"] == HELD:
            entry.update(held.config_entry(workdir))
    write_config(workdir, config)
    return held


def wait_until_held(held: HeldStationFile, run: subprocess.Popen, workdir: Path):
    """The pid of the process blocked reading the held station's file."""
    try:
        return held.wait_for_reader(lambda: run.poll() is None, timeout=HANG_GUARD)
    except AssertionError as error:
        run.kill()
        pytest.fail(f"{error}:\n{output_of(workdir)}")


def assert_reads_in(reader: int, server: str, workdir: Path) -> None:
    """The held reader is what ``server`` says: a worker forked from the plot
    server, or the plot job's own process."""
    if server == "forked":
        assert "weatherplot.plotserver" in process_command(reader)
        assert "weatherplot.plotserver" in process_command(parent_of(reader))
    else:
        assert "plot_station.py" in process_command(reader), output_of(workdir)


def one_plotted_one_held(workdir: Path, server: str):
    """A plots-only run of ``KEPT`` and ``HELD``, caught once ``KEPT`` is plotted
    while ``HELD``'s reader (of the kind ``server`` says) waits on its file."""
    held = copy_with_held_station(workdir, [KEPT, HELD])
    run = start(workdir, "--cores", "2", *PLOTS_ONLY, *SERVER_SETTINGS[server])
    reader = wait_until_held(held, run, workdir)
    assert_reads_in(reader, server, workdir)
    wait_for(
        lambda: result_files(workdir) == only_results_of([KEPT]),
        run,
        workdir,
        f"{KEPT}'s plot beside the held one",
    )
    return run, held, reader


def pngs(workdir: Path) -> dict[str, bytes]:
    plots = workdir / "results" / "plots"
    if not plots.is_dir():
        return {}
    return {p.stem: p.read_bytes() for p in plots.glob("*.png")}


def result_files(workdir: Path) -> list[str]:
    """Every file under results/, temporary ones included."""
    return sorted(
        str(p.relative_to(workdir))
        for p in (workdir / "results").rglob("*")
        if p.is_file()
    )


def only_results_of(stations: list[str]) -> list[str]:
    return sorted(
        f"results/{kind}/{s}.{ext}"
        for s in stations
        for kind, ext in (("plots", "png"), ("timings/plots", "json"))
    )


def running(workdir: Path) -> set[str]:
    """Stations whose plot Snakemake has marked incomplete: their job has started."""
    folder = workdir / ".snakemake" / "incomplete"
    names = [base64.b64decode(p.name).decode() for p in folder.glob("*")]
    return (
        {Path(n).stem for n in names if n.startswith("results/plots/")}
        if folder.is_dir()
        else set()
    )


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + HANG_GUARD  # orphans are reaped by init shortly
    while not group_is_gone(pgid):
        if time.monotonic() > deadline:
            pytest.fail(f"processes of group {pgid} survive")
        time.sleep(0.01)


def locks(workdir: Path) -> list[str]:
    folder = workdir / ".snakemake" / "locks"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run (with the warm plot server); while it holds its lock (a
    worker waits on the held station's file), a second snakemake in the same folder."""
    workdir = tmp_path_factory.mktemp("reference")
    held = copy_with_held_station(workdir, STATIONS)
    first = start(workdir, "--cores", "2", *PLOTS_ONLY, *SERVER_SETTINGS["forked"])
    reader = wait_until_held(held, first, workdir)
    locked = locks(workdir)
    second = run_snakemake(workdir, "--cores", "1", *PLOTS_ONLY, check=False)
    first_was_running = first.poll() is None
    held_was_plotted = HELD in pngs(workdir)
    held.release()
    returncode = first.wait(timeout=HANG_GUARD)
    return SimpleNamespace(
        workdir=workdir,
        reader=reader,
        locked=locked,
        returncode=returncode,
        output=output_of(workdir),
        second=second,
        first_was_running=first_was_running,
        held_was_plotted=held_was_plotted,
        pngs=pngs(workdir),
    )


@pytest.mark.integration
def test_second_snakemake_is_refused_and_first_run_unharmed(reference):
    second_output = reference.second.stdout + reference.second.stderr
    assert reference.locked, reference.output  # the first run held its lock
    assert reference.first_was_running, reference.output
    assert not reference.held_was_plotted  # the FIFO held that plot
    assert reference.second.returncode != 0
    assert LOCK_MESSAGE in second_output
    assert "Select jobs to execute" not in second_output  # it ran nothing
    assert reference.returncode == 0, reference.output
    assert sorted(reference.pngs) == sorted(STATIONS)
    for station in STATIONS:
        with Image.open(
            reference.workdir / "results" / "plots" / f"{station}.png"
        ) as im:
            im.verify()
    assert result_files(reference.workdir) == only_results_of(STATIONS)
    assert locks(reference.workdir) == []


@pytest.mark.integration
@pytest.mark.parametrize("server", SERVER_SETTINGS)
def test_sigkill_while_a_plot_is_held_then_unlock_and_rerun_incomplete(
    reference, tmp_path, server
):
    run, held, reader = one_plotted_one_held(tmp_path, server)
    os.killpg(run.pid, signal.SIGKILL)  # snakemake and every process it started
    run.wait(timeout=60)
    wait_group_gone(run.pid)  # the plot server and its workers too
    assert process_command(reader) == ""
    # The other station's plot is kept; the held one left nothing, not even a
    # temporary file, though Snakemake had marked it incomplete.
    assert result_files(tmp_path) == only_results_of([KEPT])
    assert pngs(tmp_path) == {KEPT: reference.pngs[KEPT]}
    assert HELD in running(tmp_path)
    if server == "fresh":
        return  # the rerun below is the same whichever way the killed run plotted
    held.replace_with_real_file()

    # A SIGKILL leaves snakemake's lock; the next run says so and names --unlock.
    again = run_snakemake(
        tmp_path, "--cores", "2", *PLOTS_ONLY, "--rerun-incomplete", check=False
    )
    assert again.returncode != 0
    assert LOCK_MESSAGE in again.stdout + again.stderr
    assert "--unlock" in again.stdout + again.stderr
    run_snakemake(tmp_path, "--unlock")
    run_snakemake(tmp_path, "--cores", "2", *PLOTS_ONLY, "--rerun-incomplete")

    assert pngs(tmp_path) == {s: reference.pngs[s] for s in (KEPT, HELD)}
    assert result_files(tmp_path) == only_results_of([KEPT, HELD])
    # Nothing is left to do.
    dry = run_snakemake(tmp_path, "-n", *PLOTS_ONLY)
    assert re.search(r"^total\s+0$|Nothing to be done", dry.stdout + dry.stderr, re.M)


@pytest.mark.integration
@pytest.mark.parametrize("server", SERVER_SETTINGS)
def test_sigint_while_a_plot_is_held_stops_cleanly_and_a_rerun_completes(
    reference, tmp_path, server
):
    run, held, reader = one_plotted_one_held(tmp_path, server)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the group
    returncode = run.wait(timeout=HANG_GUARD)
    wait_group_gone(run.pid)  # the plot server and its workers too
    assert returncode != 0
    assert process_command(reader) == ""
    assert locks(tmp_path) == []  # released: no --unlock needed
    assert result_files(tmp_path) == only_results_of([KEPT])
    if server == "fresh":
        return  # the rerun below is the same whichever way the cut run plotted
    held.replace_with_real_file()

    # The next run either just works, or asks for --rerun-incomplete (a job was
    # cut short) -- never for an --unlock or a hand clean-up.
    rerun = run_snakemake(tmp_path, "--cores", "2", *PLOTS_ONLY, check=False)
    said = rerun.stdout + rerun.stderr
    assert LOCK_MESSAGE not in said
    if rerun.returncode != 0:
        assert "IncompleteFilesException" in said and "--rerun-incomplete" in said
        run_snakemake(tmp_path, "--cores", "2", *PLOTS_ONLY, "--rerun-incomplete")
    assert pngs(tmp_path) == {s: reference.pngs[s] for s in (KEPT, HELD)}
    assert result_files(tmp_path) == only_results_of([KEPT, HELD])


# -- Atomic writes: an interrupted write leaves the old file or none -----------------


class DiskFull(OSError):
    pass


def write_half_then_fail(monkeypatch):
    """Path.write_bytes writes half its data, then fails (a full disk, a crash)."""
    real = Path.write_bytes

    def half(self, data):
        real(self, data[: len(data) // 2])
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half)


@pytest.mark.parametrize("old", [b"the old, complete file\n", None])
def test_failed_atomic_write_leaves_the_old_file_or_none(tmp_path, monkeypatch, old):
    target = tmp_path / "results" / "report.html"
    if old is not None:
        target.parent.mkdir(parents=True)
        target.write_bytes(old)
    write_half_then_fail(monkeypatch)
    with pytest.raises(DiskFull):
        timing.write_bytes_atomic(target, b"<html>" + b"x" * 10000)
    if old is None:
        assert not target.exists()
    else:
        assert target.read_bytes() == old
    assert [p.name for p in target.parent.iterdir()] == ([target.name] if old else [])


def test_report_writer_failing_mid_way_leaves_old_reports_whole(tmp_path, monkeypatch):
    """The report rule's writer, failing while it writes (not before): every report
    file is either the previous run's, whole, or absent -- none is half written."""
    from weatherplot import report

    paths = [tmp_path / n for n in ("timing_report.md", "timing_report.html", "t.json")]
    inputs = report.Inputs(stations=STATIONS, cores=2, snakemake_version="9.0")
    report.write_report(inputs, *paths)
    before = {p: p.read_bytes() for p in paths}
    write_half_then_fail(monkeypatch)
    with pytest.raises(DiskFull):
        report.write_report(replace(inputs, cores=1), *paths)
    for path in paths:
        assert path.read_bytes() == before[path]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_process_killed_inside_an_atomic_write_leaves_the_old_file(tmp_path):
    """A real SIGKILL in the middle of writing (after half the bytes are on disk)."""
    target = tmp_path / "timing_report.html"
    target.write_text("old report\n")
    child = f"""
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {str(REPO / "workflow")!r})
from weatherplot.timing import write_bytes_atomic
real = Path.write_bytes
def half_then_die(self, data):
    real(self, data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
Path.write_bytes = half_then_die
write_bytes_atomic({str(target)!r}, b"new report " * 1000)
"""
    result = subprocess.run([sys.executable, "-c", child], check=False)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "old report\n"


# -- Safety --------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    "target",
    [
        "results/plots/../x.png",
        "results/plots/a/b.png",
        "results/plots/a b.png",
        "results/plots/.hidden.png",
    ],
)
def test_unsafe_wildcards_match_no_rule(reference, target):
    """A real run (not a dry one), refused before any job: no file appears anywhere
    in or beside the workdir, and no finished output is touched."""
    around = reference.workdir.parent

    def files():
        return {
            (p, p.stat().st_mtime_ns)
            for p in around.rglob("*")
            if ".snakemake" not in p.parts and p.name != "run.out" and p.is_file()
        }

    before = files()
    result = run_snakemake(reference.workdir, "--cores", "1", target, check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert "MissingRuleException" in said and "No rule to produce" in said, said
    assert files() == before


@pytest.mark.integration
def test_a_safe_configured_id_does_match_plot_station(reference):
    """The control for the test above: the same command with a good id plans a job."""
    target = f"results/plots/{STATIONS[0]}.png"
    result = run_snakemake(reference.workdir, "-n", target, "--forcerun", target)
    assert re.search(r"^plot_station\s+1$", result.stdout, re.M), result.stdout


def rule_blocks() -> dict[str, str]:
    """Every rule's text, from the Snakefile and every rule file, by name."""
    blocks = {}
    for path in [
        REPO / "workflow" / "Snakefile",
        *sorted((REPO / "workflow/rules").glob("*.smk")),
    ]:
        text = path.read_text()
        for match in re.finditer(
            r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", text, flags=re.M
        ):
            blocks[f"{path.name}:{match[1]}"] = match[2]
    return blocks


def test_no_user_string_reaches_a_shell_unquoted():
    """Rules run scripts; the one shell rule (plot_station, which skips the script
    preamble's ~0.1 s per job) quotes every placeholder with :q."""
    blocks = rule_blocks()
    assert any(name.endswith(":plot_station") for name in blocks)
    for name, body in blocks.items():
        assert not re.search(r"^\s+(run|wrapper|notebook):", body, re.M), name
        shell = re.search(r"^\s+shell:\n((?:\s+\".*\"\n?)+)", body, re.M)
        if shell:
            placeholders = re.findall(r"\{([^{}]*)\}", shell.group(1))
            assert placeholders, name
            assert all(p.endswith(":q") for p in placeholders), (name, placeholders)
        elif not name.endswith(":all"):
            assert re.search(r"^\s+script:", body, re.M), name
    for path in [
        REPO / "workflow" / "Snakefile",
        *(REPO / "workflow/rules").glob("*.smk"),
    ]:
        text = path.read_text()
        assert not re.search(r"\bshell\(|os\.system|subprocess", text), path


def test_nothing_from_a_file_is_executed():
    """No eval/exec/pickle and no unsafe YAML in the package or the scripts."""
    sources = [*(REPO / "workflow").rglob("*.py"), *(REPO / "workflow").rglob("*.smk")]
    for path in sources:
        text = path.read_text()
        for pattern in (
            r"\beval\(",
            r"\bexec\(",
            r"\bpickle\b",
            r"yaml\.load\(",
            r"yaml\.unsafe_load",
            r"Loader=yaml\.(Unsafe|Full)?Loader",
        ):
            assert not re.search(pattern, text), (path, pattern)
    assert re.search(
        r"^configfile:", (REPO / "workflow" / "Snakefile").read_text(), re.M
    )
