"""How a child Python process imports this copy of the package.

The package lives in ``workflow/weatherplot`` and is not always installed: a
checkout, a test's scratch copy or a workflow used as a Snakemake module from a
local path runs it from its folder. Every place that starts a Python process that
must import it (the Snakemake run for its jobs, the plot server, the baselines'
children, the benchmark) builds that process's environment here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# The folder that holds weatherplot/ (workflow/ in a checkout).
PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default: this process's environment) whose PYTHONPATH
    starts with PACKAGE_PARENT, so a child ``python`` imports this copy of the
    package before any other; an existing PYTHONPATH is kept after it."""
    env = dict(os.environ if env is None else env)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT, *(p for p in rest if p != PACKAGE_PARENT)]
    )
    return env
