"""Config mistakes stop the run at DAG-build time with a message naming the entry."""

from __future__ import annotations

import re

import pytest
from conftest import DATA, read_config, run_snakemake, write_config

from weatherplot.stations import ConfigError, resolve_stations

pytestmark = pytest.mark.integration


def dry_run_error(workdir, config) -> str:
    write_config(workdir, config)
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["stations"][0].update(colour="red"),
            r"stations entry 1: unknown key .colour.",
        ),
        (lambda c: c.update(stations=[]), r"stations|minItems|should be non-empty"),
        (lambda c: c["stations"][0].update(id="../x"), r"does not match"),
        (lambda c: c["stations"][0].update(id="a/b"), r"does not match"),
        (lambda c: c["stations"][0].update(id="has space"), r"does not match"),
        (lambda c: c["stations"][0].update(id=""), r"does not match"),
        (lambda c: c["stations"][0].update(units="kelvin"), r"kelvin.*not one of"),
        (lambda c: c.update(colour="red"), r"top level: unknown key .colour."),
    ],
)
def test_schema_refuses_bad_config(workflow_copy, change, expected):
    config = read_config(workflow_copy)
    change(config)
    assert re.search(expected, dry_run_error(workflow_copy, config), re.S)


def test_missing_file_is_reported_before_any_job_naming_the_entry(workflow_copy):
    config = read_config(workflow_copy)
    config["stations"][1]["file"] = "data/nowhere.dly.gz"
    output = dry_run_error(workflow_copy, config)
    assert "stations entry 2" in output
    assert "data/nowhere.dly.gz" in output and "does not exist" in output
    assert not (workflow_copy / "results").exists()


def test_duplicate_station_id(workflow_copy):
    config = read_config(workflow_copy)
    config["stations"].append(dict(config["stations"][0]))
    output = dry_run_error(workflow_copy, config)
    assert "stations entry 4" in output and "appears twice" in output


def test_resolve_stations_finds_files_and_merges_the_catalog():
    stations = resolve_stations({"stations": [{"id": "UK000056225"}]}, DATA.parent)
    oxford = stations["UK000056225"]
    assert oxford["file"] == "data/UK000056225.dly.gz"
    assert oxford["country"] == "United Kingdom"
    assert oxford["latitude"] == pytest.approx(51.7667)
    renamed = resolve_stations(
        {"stations": [{"id": "UK000056225", "name": "Oxford"}]}, DATA.parent
    )
    assert renamed["UK000056225"]["name"] == "Oxford"  # the config entry wins


def test_station_without_a_file_anywhere():
    with pytest.raises(ConfigError, match=r"entry 1 \(NOWHERE1\): no file given"):
        resolve_stations({"stations": [{"id": "NOWHERE1"}]}, DATA.parent)


def test_zero_stations():
    with pytest.raises(ConfigError, match="'stations' is empty"):
        resolve_stations({"stations": []}, DATA.parent)


def test_demo_too_large_for_memory_is_refused_before_any_job(workflow_copy):
    config = read_config(workflow_copy)
    config["demos"]["array_size"] = 10**12  # 4 x 8 TB arrays
    output = dry_run_error(workflow_copy, config)
    assert re.search(r"demos\.array_size = 1000000000000 is too large", output)
    assert re.search(r"needs about 29802\.\d\d GiB", output)
