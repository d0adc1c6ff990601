"""Config mistakes: refused when Snakemake builds the DAG, before any job, naming the
entry. The cases run in-process against the schema and ``resolve_stations`` (what the
Snakefile calls); one real ``snakemake -n`` per check proves the Snakefile calls it."""

from __future__ import annotations

import os
import re

import pytest
from helpers import (
    CDO,
    FIXTURE_DATA,
    REPO,
    read_config,
    run_snakemake,
    write_config,
)

from weatherplot.preflight import validate_config
from weatherplot.stations import (
    STATION_ID_PATTERN,
    ConfigError,
    resolve_stations,
)

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
GOOD_STATION = {"id": "UK000056225"}
CURRENT = CDO / "USC00042319_2021_standard.csv"


def validate(config: dict) -> None:
    """What the workflow calls (common.smk): Snakemake's validate, one-line errors."""
    validate_config(config, SCHEMA)


def dry_run_error(workdir, config) -> str:
    write_config(workdir, config)
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


# -- The schema (Snakemake's validate) ---------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"stations": [GOOD_STATION], "demos": {"wokers": 2}}, "wokers"),
        ({"stations": [GOOD_STATION], "baselines": {"repeat": 2}}, "repeat"),
        (
            {"stations": [GOOD_STATION, {"id": "X1", "units": "metric", "colour": 1}]},
            r"stations entry 2 \(id 'X1'\): unknown key 'colour'.*allowed: .*units",
        ),
        (
            {"stations": [GOOD_STATION], "colour": "red"},
            "top level: unknown key 'colour'",
        ),
        (
            {"stations": [{"id": "X1", "nmae": "Oxford"}]},
            r"stations entry 1 \(id 'X1'\): unknown key 'nmae'; did you mean 'name'\?",
        ),
        ({"stations": []}, "stations"),
        ({"data_dir": "data"}, "stations"),
        ({"stations": [{"id": "../x"}]}, r"\.\./x"),
        ({"stations": [{"id": "a/b"}]}, "a/b"),
        ({"stations": [{"id": "has space"}]}, "has space"),
        ({"stations": [{"id": ""}]}, "''|does not match"),
        ({"stations": [{"id": ".hidden"}]}, r"\.hidden"),
        ({"stations": [{"id": "x" * 65}]}, "xxxx"),
        ({"stations": [{"name": "no id"}]}, "'id' is a required property"),
        ({"stations": [{"id": "X1", "format": "xlsx"}]}, "xlsx"),
        ({"stations": [{"id": "X1", "units": "kelvin"}]}, "kelvin"),
        ({"stations": [GOOD_STATION], "plot_server": "yes"}, "'yes'.*boolean"),
        ({"stations": [GOOD_STATION], "demos": {"workers": 0}}, "0 is less than"),
    ],
    ids=[
        "unknown-demo-key",
        "unknown-baselines-key",
        "unknown-station-key",
        "unknown-top-level-key",
        "typo-with-closest-match",
        "zero-stations",
        "no-stations-key",
        "dotdot",
        "slash",
        "space",
        "empty-id",
        "hidden-file-id",
        "too-long-id",
        "no-id",
        "unknown-format",
        "unknown-units",
        "plot-server-not-a-boolean",
        "zero-workers",
    ],
)
def test_schema_refuses(config, expected):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError) as caught:
        validate(config)
    assert re.search(expected, str(caught.value))


def test_a_schema_error_in_a_station_entry_names_its_id_too():
    """The entry's number alone sends the user counting through a long list; an entry
    without a usable id is still named by its number."""
    from snakemake.exceptions import WorkflowError

    stations = [GOOD_STATION, {"id": "X1", "units": "metrc"}, {"name": "no id"}]
    with pytest.raises(WorkflowError) as caught:
        validate({"stations": stations[:2]})
    assert str(caught.value).startswith(
        "config: stations entry 2 (id 'X1'), key 'units': 'metrc' is not one of"
    )
    with pytest.raises(WorkflowError) as caught:
        validate({"stations": [GOOD_STATION, stations[2]]})
    assert str(caught.value).startswith(
        "config: stations entry 2: 'id' is a required property"
    )


def test_schema_accepts_the_fixture_config_and_fills_the_defaults():
    """The control for the cases above: a good config passes, defaults filled in."""
    config = {"stations": [GOOD_STATION]}
    validate(config)
    assert config["plot_server"] is True and config["data_dir"] == "data"
    assert config["demos"]["workers"] == 4


@pytest.mark.integration
def test_snakemake_applies_the_schema_before_any_job(workflow_copy):
    config = read_config(workflow_copy)
    config["stations"][0]["colour"] = "red"
    assert "colour" in dry_run_error(workflow_copy, config)
    assert not (workflow_copy / "results").exists()


def test_schema_and_code_agree_on_safe_ids():
    import yaml

    schema = yaml.safe_load(SCHEMA.read_text())
    pattern = schema["properties"]["stations"]["items"]["properties"]["id"]["pattern"]
    assert pattern == f"^{STATION_ID_PATTERN}$"


# -- resolve_stations (common.smk) ----------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], r"'stations' is empty"),
        ([{"id": "../x"}], r"entry 1: id '\.\./x' is not a safe name"),
        ([{"id": "a/b"}], r"entry 1: id 'a/b' is not a safe name"),
        ([{"id": "UK000056225"}, {"id": "a b"}], r"entry 2: id 'a b' is not a safe"),
        (
            [{"id": "UK000056225"}, {"id": "UK000056225"}],
            r"entry 2: id 'UK000056225' appears twice",
        ),
        (
            [{"id": "UK000056225", "file": "data/nowhere.csv"}],
            r"entry 1 \(UK000056225\): file 'data/nowhere.csv' does not exist",
        ),
        (
            [{"id": "UK000056225", "file": "data"}],
            r"entry 1 \(UK000056225\): file 'data' does not exist",
        ),
        ([{"id": "NOWHERE1"}], r"entry 1 \(NOWHERE1\): no file given and none of"),
        (
            [{"id": "DV", "file": str(CURRENT), "format": "cdo"}],
            r"entry 1 \(DV\): format 'cdo' needs 'units: metric'.*'units: standard'",
        ),
    ],
    ids=[
        "zero",
        "dotdot",
        "slash",
        "space",
        "duplicate",
        "missing-file",
        "directory",
        "no-file",
        "cdo-no-units",
    ],
)
def test_resolve_stations_refuses(fixture_workdir, entries, expected):
    with pytest.raises(ConfigError, match=expected):
        resolve_stations({"stations": entries}, fixture_workdir)


@pytest.fixture
def fixture_workdir(tmp_path):
    """A folder whose data/ is the fixture's (as a scratch copy has it)."""
    (tmp_path / "data").symlink_to(FIXTURE_DATA, target_is_directory=True)
    return tmp_path


def test_resolve_stations_finds_files_and_merges_the_catalog(fixture_workdir):
    stations = resolve_stations({"stations": [{"id": "UK000056225"}]}, fixture_workdir)
    oxford = stations["UK000056225"]
    assert oxford["file"] == "data/UK000056225.dly.gz"
    assert oxford["country"] == "United Kingdom"
    assert oxford["latitude"] == pytest.approx(51.7667)
    renamed = resolve_stations(
        {"stations": [{"id": "UK000056225", "name": "Oxford"}]}, fixture_workdir
    )
    assert renamed["UK000056225"]["name"] == "Oxford"  # the config entry wins


def test_a_named_pipe_is_a_station_file_and_a_directory_is_not(tmp_path):
    """A FIFO streams a file to the reader (and holds the fault tests' jobs)."""
    os.mkfifo(tmp_path / "stream.dly")
    (tmp_path / "folder.dly").mkdir()
    entry = {"id": "UK000056225", "format": "ghcnd"}
    piped = resolve_stations({"stations": [{**entry, "file": "stream.dly"}]}, tmp_path)
    assert piped["UK000056225"]["file"] == "stream.dly"
    with pytest.raises(ConfigError, match=r"'folder\.dly' does not exist"):
        resolve_stations({"stations": [{**entry, "file": "folder.dly"}]}, tmp_path)


@pytest.mark.integration
def test_snakemake_names_the_entry_before_any_job(workflow_copy):
    config = read_config(workflow_copy)
    config["stations"][1]["file"] = "data/nowhere.dly.gz"
    output = dry_run_error(workflow_copy, config)
    assert "stations entry 2" in output
    assert "data/nowhere.dly.gz" in output and "does not exist" in output
    assert "Traceback" not in output
    assert not (workflow_copy / "results").exists()


# -- The DAG-time memory check of the NumPy demo ---------------------------------


@pytest.mark.integration
def test_demo_too_large_for_memory_is_refused_before_any_job(workflow_copy):
    config = read_config(workflow_copy)
    config["demos"]["array_size"] = 10**12  # 4 workers x 8 TB arrays
    output = dry_run_error(workflow_copy, config)
    assert re.search(r"demos\.array_size = 1000000000000 is too large", output)
    # 4 x 10**12 float64 = 3.2e13 bytes = 29802.3 GiB
    assert re.search(r"needs about 29802\.\d\d GiB", output)


# -- The YAML itself ---------------------------------------------------------------


@pytest.mark.integration
def test_config_yaml_cannot_run_code(workflow_copy, tmp_path):
    """The config is loaded by Snakemake's YAML loader: a python tag is refused."""
    marker = tmp_path / "PWNED"
    path = workflow_copy / "config" / "config.yaml"
    text = path.read_text()
    text += f'\nexploit: !!python/object/apply:os.system ["touch {marker}"]\n'
    path.write_text(text)
    result = run_snakemake(workflow_copy, "-n", check=False)
    assert result.returncode != 0
    assert not marker.exists()
    assert "config/config.yaml is not valid YAML" in result.stdout + result.stderr


@pytest.mark.integration
def test_a_station_appended_after_the_last_section_is_named_by_line(workflow_copy):
    """Snakemake's own message ("Config file is not valid JSON or YAML") names
    neither the file nor the line."""
    path = workflow_copy / "config" / "config.yaml"
    text = path.read_text().rstrip("\n") + "\n"
    last_line = text.count("\n")
    assert list(read_config(workflow_copy))[-1] != "stations"  # else it would be valid
    path.write_text(text + "  - id: USW00023188\n")
    result = run_snakemake(workflow_copy, "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "config/config.yaml is not valid YAML" in output
    assert f'"config/config.yaml", line {last_line + 1}, column 3' in output
    assert "goes under 'stations:'" in output
    assert not (workflow_copy / "results").exists()


# -- data/stations.csv, checked against its schema (as a sample sheet) -------------

CATALOG_SCHEMA = REPO / "workflow" / "schemas" / "stations.schema.yaml"


def catalog_with(tmp_path, edit) -> str:
    """The fixture's real stations.csv with one edit; returns its path."""
    lines = (FIXTURE_DATA / "stations.csv").read_text().splitlines(True)
    path = tmp_path / "data" / "stations.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(edit(lines)))
    return path


def replace_on(number, old, new):
    def edit(lines):
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
        return lines

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            replace_on(3, "-37.6655", "north"),
            r"stations\.csv: line 3 \(ASN00086282\), column 'latitude': 'north' is "
            r"not of type 'number'; fix the cell or leave it empty",
        ),
        (
            replace_on(4, ",135.733,", ",235.733,"),
            r"line 4 \(JA000047759\), column 'longitude': 235\.733 is greater than "
            r"the maximum of 180",
        ),
        (
            replace_on(1, "id,", "station,"),
            r"stations\.csv: no column 'id' in its header line \(line 1\)",
        ),
        (
            replace_on(5, "JA000047778", ""),
            r"stations\.csv: line 5: no value in column 'id': give the station's id "
            r"or delete the line",
        ),
        (
            replace_on(2, "ASN00066062", "../etc"),
            r"line 2, column 'id': '\.\./etc' does not match",
        ),
    ],
    ids=["not a number", "out of range", "no id column", "no id", "unsafe id"],
)
def test_the_station_catalog_is_validated(tmp_path, edit, expected):
    catalog_with(tmp_path, edit)
    config = {"stations": [{"id": "UK000056225"}]}
    with pytest.raises(ConfigError) as caught:
        resolve_stations(config, tmp_path, catalog_schema=CATALOG_SCHEMA)
    assert re.search(expected, str(caught.value)), caught.value
    assert "\n" not in str(caught.value)


def test_a_valid_catalog_keeps_its_numbers_and_blank_lines_do_not_count(tmp_path):
    catalog_with(tmp_path, lambda lines: [*lines[:3], "\n", *lines[3:]])
    stations = resolve_stations(
        {"stations": [{"id": "JA000047759"}]}, tmp_path, catalog_schema=CATALOG_SCHEMA
    )
    kyoto = stations["JA000047759"]
    assert (kyoto["name"], kyoto["latitude"], kyoto["elevation_m"]) == (
        "KYOTO",
        35.017,
        46.0,
    )
    # After the blank line 4, a bad cell on line 6 is named by its own line.
    catalog_with(
        tmp_path,
        lambda lines: [*lines[:3], "\n", *replace_on(5, "76.0", "high")(lines)[3:]],
    )
    with pytest.raises(ConfigError, match=r"line 6 \(JA000047778\), column 'elev"):
        resolve_stations({"stations": [{"id": "X"}]}, tmp_path, CATALOG_SCHEMA)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            replace_on(3, "-37.6655", "north"),
            "data/stations.csv: line 3 (ASN00086282), column 'latitude': 'north' is "
            "not of type 'number'",
        ),
        (replace_on(1, "id,", "station,"), "data/stations.csv: no column 'id'"),
    ],
    ids=["bad cell", "no id column"],
)
def test_snakemake_names_the_catalogs_bad_cell_before_any_job(
    workflow_copy, edit, expected
):
    catalog_with(workflow_copy, edit)
    output = dry_run_error(workflow_copy, read_config(workflow_copy))
    assert expected in output
    assert "Traceback" not in output and "ValueError" not in output
    assert "KeyError" not in output
    assert not (workflow_copy / "results").exists()


@pytest.mark.parametrize("word", ["false", "true"])
def test_a_boolean_spelled_as_in_config_yaml_on_the_command_line_says_how(
    workflow_copy, word
):
    """`--config plot_server=false`, as config.yaml spells it, reaches the schema as
    the text 'false' (Snakemake's --config reads only True and False): the message
    says how to write it."""
    result = run_snakemake(
        workflow_copy, "-n", "--config", f"plot_server={word}", check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"'{word}' is not of type 'boolean'" in output
    assert f"write --config plot_server={word.capitalize()} " in output
    assert "Traceback" not in output
    # As the message says, so it runs.
    fixed = run_snakemake(
        workflow_copy, "-n", "--config", f"plot_server={word.capitalize()}"
    )
    assert fixed.returncode == 0
