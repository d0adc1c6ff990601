"""What a new user runs into after the README's first command: a bad station, a
mistyped flag, target or key, Snakemake's HTML report and long steps that print
nothing. Each ends in bounded time with a clear message; every test here failed on
the code before it was fixed. (A second (dry) run and a moved checkout read the
finished run: they are in test_full_run.py.)"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pathspec
import pytest
import yaml
from helpers import (
    FIXTURE_DATA,
    REPO,
    THREE_STATIONS,
    copy_workflow,
    read_config,
    run_snakemake,
    write_config,
)

GOOD = ["UK000056225", "ASN00086282", "JA000047778", "USC00042319"]


def truncated_station(folder: Path, station_id: str = "BROKEN1") -> Path:
    """A real station file cut in half: the interrupted download of the issue."""
    real = (FIXTURE_DATA / "UK000056225.dly.gz").read_bytes()
    path = folder / f"{station_id}.dly.gz"
    path.write_bytes(real[: len(real) // 2])
    return path


def baseline_process(
    tmp_path: Path, mode: str, stations: list[dict], workers=2, method="default"
):
    """``python -m weatherplot baseline`` as the exercise starts it."""
    spec = tmp_path / "stations.json"
    spec.write_text(json.dumps(stations))
    outdir = tmp_path / "plots"
    outdir.mkdir()
    command = [sys.executable, "-m", "weatherplot", "baseline", mode, str(workers)]
    command += [str(spec), str(outdir), str(tmp_path / "result.json"), method]
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    return command, env, outdir


# -- 1. A bad station fails the baselines fast, naming it ---------------------------


# Every start method of this platform: under forkserver and spawn the Pool's
# semaphores are named, and a parent that left without releasing them had the
# resource tracker's "leaked semaphore objects" warning end its stderr.
@pytest.mark.parametrize(
    ("mode", "method"),
    [("pool", m) for m in multiprocessing.get_all_start_methods()]
    + [("serial", "default")],
)
def test_baseline_with_a_bad_station_fails_fast_naming_it(tmp_path, mode, method):
    bad = truncated_station(tmp_path)
    stations = [{"id": s, "file": str(FIXTURE_DATA / f"{s}.dly.gz")} for s in GOOD[:2]]
    stations.insert(1, {"id": "BROKEN1", "file": str(bad)})
    command, env, _ = baseline_process(tmp_path, mode, stations, method=method)
    # Before the fix the Pool waited for ever here: the timeout turns that into a
    # failure instead of a hung test.
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ERROR: {mode} baseline: station BROKEN1: ")
    assert "gzip data is truncated or corrupt" in last
    assert "Traceback" not in done.stderr
    assert "leaked" not in done.stderr
    assert not (tmp_path / "result.json").exists()


@pytest.mark.parametrize("mode", ["pool", "serial"])
def test_baseline_gives_up_on_a_station_that_never_finishes(tmp_path, mode):
    """A station whose read blocks for ever (a FIFO nobody writes) stalls the loop
    or the Pool: the baseline stops after the stall limit, naming it."""
    fifo = tmp_path / "HANG.dly"
    os.mkfifo(fifo)
    code = (
        "import sys; from weatherplot.baselines import plot_all\n"
        "from weatherplot.measure import MeasureError\n"
        f"try: plot_all({mode!r}, 2, [{{'id': 'HANG', 'file': {str(fifo)!r}}}], "
        f"{str(tmp_path)!r}, stall_seconds=2)\n"
        "except MeasureError as e: print(e); sys.exit(3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "HANG" in done.stdout
    assert re.search(r"not finished after 2 s|no station finished for 2 s", done.stdout)


def test_killed_pool_worker_fails_the_baseline_naming_its_station(tmp_path):
    stations = [
        {"id": p.name.split(".")[0], "file": str(p)}
        for p in sorted(FIXTURE_DATA.glob("*.dly.gz"))
    ]
    command, env, outdir = baseline_process(tmp_path, "pool", stations)
    baseline = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (markers := list(outdir.glob(".worker-*"))):
            assert time.monotonic() < deadline, "no worker ever took a station"
            assert baseline.poll() is None, "the baseline ended before the kill"
            time.sleep(0.05)
        worker = int(markers[0].name.removeprefix(".worker-"))
        os.kill(worker, signal.SIGKILL)
        _, stderr = baseline.communicate(timeout=60)
    finally:
        baseline.kill()
        baseline.wait()
    assert baseline.returncode == 1
    assert re.search(
        rf"a Pool worker \(pid {worker}\) was killed by SIGKILL while plotting "
        r"station \w+",
        stderr,
    ), stderr


@pytest.fixture(scope="module")
def bad_station_run(tmp_path_factory):
    """The whole workflow, three good stations and a truncated one, --keep-going."""
    workdir = copy_workflow(tmp_path_factory.mktemp("bad"), THREE_STATIONS)
    truncated_station(workdir / "data")
    config = read_config(workdir)
    config["stations"].append({"id": "BROKEN1"})
    # A class's own config file, as config/quick.yaml is given: the closing note
    # must name it, not config/config.yaml.
    (workdir / "config" / "class.yaml").write_text(yaml.safe_dump(config))
    # Before the fix this waited for ever (the Pool baseline): the timeout fails it.
    run = run_snakemake(
        workdir,
        "--cores",
        "2",
        "--keep-going",
        "--configfile",
        "config/class.yaml",
        check=False,
    )
    return workdir, run


@pytest.mark.integration
def test_keep_going_plots_every_good_station_and_exits_nonzero(bad_station_run):
    workdir, run = bad_station_run
    output = run.stdout + run.stderr
    assert run.returncode != 0
    for station in THREE_STATIONS:
        assert (workdir / "results" / "plots" / f"{station}.png").exists()
    # The exercise times the serial loop first: it fails there, naming the station.
    assert (
        "ERROR: exercise: serial baseline: station BROKEN1: data/BROKEN1.dly.gz"
        in output
    )
    # No timing report, and the run says why, naming the failed station.
    assert not (workdir / "results" / "report" / "timing_report.html").exists()
    assert "No plot for 1 of 4 station(s): BROKEN1" in output
    assert "timing report is made only when every station is plotted" in output
    assert "remove those stations in config/class.yaml and run again" in output


@pytest.mark.integration
def test_bad_station_fails_alone_and_leaves_no_output(bad_station_run, tmp_path):
    """A broken file fails its own plot job (the error in snakemake's output and the
    job's log); every other station's plot is made; the failing station leaves no
    PNG or timing record -- also when a good PNG of it existed from an earlier run
    (in a copy of the run above, which it must leave as it is)."""
    workdir, run = bad_station_run
    output = run.stdout + run.stderr
    logs = workdir / "logs" / "plot_station"
    expected = "station BROKEN1: data/BROKEN1.dly.gz: gzip data is truncated or corrupt"
    assert f"ERROR: {expected}" in output
    assert expected in (logs / "BROKEN1.log").read_text()
    assert "download the file again" in (logs / "BROKEN1.log").read_text()
    for station in THREE_STATIONS:
        assert (workdir / f"results/plots/{station}.png").read_bytes()[:4] == b"\x89PNG"
        assert (workdir / f"results/timings/plots/{station}.json").exists()
    assert not (workdir / "results/plots/BROKEN1.png").exists()
    assert not (workdir / "results/timings/plots/BROKEN1.json").exists()

    # A good station's file goes bad (a botched re-download): its old PNG must not
    # survive as if it were current.
    copy = tmp_path / "copy"
    shutil.copytree(workdir, copy, symlinks=True)  # copy2: keeps the mtimes
    plots, timings, logs = (
        copy / "results" / "plots",
        copy / "results" / "timings" / "plots",
        copy / "logs" / "plot_station",
    )
    turns_bad, *good = THREE_STATIONS
    kept = {s: (plots / f"{s}.png").stat().st_mtime_ns for s in good}
    kept_bytes = {s: (plots / f"{s}.png").read_bytes() for s in good}
    bad_file = copy / "data" / f"{turns_bad}.dly.gz"
    bad_file.write_bytes(gzip.decompress(bad_file.read_bytes())[:50000])
    args = ("--cores", "2", "--keep-going", "--until", "plot_station")
    second = run_snakemake(copy, *args, check=False)
    output = second.stdout + second.stderr
    assert second.returncode != 0, output
    problem = (
        f"station {turns_bad}: data/{turns_bad}.dly.gz: the name ends in .gz "
        "but the content is not gzip"
    )
    assert f"ERROR: {problem}" in output
    assert problem in (logs / f"{turns_bad}.log").read_text()
    assert not (plots / f"{turns_bad}.png").exists()
    assert not (timings / f"{turns_bad}.json").exists()
    assert not (plots / "BROKEN1.png").exists()
    for station in good:  # untouched: not even rerun
        assert (plots / f"{station}.png").stat().st_mtime_ns == kept[station]
        assert (plots / f"{station}.png").read_bytes() == kept_bytes[station]
    leftovers = [p.name for p in plots.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.integration
def test_long_timing_jobs_say_what_they_wait_for_at_default_verbosity(
    bad_station_run,
):
    _, run = bad_station_run
    output = run.stdout + run.stderr
    expected = [
        r"sleep demo: do_nothing\(0\.05\) 4 times in a loop, in 4 threads and in "
        r"4 processes, 1 time\(s\): under a second of sleeping \(progress: "
        r"logs/demos/sleep\.log\)",
        r"numpy demo: np\.random\.rand\(10000\) .* 37 times",
        r"exercise: timing the serial loop, multiprocessing\.Pool\(2\) and "
        r"snakemake --cores 2 on 4 station\(s\), 1 time\(s\) each",
    ]
    for pattern in expected:
        assert re.search(pattern, output), pattern


# -- 2.-4. Mistakes on the command line or in the config ----------------------------


@pytest.mark.integration
def test_cores_zero_is_refused_before_any_job(workflow_copy):
    # Before the fix this waited for ever at "Select jobs to execute".
    run = run_snakemake(workflow_copy, "--cores", "0", check=False, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "--cores 0 leaves no CPU for any job" in output
    assert "pass --cores N" in output
    assert not (workflow_copy / "results").exists()


@pytest.mark.integration
def test_unconfigured_station_target_says_how_to_add_it(workflow_copy):
    run = run_snakemake(workflow_copy, "results/plots/NOPE.png", "-n", check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "NOPE is not a configured station" in output
    assert "'- id: NOPE' under 'stations:' in config/config.yaml" in output
    assert "Traceback" not in output
    assert "KeyError" not in output


@pytest.mark.integration
def test_typo_in_a_station_key_is_one_line_with_the_closest_key(workflow_copy):
    config = read_config(workflow_copy)
    config["stations"][1]["nmae"] = config["stations"][1].pop("name")
    write_config(workflow_copy, config)
    run = run_snakemake(workflow_copy, "-n", check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    (line,) = [x for x in output.splitlines() if "unknown key" in x]
    assert line == (
        f"config: stations entry 2 (id {config['stations'][1]['id']!r}): "
        "unknown key 'nmae'; did you mean 'name'? "
        "(allowed: country, elevation_m, file, format, id, latitude, longitude, "
        "name, units; see config/README.md)"
    )
    assert "Failed validating" not in output
    assert "schema" not in output


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"stations": [{"id": "A"}], "demos": {"wokers": 2}},
            "config: key 'demos': unknown key 'wokers'; did you mean 'workers'?",
        ),
        (
            {"stations": [{"id": "A"}], "colour": 1},
            "config: top level: unknown key 'colour' (allowed: baselines, data_dir,",
        ),
        (
            {"stations": [{"id": "A"}, {"id": "B", "units": "metrc"}]},
            "config: stations entry 2, key 'units': 'metrc' is not one of",
        ),
    ],
)
def test_schema_errors_become_one_line(config, expected):
    """Snakemake's own validate() stays the validator; its error is translated."""
    from jsonschema.exceptions import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from weatherplot.preflight import schema_error_line

    with pytest.raises(WorkflowError) as caught:
        validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    assert isinstance(caught.value.__context__, ValidationError)
    line = schema_error_line(caught.value.__context__)
    assert line.startswith(expected)
    assert "\n" not in line


# -- 6. snakemake --report after the README's first command --------------------------


def test_first_command_installs_what_snakemake_report_needs():
    """`pip install -e .` must bring pygments: Snakemake's report refuses without
    it, and Snakemake installs it only with its "reports" extra."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {
        re.split(r"[ <>=!~\[;]", d, maxsplit=1)[0].lower()
        for d in declared["dependencies"]
    }
    snakemake_requires = {
        re.split(r"[ <>=!~\[;(]", r, maxsplit=1)[0].lower()
        for r in importlib.metadata.requires("snakemake") or []
        if "extra ==" not in r
    }
    for needed in ("pygments", "jinja2"):
        assert needed in names | snakemake_requires, needed


def test_report_html_in_the_checkout_is_ignored_by_git():
    # The ignore file's text, not `git check-ignore`: the tests also run from a
    # tarball or an sdist, which have no repository to ask.
    spec = pathspec.GitIgnoreSpec.from_lines(
        (REPO / ".gitignore").read_text().splitlines()
    )
    assert spec.match_file("report.html")


def test_the_baseline_command_by_hand_says_how_to_call_it(tmp_path):
    command, env, _ = baseline_process(tmp_path, "serial", [])
    for argv in (["--help"], command[4:6], ["parallel", *command[5:]]):
        result = subprocess.run(
            [*command[:4], *argv], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 2
        assert result.stderr.startswith("usage: python -m weatherplot baseline")
        assert "Traceback" not in result.stderr
