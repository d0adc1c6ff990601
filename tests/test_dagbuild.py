"""What common.smk sets up before the DAG is built (weatherplot.dagbuild)."""

from __future__ import annotations

import gc
import inspect
import os

import pytest
from helpers import REPO

from weatherplot import dagbuild
from weatherplot.importpath import PACKAGE_PARENT


def test_code_on_this_disk_is_what_the_jobs_import(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    code = dagbuild.use_workflow_package(REPO / "workflow" / "rules")
    assert code == REPO / "workflow"
    # A job's python finds this copy first; the user's path stays after it.
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [PACKAGE_PARENT, "/elsewhere"]


class RemoteSource:
    """What workflow.current_basedir is for code from a git repository: no path."""


@pytest.mark.parametrize("basedir", [RemoteSource(), "/no/weatherplot/package/rules"])
def test_code_not_on_this_disk_leaves_the_import_path_alone(monkeypatch, basedir):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert dagbuild.use_workflow_package(basedir) is None
    assert os.environ["PYTHONPATH"] == "/elsewhere"


def test_workflow_root_is_the_codes_folder_or_the_projects(tmp_path):
    assert dagbuild.workflow_root(REPO / "workflow", "/any") == REPO
    # Remote code: the project's folder, whether its Snakefile is at the top or
    # in workflow/ (as snakedeploy lays it out).
    assert dagbuild.workflow_root(None, tmp_path) == tmp_path
    assert dagbuild.workflow_root(None, tmp_path / "workflow") == tmp_path


def test_the_dag_build_collects_less_often():
    before = gc.get_threshold()
    try:
        dagbuild.collect_less_often()
        assert gc.get_threshold() == dagbuild.DAG_BUILD_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
    finally:
        gc.set_threshold(*before)


def test_the_dag_build_can_pause_the_collector_until_the_jobs_run():
    """Paused: no collection at all while the DAG is built; gc.enable() (the run's
    onstart hook) brings it back at the build's thresholds."""
    before = gc.get_threshold()
    try:
        dagbuild.collect_less_often(pause=True)
        assert not gc.isenabled()
        gc.enable()
        assert gc.get_threshold() == dagbuild.DAG_BUILD_THRESHOLDS
    finally:
        gc.enable()
        gc.set_threshold(*before)


def test_a_fixed_signature_answers_snakemake_without_inspecting_again(monkeypatch):
    """Snakemake asks for an input or params function's parameters at every job;
    the plot rule's functions carry theirs, so it is not worked out again."""
    from snakemake.common import get_function_params

    def station_param(wildcards, input=None):
        return wildcards

    expected = list(get_function_params(station_param))
    fixed = dagbuild.fixed_signature(station_param)

    def no_inspection(*args, **kwargs):
        raise AssertionError("the signature was inspected again")

    monkeypatch.setattr(inspect, "_signature_from_function", no_inspection)
    assert list(get_function_params(fixed)) == expected == ["wildcards", "input"]
    assert fixed("X00001") == "X00001"  # the same function
