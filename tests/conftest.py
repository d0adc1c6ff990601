"""The ``workflow_copy`` and ``finished_run`` fixtures, and how the xdist workers share
the suite. Shared helpers and constants live in helpers.py; they are re-exported here
for tests that still import them from conftest."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest
from helpers import (  # noqa: F401  (re-exported)
    CDO,
    DATA,
    DEATH_VALLEY,
    FIXTURE_CONFIG,
    FIXTURE_DATA,
    FIXTURE_STATIONS,
    FT_PYTHON_ENV,
    OXFORD,
    REPO,
    SHARED_DATA,
    THREE_STATIONS,
    copy_workflow,
    ft_python,
    read_config,
    run_snakemake,
    snakemake_cmd,
    write_config,
)

TESTS = Path(__file__).resolve().parent

# How the two xdist workers share the suite (pyproject.toml: --dist loadscope, and
# no reordering by xdist). The modules below have tests that share one of the
# suite's own fixtures of module or session scope (a scratch run made once for
# several tests): each runs whole on one worker, so that run is made once. Every
# other test is handed out by itself, to whichever worker is free. The longest
# modules come first (as measured with --durations on the 2-core development
# machine), the rest after them in file order, so the last tests handed out are
# short ones and neither worker waits long for the other at the end. Only the order
# and the grouping change: a module missing from LONGEST_FIRST, or gone, is no error;
# a module that shares a fixture but is missing from SHARED_FIXTURE_MODULES stops the
# run (pytest_collection_modifyitems).
SHARED_FIXTURE_MODULES = {
    "test_demos.py",
    "test_faults.py",
    "test_free_threaded_run.py",
    "test_full_run.py",
    "test_slurm.py",
    "test_startmethod.py",
    "test_user_paths.py",
}
LONGEST_FIRST = (
    "test_full_run.py",  # the session's finished run, and what reads it
    "test_faults.py",
    "test_plotserver.py",
    "test_scaling.py",
    "test_commands.py",
    "test_user_paths.py",
    "test_download.py",
    "test_module.py",
    "test_report.py",
)


def shares_a_fixture(item: pytest.Item) -> bool:
    """Whether ``item`` uses a fixture of this suite that outlives one test."""
    info = getattr(item, "_fixtureinfo", None)
    for fixturedefs in info.name2fixturedefs.values() if info else ():
        fixturedef = fixturedefs[-1]
        source = inspect.getsourcefile(fixturedef.func)
        if fixturedef.scope != "function" and Path(source).parent == TESTS:
            return True
    return False


def pytest_configure(config):
    """On CI (CI=true) the free-threaded tests must run, not be skipped."""
    if os.environ.get("CI") == "true" and ft_python() is None:
        raise pytest.UsageError(
            f"CI=true but {FT_PYTHON_ENV} is not set: the free-threaded tests would "
            "be skipped; .ci/run builds the interpreter and sets it (see "
            "docs/free-threading.md)"
        )


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable
    for item in items:
        if item.path.name not in SHARED_FIXTURE_MODULES and shares_a_fixture(item):
            raise pytest.UsageError(
                f"{item.nodeid} uses a module- or session-scoped fixture: add "
                f"{item.path.name!r} to SHARED_FIXTURE_MODULES in {__file__}, so "
                "its tests run on one xdist worker and the fixture is made once"
            )


@pytest.hookimpl(optionalhook=True)  # an xdist hook: no error with -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """--dist loadscope, with a scope per test outside SHARED_FIXTURE_MODULES."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WholeModulesOnlyWhereShared(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if Path(module).name in SHARED_FIXTURE_MODULES:
                return module
            return nodeid

    return WholeModulesOnlyWhereShared(config, log)


@pytest.fixture
def workflow_copy(tmp_path):
    """A scratch copy of the workflow with the fixture config (three real stations,
    tiny demos), whatever the user's config/config.yaml holds."""
    return copy_workflow(tmp_path, THREE_STATIONS)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """The whole workflow (plots, demos, exercise, report) run once with the fixture
    config, shared by the tests that read a finished run and leave it as it is.
    They all live in test_full_run.py: a session fixture is made once per xdist
    worker, and the tests of test_full_run.py share one (SHARED_FIXTURE_MODULES)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("full"), THREE_STATIONS)
    run_snakemake(workdir, "--cores", "2")
    return workdir
