"""The ``workflow_copy`` fixture. Shared helpers and constants live in helpers.py;
they are re-exported here for tests that still import them from conftest."""

from __future__ import annotations

import pytest
from helpers import (  # noqa: F401  (re-exported)
    CDO,
    DATA,
    DEATH_VALLEY,
    FIXTURE_CONFIG,
    FIXTURE_DATA,
    FIXTURE_STATIONS,
    OXFORD,
    REPO,
    SHARED_DATA,
    THREE_STATIONS,
    copy_workflow,
    read_config,
    run_snakemake,
    snakemake_cmd,
    write_config,
)

# The longest modules first (longest first, as measured with --durations on the 2-core
# development machine), the rest after them in file order. --dist loadscope hands out
# whole modules as workers free up (pyproject.toml turns off its own ordering, by
# number of tests): a long module handed out last keeps one worker busy while the
# other has nothing left to do. Only the order changes; a module missing here or
# gone from the suite is no error.
LONGEST_MODULES = (
    "test_plotserver.py",
    "test_faults.py",
    "test_commands.py",
    "test_full_run.py",
    "test_user_paths.py",
    "test_download.py",
    "test_scaling.py",
    "test_report.py",
    "test_module.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable


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
    worker, and --dist loadscope keeps a module on one worker."""
    workdir = copy_workflow(tmp_path_factory.mktemp("full"), THREE_STATIONS)
    run_snakemake(workdir, "--cores", "2")
    return workdir
