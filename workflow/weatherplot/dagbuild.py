"""What the Snakemake process sets up for itself before it builds the DAG
(workflow/rules/common.smk): where this workflow's code is, the import path of the
jobs it starts, the folder the exercise and the scaling study copy, the collector's
thresholds and the signatures of the per-job functions.
"""

from __future__ import annotations

import gc
import inspect
import os
from pathlib import Path

from .importpath import child_env


def use_workflow_package(basedir) -> Path | None:
    """The folder of the workflow's code (workflow/) when it is on this disk, after
    making every job this process starts import the package from it (PYTHONPATH:
    the scripts and the plot command set no path of their own); None when the code
    comes from a git repository (a module or a snakedeploy deployment), whose
    package must be installed in the environment instead.

    ``basedir`` is the folder of the rules file calling it
    (``workflow.current_basedir``: workflow/rules/). Snakemake has already put
    workflow/, the folder of workflow/Snakefile, first on this process's import
    path when it included that file.
    """
    try:  # a folder on this disk; a git source (github(), gitfile()) is no path
        code = Path(os.fspath(basedir)).parent
    except TypeError:
        return None
    if not (code / "weatherplot" / "__init__.py").is_file():
        return None
    os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
    return code


def workflow_root(code: Path | None, snakefile_dir) -> Path:
    """What the exercise and the scaling study copy into their scratch folders:
    this workflow's own folder when its code is on this disk (``code``, a checkout or
    a module from a local path), else the project's (``snakefile_dir``, the main
    Snakefile's folder), whose Snakefile uses the same remote source (Snakefile or,
    as snakedeploy lays it out, workflow/Snakefile). Never the package's location:
    an installed package is in site-packages."""
    if code is not None:
        return code.parent
    main = Path(snakefile_dir)
    return main.parent if main.name == "workflow" else main


# Building the DAG makes ~100 objects per job that live to the end of the run; with
# Python's default thresholds (700, 10, 10) full collections rescan them again and
# again. docs/performance.md: a 10,000-station dry run took 10.6 s of CPU with the
# default thresholds, 9.0 s with these (same peak memory: few are garbage). Even so
# the collector scans each of them at least twice (0.6 s of CPU there); paused until
# the jobs start, it scans none (0.15 s left, from Snakemake's own start-up), and the
# peak memory is the same.
DAG_BUILD_THRESHOLDS = (50_000, 10, 10)


def collect_less_often(pause: bool = False) -> None:
    """Python's cyclic collector at :data:`DAG_BUILD_THRESHOLDS`, for this process;
    with ``pause``, off until ``gc.enable()`` (the run's onstart hook)."""
    gc.set_threshold(*DAG_BUILD_THRESHOLDS)
    if pause:
        gc.disable()


# Snakemake asks inspect.signature which arguments (wildcards, input, output, ...) an
# input or params function takes, at every job: twice per input function, three times
# per params function, ~9 us each. docs/performance.md: 3 % of a 2,000-station dry
# run's instructions. A function carrying its signature (PEP 362) answers at once.
def fixed_signature(func):
    """``func``, its signature computed once (``__signature__``)."""
    func.__signature__ = inspect.signature(func)
    return func
