"""A runnable copy of this workflow's code in a scratch folder.

The benchmark, the scaling study and the tests run the real ``snakemake`` on such a
copy, so their results, logs and locks never touch the user's working directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

WORKFLOW_ROOT = Path(__file__).resolve().parents[2]
CODE = ("Snakefile", "workflow", "config", "profiles")


def copy_workflow_code(dest: Path, root: Path = WORKFLOW_ROOT) -> Path:
    """Copy the Snakefile, ``workflow/``, ``config/`` and ``profiles/`` (not the data,
    not results) from ``root`` into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in CODE:
        source = root / name
        if source.is_dir():
            shutil.copytree(
                source,
                dest / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest
