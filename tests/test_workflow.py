"""The real snakemake on a temporary copy of the workflow."""

from __future__ import annotations

import re
import subprocess

import helpers
import pytest
from helpers import (
    FIXTURE_STATIONS,
    copy_workflow,
    fixture_config,
    planned_jobs,
    read_config,
    run_snakemake,
    write_config,
)

from weatherplot.scratch import copy_workflow_code

pytestmark = pytest.mark.integration


def test_dry_run_plans_one_plot_job_per_station(tmp_path):
    workdir = copy_workflow(tmp_path)  # the fixture's stations
    jobs = planned_jobs(
        run_snakemake(workdir, "-n", "results/plots/USC00042319.png", "--forceall")
    )
    assert jobs["plot_station"] == 1
    all_jobs = run_snakemake(workdir, "-n", "--until", "plot_station")
    assert planned_jobs(all_jobs)["plot_station"] == len(FIXTURE_STATIONS)
    for station in FIXTURE_STATIONS:  # each from its file in data_dir
        assert f"data/{station}.dly.gz" in all_jobs.stdout


def test_the_users_config_never_reaches_a_scratch_copy(tmp_path, monkeypatch):
    """A checkout whose config/config.yaml would break every test (other stations,
    no plot server, a demo no machine can hold): its scratch copies still get the
    fixture config, and the copy's DAG builds."""
    (tmp_path / "checkout").mkdir()
    checkout = copy_workflow_code(tmp_path / "checkout", helpers.REPO)
    hostile = {
        "stations": [{"id": "JA000047759"}, {"id": "USW00023183"}],
        "plot_server": False,
        "demos": {"array_size": 10**12},
    }
    write_config(checkout, hostile)
    monkeypatch.setattr(helpers, "REPO", checkout)
    workdir = copy_workflow(tmp_path / "copy")
    assert read_config(workdir) == fixture_config()
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--until", "plot_station"))
    assert jobs["plot_station"] == len(FIXTURE_STATIONS)


def test_the_users_default_profile_never_reaches_a_scratch_copy(tmp_path, monkeypatch):
    """Snakemake loads profiles/default/ by itself: a checkout whose default profile
    would break every test (a cluster executor this machine lacks) still gives its
    scratch copies the fixture profile, and the copy's DAG builds."""
    (tmp_path / "checkout").mkdir()
    checkout = copy_workflow_code(tmp_path / "checkout", helpers.REPO)
    live = checkout / "profiles" / "default" / "config.yaml"
    live.write_text("executor: slurm\ncores: 1\n")
    monkeypatch.setattr(helpers, "REPO", checkout)
    workdir = copy_workflow(tmp_path / "copy")
    profile = workdir / "profiles" / "default" / "config.yaml"
    assert profile.read_text() == helpers.FIXTURE_PROFILE.read_text()
    jobs = planned_jobs(run_snakemake(workdir, "-n", "--until", "plot_station"))
    assert jobs["plot_station"] == len(FIXTURE_STATIONS)


def test_a_plot_job_waits_its_runtime_for_the_plot_server(tmp_path):
    """The plot job's command gives the plot client its rule's runtime (minutes) in
    seconds, WEATHERPLOT_PLOT_SECONDS (weatherplot/plotserver/client.py), as set for
    the run: the assignment, run by a shell, exports 7 minutes as 420."""
    workdir = copy_workflow(tmp_path)
    target = f"results/plots/{helpers.MELBOURNE}.png"
    result = run_snakemake(
        workdir, target, "-n", "-p", "--set-resources", "plot_station:runtime=7"
    )
    command = next(
        line.removeprefix("Shell command: ")
        for line in result.stdout.splitlines()
        if line.startswith("Shell command: WEATHERPLOT_PLOT_SECONDS=")
    )
    assignment = re.match(r"(WEATHERPLOT_PLOT_SECONDS=(\$\(\(.*?\)\)|\S+)) ", command)
    exported = subprocess.run(
        ["sh", "-c", f"{assignment[1]} sh -c 'echo $WEATHERPLOT_PLOT_SECONDS'"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert exported.stdout.strip() == "420"


def test_building_the_dag_evaluates_no_jobs_resources(tmp_path):
    """Per-station work at DAG build only where a job needs it: a quiet dry run (as
    the 10,000-station figures in docs/performance.md are taken) evaluates no job's
    resources, so a default resource that fails when evaluated does not stop it.
    A params function asking for resources made Snakemake evaluate every plot job's
    while building the DAG."""
    workdir = copy_workflow(tmp_path)
    result = run_snakemake(
        workdir, "-n", "--quiet", "--default-resources", "weatherplot_probe=1/0"
    )
    assert "Failed to evaluate resources" not in result.stdout + result.stderr
    # The probe is real: a run that does evaluate resources (a dry run that lists
    # each job's) fails on it.
    listed = run_snakemake(
        workdir, "-n", "--default-resources", "weatherplot_probe=1/0", check=False
    )
    assert listed.returncode != 0
    assert "Failed to evaluate resources value '1/0'" in listed.stdout + listed.stderr


# Calls a Windows Python does not have. The rules files run on every platform at
# parse time, before any job: one of these there stops the run on Windows with an
# AttributeError (os.sysconf did, for the numpy demo's memory check).
UNIX_ONLY = re.compile(
    r"\bos\.(sysconf|getuid|geteuid|getpgid|killpg|setsid|fork|getloadavg)\b"
    r"|\bimport (fcntl|resource|pwd|grp)\b"
)


def test_the_rules_files_call_nothing_windows_lacks():
    root = helpers.REPO
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in [root / "workflow/Snakefile", *root.glob("workflow/rules/*.smk")]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if UNIX_ONLY.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "\n".join(found)
