"""Shared fixtures: paths to the real data and a temporary copy of the workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from weatherplot.scratch import copy_workflow_code

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"  # the twelve real GHCN-Daily stations shipped with the workflow
CDO = (
    REPO / "tests" / "data" / "ncei-cdo"
)  # real NCEI CDO exports (copied from shared/)
SHARED_DATA = (
    REPO.parent / "shared" / "data"
)  # the project's data folder, when beside us
DEATH_VALLEY = "USC00042319"
OXFORD = "UK000056225"
THREE_STATIONS = ["USC00042319", "ASN00086282", "JA000047778"]


def snakemake_cmd() -> list[str]:
    """The snakemake of the interpreter running the tests (the project's venv)."""
    return [sys.executable, "-m", "snakemake"]


def copy_workflow(dest: Path, stations: list[str] | None = None) -> Path:
    """A runnable copy of the workflow in ``dest`` (results start empty).

    ``stations`` limits config and data to those ids (all twelve when None).
    """
    copy_workflow_code(dest, REPO)
    (dest / "data").mkdir()
    shutil.copy2(DATA / "stations.csv", dest / "data" / "stations.csv")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if stations is not None:
        config["stations"] = [s for s in config["stations"] if s["id"] in stations]
    for station in config["stations"]:
        shutil.copy2(DATA / f"{station['id']}.dly.gz", dest / "data")
    write_config(dest, config)
    return dest


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )


def read_config(workdir: Path) -> dict:
    return yaml.safe_load((workdir / "config" / "config.yaml").read_text())


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [*snakemake_cmd(), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture
def workflow_copy(tmp_path):
    """The workflow with three real stations, in a temporary directory."""
    return copy_workflow(tmp_path, THREE_STATIONS)
