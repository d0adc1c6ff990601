"""Optional parts stay optional (issue 31, item 3): with the warm plot server
(weatherplot/plotserver/) or the CPython build (weatherplot/ftbuild.py) deleted from a
copy of the workflow, the real snakemake still runs the default target, plots and
reports. (tests/test_layers.py checks that no module of the package imports them.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import png_checks
import pytest
from helpers import MELBOURNE, REPO, copy_workflow, run_snakemake

pytestmark = pytest.mark.integration


def run_without(tmp_path, part: str):
    """The default target in a copy (the smallest station) without ``part``."""
    workdir = copy_workflow(tmp_path, [MELBOURNE])
    path = workdir / "workflow" / "weatherplot" / part
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    return workdir, run_snakemake(workdir, "--cores", "2")


def check_plot_and_report(workdir) -> dict:
    """The station's plot drawn and the timing report made from its record."""
    png_checks.check_panels(workdir / "results" / "plots" / f"{MELBOURNE}.png")
    report = workdir / "results" / "report"
    markdown = (report / "timing_report.md").read_text()
    assert "What do you actually get?" in markdown
    html = (report / "timing_report.html").read_text()
    assert f"../plots/{MELBOURNE}.png" in html
    return json.loads(
        (workdir / "results" / "timings" / "plots" / f"{MELBOURNE}.json").read_text()
    )


def test_without_the_plot_server_each_job_plots_in_a_fresh_process(tmp_path):
    workdir, run = run_without(tmp_path, "plotserver")
    record = check_plot_and_report(workdir)
    # The fixture config asks for the server: the run says why there is none.
    assert "No warm plot server" in run.stderr
    assert record["worker"] == "fresh"
    assert not (workdir / "logs" / "plot_server.log").exists()
    markdown = (workdir / "results" / "report" / "timing_report.md").read_text()
    assert "Each job ran in a fresh Python process" in markdown


def test_without_the_cpython_build_its_target_says_it_is_not_available(tmp_path):
    workdir, _ = run_without(tmp_path, "ftbuild.py")
    record = check_plot_and_report(workdir)
    assert record["worker"] == "forked"  # the plot server is still there
    build = run_snakemake(workdir, "--cores", "1", "free_threaded_python", check=False)
    assert build.returncode != 0
    assert re.search(r"free_threaded_python: not available.*ftbuild", build.stderr)
    assert not (workdir / "resources" / "free-threaded-python").exists()


def test_the_snakefile_imports_the_plot_server_hooks_without_linux_only_modules():
    """plots.smk imports the hooks on every platform; Windows has no ``resource``
    (which the server's workers use), and a hooks module that imported the server at
    its top stopped every Windows run at parse. Here ``resource`` is hidden: the
    hooks import, say no server can start there, and start none."""
    code = """
import sys
sys.modules["resource"] = None  # as on Windows
from weatherplot.plotserver.hooks import PlotServer
import weatherplot.plotserver.hooks as hooks
hooks.supported = lambda: False  # as on Windows: no pidfd_open
print(PlotServer().start("log.txt"))
"""
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "workflow"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "None"
