"""What the Snakemake process sets up for itself before it builds the DAG
(workflow/rules/common.smk); the measurements behind it: docs/performance.md."""

from __future__ import annotations

import gc
import inspect
import os
from pathlib import Path

from .importpath import child_env


def use_workflow_package(basedir) -> Path | None:
    """The workflow's code folder (workflow/, the parent of ``basedir``, the rules
    folder) when it is on this disk, after making every job this process starts
    import the package from it (PYTHONPATH: the scripts set no path of their own);
    None when the code comes from a git repository (a module or a snakedeploy
    deployment), whose package must be installed instead."""
    try:  # a folder on this disk; a git source (github(), gitfile()) is no path
        code = Path(os.fspath(basedir)).parent
    except TypeError:
        return None
    if not (code / "weatherplot" / "__init__.py").is_file():
        return None
    os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
    return code


def workflow_root(code: Path | None, snakefile_dir) -> Path:
    """What the exercise and the scaling study copy: the workflow's own folder when
    its ``code`` is on this disk, else the project's (whose Snakefile, at the top or
    in workflow/ as snakedeploy lays it out, uses the same remote source). Never the
    package's location: an installed package is in site-packages."""
    if code is not None:
        return code.parent
    main = Path(snakefile_dir)
    return main.parent if main.name == "workflow" else main


# Building the DAG makes ~100 objects per job that live to the end of the run, which
# full collections at the default thresholds rescan again and again: a 10,000-station
# dry run took 10.6 s of CPU at (700, 10, 10), 9.0 s at these, less paused.
DAG_BUILD_THRESHOLDS = (50_000, 10, 10)


def collect_less_often(pause: bool = False) -> None:
    """Python's cyclic collector at :data:`DAG_BUILD_THRESHOLDS`, for this process;
    with ``pause``, off until ``gc.enable()`` (the run's onstart hook)."""
    gc.set_threshold(*DAG_BUILD_THRESHOLDS)
    if pause:
        gc.disable()


# Snakemake asks inspect.signature which arguments an input or params function takes,
# two or three times per job (3 % of a 2,000-station dry run's instructions); a
# function carrying its signature (PEP 362) answers at once.
def fixed_signature(func):
    """``func``, its signature computed once (``__signature__``)."""
    func.__signature__ = inspect.signature(func)
    return func
