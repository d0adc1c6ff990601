"""The workflow used from another project: as a Snakemake module from a local path,
and deployed from a remote source, as snakedeploy lays the project out.

Each test runs the real ``snakemake`` in a scratch project whose working directory
is not the workflow's code: the code is a scratch copy of this repository, used
through ``module ...: snakefile: ...`` and ``use rule * from ...``. The remote case
serves that copy over HTTP on 127.0.0.1, which Snakemake fetches file by file as it
does from a git host (``github(...)`` in a snakedeploy Snakefile): the code is then
not a folder on this disk and the installed weatherplot package runs it. The remote
runs use the project laid out here; one test checks that snakedeploy lays out the
same (snakedeploy installs on Python < 3.13 only).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import png_checks
import pytest
import yaml
from helpers import (
    FIXTURE_DATA,
    FIXTURE_PROFILE,
    REPO,
    fixture_config,
    planned_jobs,
    run_snakemake,
    snakemake_cmd,
    snakemake_env,
)
from PIL import Image

from weatherplot.importpath import PACKAGE_PARENT, child_env
from weatherplot.scratch import copy_workflow_code

STATIONS = ["USC00042319", "JA000047778"]
PNGS = [f"results/plots/{station}.png" for station in STATIONS]

# What a project using the workflow writes: its config, the module, all its rules.
MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module weatherplot:
    snakefile:
        {snakefile!r}
    config:
        config


use rule * from weatherplot
"""

# Opting in to the warm plot server: Snakemake ignores a module's hooks, so the
# using Snakefile calls them (README, "Using the workflow in your own project").
FORWARDED_HOOKS = """

onstart:
    weatherplot.onstart()


onsuccess:
    weatherplot.onsuccess()


onerror:
    weatherplot.onerror()
"""


# -- The package's import path for child processes ------------------------------------


def test_child_env_puts_this_package_first_and_keeps_the_rest():
    env = child_env({"PYTHONPATH": os.pathsep.join(["/a", "", PACKAGE_PARENT, "/b"])})
    assert env["PYTHONPATH"].split(os.pathsep) == [PACKAGE_PARENT, "/a", "/b"]
    assert child_env({})["PYTHONPATH"] == PACKAGE_PARENT
    assert Path(PACKAGE_PARENT, "weatherplot", "importpath.py").is_file()


def test_a_child_python_imports_this_copy_of_the_package():
    result = subprocess.run(
        [sys.executable, "-c", "import weatherplot; print(weatherplot.__file__)"],
        env=child_env({"PATH": os.environ.get("PATH", "")}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()).parent.parent == Path(PACKAGE_PARENT)


# -- Module use -----------------------------------------------------------------------


def copy_repository(dest: Path) -> Path:
    """The workflow's code and licence, as a scratch repository to use from."""
    dest.mkdir(parents=True)
    copy_workflow_code(dest, REPO)
    # The fixture profile, not the user's live one (snakedeploy copies it along).
    shutil.copyfile(FIXTURE_PROFILE, dest / "profiles" / "default" / "config.yaml")
    shutil.copy2(REPO / "LICENSE", dest)
    return dest


def make_project(project: Path) -> Path:
    """A user's project: two stations' data and a config (the test suite's frozen
    one, with its station list cut to two: never the user's config/config.yaml),
    no workflow code."""
    (project / "data").mkdir(parents=True)
    shutil.copy2(FIXTURE_DATA / "stations.csv", project / "data")
    for station in STATIONS:
        shutil.copy2(FIXTURE_DATA / f"{station}.dly.gz", project / "data")
    config = fixture_config()
    config["stations"] = [s for s in config["stations"] if s["id"] in STATIONS]
    assert [s["id"] for s in config["stations"]] == STATIONS
    (project / "config").mkdir(exist_ok=True)
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return project


def workers(project: Path) -> set[str]:
    """How each plot was made: "fresh" process or "forked" from the plot server."""
    return {
        json.loads((project / f"results/timings/plots/{s}.json").read_text())["worker"]
        for s in STATIONS
    }


def assert_plotted(project: Path) -> None:
    for png in PNGS:
        with Image.open(project / png) as image:
            assert image.format == "PNG" and image.size == (1200, 1050)
        png_checks.check_panels(project / png)  # the panels, read as pixels


def assert_up_to_date(project: Path) -> None:
    """A second run has nothing to do: the plot script's cached path, which changes
    from run to run, does not rerun the plots."""
    result = run_snakemake(project, "-n", *PNGS)
    assert "Nothing to be done" in result.stdout + result.stderr, result.stdout


@pytest.mark.integration
def test_module_from_a_local_path_plots_in_fresh_processes(tmp_path):
    code = copy_repository(tmp_path / "weather-plot")
    project = make_project(tmp_path / "project")
    (project / "Snakefile").write_text(
        MODULE_SNAKEFILE.format(snakefile=str(code / "Snakefile"))
    )

    run_snakemake(project, "--cores", "2", *PNGS)

    assert_plotted(project)
    # A module's run hooks do not run: no plot server, each job plotted by itself.
    assert workers(project) == {"fresh"}
    assert not (project / "logs" / "plot_server.log").exists()
    # Everything is written in the project, nothing beside the code.
    assert not (code / "results").exists() and not (code / "logs").exists()
    # The whole workflow builds as a module: rule all is the default target. Its
    # plots are up to date (the plot script's cached path, which changes from run
    # to run, does not rerun them): no plot_station job is planned.
    jobs = planned_jobs(run_snakemake(project, "-n"))
    assert {"demo", "exercise", "timing_report", "all"} <= set(jobs), jobs
    assert "plot_station" not in jobs, jobs


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """A scratch copy of the workflow served over HTTP on 127.0.0.1: a remote
    source for Snakemake, as a git host's raw files are."""
    code = copy_repository(tmp_path / "weather-plot")
    handler = functools.partial(QuietHandler, directory=str(code))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield code, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def lay_out(code: Path, url: str, dest: Path, snakefile_tail: str = "") -> Path:
    """The project snakedeploy lays out for ``code`` (its config, profiles and
    licence, and a workflow/Snakefile that uses every rule of the workflow as a
    module), the module's code from ``url`` (the remote source), with the fixture's
    config cut to two stations."""
    for folder in ("config", "profiles"):
        shutil.copytree(code / folder, dest / folder)
    shutil.copy2(code / "LICENSE", dest)
    (dest / "workflow").mkdir()
    (dest / "workflow" / "Snakefile").write_text(
        MODULE_SNAKEFILE.format(snakefile=f"{url}/workflow/Snakefile") + snakefile_tail
    )
    return make_project(dest)


def snakedeploy_cmd() -> list[str]:
    """The snakedeploy of the interpreter running the tests (the test extra)."""
    script = Path(sys.executable).with_name("snakedeploy")
    assert script.exists(), "snakedeploy is missing: pip install -e '.[test]'"
    return [str(script)]


def deploy(code: Path, url: str, dest: Path) -> Path:
    """A snakedeploy deployment of ``code``, its module pointed at ``url`` (the
    remote source), with the fixture's config cut to two stations."""
    subprocess.run(
        [
            *snakedeploy_cmd(),
            "deploy-workflow",
            str(code),
            str(dest),
            "--branch",
            "main",
            "--name",
            "weatherplot",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # What snakedeploy lays out: our config, profiles and licence, and a Snakefile
    # that uses every rule of the workflow as a module.
    assert (dest / "LICENSE").read_text() == (REPO / "LICENSE").read_text()
    assert (dest / "profiles" / "default" / "config.yaml").is_file()
    snakefile = (dest / "workflow" / "Snakefile").read_text()
    assert "module weatherplot:" in snakefile
    assert "use rule * from weatherplot" in snakefile
    # snakedeploy takes the workflow from workflow/Snakefile, where the catalog's
    # convention puts it. Point the module at the remote source: snakedeploy writes
    # github(...) for a repository on GitHub; here the same files come from the
    # local HTTP server.
    assert "workflow/Snakefile" in snakefile, snakefile
    snakefile, count = re.subn(
        r"(snakefile:\s*\n\s*)\S.*\n",
        rf'\g<1>"{url}/workflow/Snakefile"\n',
        snakefile,
    )
    assert count == 1, snakefile
    (dest / "workflow" / "Snakefile").write_text(snakefile)
    assert (dest / "config" / "config.yaml").is_file()
    return make_project(dest)  # the user edits the deployed config: the fixture's


def files(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
    }


@pytest.mark.integration
@pytest.mark.skipif(
    importlib.util.find_spec("snakedeploy") is None,
    reason="snakedeploy is not installed (every release from 0.14 on requires "
    "Python < 3.13); the remote-source tests use the project it would lay out",
)
def test_snakedeploy_lays_out_the_project_the_remote_tests_use(tmp_path, served):
    code, url = served
    deployed = deploy(code, url, tmp_path / "deployed")
    by_hand = lay_out(code, url, tmp_path / "by-hand")

    deployed_files, by_hand_files = files(deployed), files(by_hand)
    assert deployed_files.keys() == by_hand_files.keys()
    snakefile = "workflow/Snakefile"
    assert {k: v for k, v in deployed_files.items() if k != snakefile} == {
        k: v for k, v in by_hand_files.items() if k != snakefile
    }
    # snakedeploy's Snakefile (its module from the remote source) plans what the
    # one laid out here plans.
    jobs = planned_jobs(run_snakemake(deployed, "-n", *PNGS))
    assert jobs == planned_jobs(run_snakemake(by_hand, "-n", *PNGS))
    assert jobs["plot_station"] == len(STATIONS), jobs


@pytest.mark.integration
def test_a_deployment_from_a_remote_source_with_the_plot_server(tmp_path, served):
    code, url = served
    dest = lay_out(code, url, tmp_path / "deployed", FORWARDED_HOOKS)

    run_snakemake(dest, "--cores", "2", *PNGS)

    assert_plotted(dest)
    # The forwarded hooks started the warm plot server, and stopped it.
    assert workers(dest) == {"forked"}
    assert "stopped after 2 plot(s)" in (dest / "logs/plot_server.log").read_text()
    assert_up_to_date(dest)


@pytest.mark.integration
def test_a_deployment_from_a_remote_source_builds_the_default_target(tmp_path, served):
    """The workflow's code is not on this disk and the package is installed (here
    a copy in a site-packages folder, first on the path): the exercise's scratch
    copy is the deployed project (whose module uses the same source), not the
    package's grandparent folder (site-packages' parent, no workflow in it)."""
    code, url = served
    dest = lay_out(code, url, tmp_path / "deployed")
    site = tmp_path / "venv" / "lib" / "python3" / "site-packages"
    shutil.copytree(
        REPO / "workflow" / "weatherplot",
        site / "weatherplot",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    result = subprocess.run(
        [*snakemake_cmd(), "--cores", "2"],  # the default target, report included
        cwd=dest,
        env={**snakemake_env(), "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]

    record = json.loads((dest / "results/timings/exercise.json").read_text())
    assert record["stations"] == STATIONS
    assert record["methods"]["snakemake"]["runs"][0]["jobs"] == len(STATIONS)
    # The whole workflow as a user builds it: every plot and the timing report.
    assert_plotted(dest)
    html = (dest / "results/report/timing_report.html").read_text()
    assert all(station in html for station in STATIONS)
    assert "speedup" in html.lower()


@pytest.mark.integration
def test_remote_code_without_the_package_stops_before_any_job(tmp_path, served):
    """Remote code needs the installed package of its version: one from another
    version (here, one without weatherplot.importpath) stops the run at once, saying
    what to install."""
    _, url = served
    project = make_project(tmp_path / "project")
    (project / "Snakefile").write_text(
        MODULE_SNAKEFILE.format(snakefile=f"{url}/Snakefile")
    )
    other = tmp_path / "other-version" / "weatherplot"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(other.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "the weatherplot package cannot be imported" in message, message
    assert "pip install 'weatherplot @ git+" in message
    assert not (project / "results").exists()
