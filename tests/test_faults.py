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

import ast
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

from weatherplot import atomicwrite

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
        atomicwrite.write_bytes_atomic(target, b"<html>" + b"x" * 10000)
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
from weatherplot.atomicwrite import write_bytes_atomic
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
    """Every rule runs a script or a shell command (no run:, wrapper or notebook),
    and every shell rule (plot_station, which skips the script preamble's ~0.1 s per
    job; the demos, the exercise and the scaling study as `python -m weatherplot...`)
    quotes every placeholder with :q."""
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
    # No shell() call, os.system or subprocess of the rule files' own Python (the
    # compiled rules' shell directives are checked above).
    for path, tree in workflow_trees().items():
        if path.suffix == ".py":
            continue
        for node, _ in calls_outside_rules(tree):
            name = dotted(node.func)
            assert name != "shell" and name != "os.system", (path, node.lineno)
            assert not name.startswith("subprocess."), (path, node.lineno)


def workflow_trees() -> dict[Path, ast.Module]:
    """The syntax tree of every Python file of the workflow, and of the Snakefile and
    every rule file as Snakemake compiles them to Python (its own parser)."""
    from snakemake.parser import parse
    from snakemake.sourcecache import LocalSourceFile

    class Sources:  # the one thing of a Workflow the parser uses
        def open(self, source):
            return open(source.get_path_or_uri(secret_free=True), encoding="utf-8")

    trees = {p: ast.parse(p.read_text(), str(p)) for p in REPO.glob("workflow/**/*.py")}
    snakefiles = [REPO / "Snakefile", REPO / "workflow" / "Snakefile"]
    for path in [*snakefiles, *sorted(REPO.glob("workflow/rules/*.smk"))]:
        code, _ = parse(
            LocalSourceFile(str(path)), SimpleNamespace(sourcecache=Sources()), {}
        )
        trees[path] = ast.parse(code, str(path))
    return trees


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain, else ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def calls_outside_rules(tree: ast.AST, in_rule: bool = False):
    """(call, inside a compiled rule's function) for every call in ``tree``, except
    those inside a compiled rule (``def __rule_...``) when ``in_rule`` is False."""
    for child in ast.iter_child_nodes(tree):
        rule = in_rule or (
            isinstance(child, ast.FunctionDef) and child.name.startswith("__rule_")
        )
        if isinstance(child, ast.Call) and not rule:
            yield child, rule
        yield from calls_outside_rules(child, rule) if not rule else ()


SAFE_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader"}


def is_safe_loader(node: ast.AST, tree: ast.AST) -> bool:
    """A SafeLoader or CSafeLoader, directly, as getattr(yaml, "CSafeLoader",
    yaml.SafeLoader), or a name only ever assigned one of those in ``tree``."""
    if dotted(node) in SAFE_LOADERS:
        return True
    if isinstance(node, ast.Call) and dotted(node.func) == "getattr":
        args = node.args
        return (
            len(args) == 3
            and dotted(args[0]) == "yaml"
            and isinstance(args[1], ast.Constant)
            and f"yaml.{args[1].value}" in SAFE_LOADERS
            and is_safe_loader(args[2], tree)
        )
    if isinstance(node, ast.Name):
        values = [
            a.value
            for a in ast.walk(tree)
            if isinstance(a, ast.Assign)
            and any(dotted(t) == node.id for t in a.targets)
        ]
        return bool(values) and all(
            not isinstance(v, ast.Name) and is_safe_loader(v, tree) for v in values
        )
    return False


def unsafe_code(tree: ast.AST) -> list[str]:
    """What in ``tree`` could run code from data: eval/exec/compile, pickle,
    os.system/os.popen, shell=True, a YAML load without a safe loader."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            if any(n.split(".")[0] in ("pickle", "marshal", "shelve") for n in names):
                found.append(f"line {node.lineno}: imports pickle/marshal/shelve")
        if dotted(node) in ("yaml.Loader", "yaml.UnsafeLoader", "yaml.FullLoader"):
            found.append(f"line {node.lineno}: {dotted(node)}")
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        where = f"line {node.lineno}: {name}"
        if name in ("eval", "exec", "compile", "os.system", "os.popen"):
            found.append(where)
        if name in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all"):
            found.append(where)
        if name in ("yaml.load", "yaml.load_all"):
            loader = [k.value for k in node.keywords if k.arg == "Loader"]
            loader += node.args[1:2]
            if not (loader and is_safe_loader(loader[0], tree)):
                found.append(f"{where} without a SafeLoader/CSafeLoader")
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{where}(shell=...)")
    return found


def test_nothing_from_a_file_is_executed():
    """No eval/exec/pickle, no shell=True or os.system, and YAML only through a
    safe loader, in the package, the scripts, the Snakefile and the rule files
    (their syntax trees, not their text)."""
    trees = workflow_trees()
    assert REPO / "workflow/rules/config_syntax.smk" in trees
    for path, tree in trees.items():
        assert not unsafe_code(tree), (path, unsafe_code(tree))
    snakefile = REPO / "workflow" / "Snakefile"
    assert re.search(r"^configfile:", snakefile.read_text(), re.M)


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    from weatherplot.atomicwrite import _pid_space_tag, temp_path, write_bytes_atomic

    png = tmp_path / "results/plots/X.png"
    png.parent.mkdir(parents=True)
    # A writer killed mid-save (a plot-server worker killed with its job) leaves
    # its temp file; its pid is gone. A live writer's (this test's parent) stays.
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = temp_path(png, dead.pid, _pid_space_tag())
    left.write_bytes(b"half a png")
    live = temp_path(png, os.getppid(), _pid_space_tag())
    live.write_bytes(b"being written")
    write_bytes_atomic(png, b"the png")
    assert png.read_bytes() == b"the png"
    assert not left.exists()
    assert live.exists()


@pytest.mark.parametrize("prefix", ["exercise-", "exercise-dry-", "baseline-fanout-"])
def test_a_sigkilled_runs_scratch_folder_is_removed_by_the_next_run(
    tmp_path, monkeypatch, prefix
):
    import tempfile

    from weatherplot.ownedtemp import owned_tempdir

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    # The exercise's (or a baseline's) process, killed inside its scratch folder.
    code = (
        "import sys; from weatherplot.ownedtemp import owned_tempdir\n"
        f"with owned_tempdir({prefix!r}) as d:\n"
        "    print(d, flush=True); sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), "TMPDIR": str(tmp_path)}
    killed = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    left = Path(killed.stdout.readline().strip())
    killed.kill()
    killed.wait()
    assert left.is_dir()  # SIGKILL: no clean-up ran
    foreign = tmp_path / f"{prefix}notours"  # no owner file: nobody can judge it
    foreign.mkdir()
    with owned_tempdir(prefix) as scratch:
        assert not left.exists()
        assert foreign.is_dir() and Path(scratch).is_dir()
    assert not Path(scratch).exists()


@pytest.mark.parametrize(
    ("code", "unsafe"),
    [
        ("yaml.safe_load(f)", False),
        ("yaml.load(f, Loader=yaml.SafeLoader)", False),
        ("yaml.load(f, yaml.CSafeLoader)", False),
        (
            "L = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)\nyaml.load(f, Loader=L)",
            False,
        ),
        ("subprocess.run(['ls', x], shell=False)", False),
        ("yaml.load(f)", True),
        ("yaml.load(f, Loader=yaml.Loader)", True),
        ("yaml.load(f, Loader=yaml.FullLoader)", True),
        ("L = yaml.UnsafeLoader\nyaml.load(f, Loader=L)", True),
        ("L = getattr(yaml, 'CSafeLoader', yaml.Loader)\nyaml.load(f, L)", True),
        ("L = yaml.SafeLoader\nL = yaml.Loader\nyaml.load(f, Loader=L)", True),
        ("yaml.unsafe_load(f)", True),
        ("subprocess.run(cmd, shell=True)", True),
        ("subprocess.Popen(cmd, shell=flag)", True),
        ("os.system(cmd)", True),
        ("eval(text)", True),
        ("exec(text)", True),
        ("import pickle", True),
        ("from pickle import loads", True),
    ],
)
def test_the_unsafe_code_guard_finds_what_it_forbids(code, unsafe):
    assert bool(unsafe_code(ast.parse(code))) is unsafe, code
