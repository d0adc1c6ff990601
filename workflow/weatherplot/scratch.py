"""A runnable copy of this workflow's code in a scratch folder, and configs for it:
the measurements and the tests run the real ``snakemake`` there, away from the
user's results, logs and locks.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
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


def scratch_workflow(
    dest: Path, stations: Sequence[dict], data_dir: Path, root: Path = WORKFLOW_ROOT
) -> Path:
    """A copy of the workflow at ``root`` (the rules pass the running workflow's)
    whose config lists ``stations``, their files by absolute path; ``data`` links to
    the real data folder, for its station catalog."""
    import yaml

    copy_workflow_code(dest, root)
    (dest / "data").symlink_to(Path(data_dir).resolve(), target_is_directory=True)
    config = yaml.safe_load((dest / "config" / "config.yaml").read_text())
    config["stations"] = [_scratch_entry(s) for s in stations]
    (dest / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )
    return dest


def _scratch_entry(info: dict) -> dict:
    """A resolved station as a config entry that needs nothing fetched: for a
    station only NOAA's station list names, the list's title fields from this run's
    parsed list, or at least a name (the title then shows the id, as here)."""
    from .stations import TITLE_FIELDS, station_list_entry

    keys = ("id", "format", "units", *TITLE_FIELDS)
    entry = {k: info[k] for k in keys if info.get(k) is not None}
    if info.get("station_list"):
        listed = station_list_entry(info["station_list"], info["id"])
        for key in TITLE_FIELDS:
            if key not in entry and listed.get(key) is not None:
                entry[key] = listed[key]
        entry.setdefault("name", info["id"])
    entry["file"] = str(Path(info["file"]).resolve())
    return entry


def generate_config(n: int, data_dir: str | Path = "data", base: dict | None = None):
    """A config of ``n`` stations (ids X00001, ...) cycling over the real
    ``.dly.gz`` files of ``data_dir``, for scale tests at any size."""
    files = sorted(Path(data_dir).glob("*.dly.gz"))
    if not files:
        raise ValueError(f"no .dly.gz files in {data_dir}")
    width = max(5, len(str(n)))
    config = dict(base or {})
    config["stations"] = [
        {"id": f"X{i:0{width}d}", "file": str(files[(i - 1) % len(files)])}
        for i in range(1, n + 1)
    ]
    return config
