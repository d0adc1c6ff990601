"""The GHCN-Daily reader against the real station files (the fixture's frozen copies,
and every real file of the project's shared data when it is beside the checkout).
Bad .dly files are cases of the table in test_bad_input.py."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import DEATH_VALLEY, FIXTURE_DATA, OXFORD, SHARED_DATA, value_on
from pandas_reference import read_ghcnd_fwf

from weatherplot.catalog import load_catalog
from weatherplot.io import detect_format, read_station
from weatherplot.io.ghcnd import read_ghcnd

FIXTURE_FILES = sorted(FIXTURE_DATA.glob("*.dly.gz"))


def real_dly_files() -> list[Path]:
    """The fixture's files, and the shared data's others when it is present."""
    files = {p.name: p for p in FIXTURE_FILES}
    for path in sorted((SHARED_DATA / "ghcnd").glob("*.dly.gz")):
        files.setdefault(path.name, path)
    return sorted(files.values())


def dly(station) -> Path:
    return FIXTURE_DATA / f"{station}.dly.gz"


def raw_lines(station):
    return gzip.decompress(dly(station).read_bytes()).decode().splitlines()


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name[:11])
def test_the_catalog_row_says_what_the_file_holds(path):
    """stations.csv (plot titles, coordinates) against the file's own first and last
    lines: the id, the first year and the last month."""
    with (FIXTURE_DATA / "stations.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["id"] == path.name[:11])
    assert load_catalog(FIXTURE_DATA / "stations.csv")[row["id"]]["name"] == row["name"]
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert {line[:11] for line in lines} == {path.name[:11]}
    assert int(row["first_year"]) == min(int(line[11:15]) for line in lines)
    assert int(row["last_month"]) == max(int(line[11:17]) for line in lines)


def test_death_valley_2021_01_01_matches_the_cdo_export():
    # The CDO export says TMAX 71 degF, TMIN 51 degF; the .dly holds tenths of degC
    # (217 and 106: 21.7 degC is 71.06 degF, 10.6 degC is 51.08 degF).
    daily, meta = read_ghcnd(dly(DEATH_VALLEY))
    tmax = value_on(daily, "TMAX", "2021-01-01")
    tmin = value_on(daily, "TMIN", "2021-01-01")
    assert (tmax, tmin) == (21.7, 10.6)
    assert meta["id"] == DEATH_VALLEY
    assert {"TMAX", "TMIN", "PRCP"} <= set(meta["elements"])


@pytest.mark.parametrize("path", real_dly_files(), ids=lambda p: p.name[:11])
def test_same_values_as_pandas_read_fwf_reference(path):
    """An independent reader (pandas read_fwf, melt, pivot; no Daily) agrees on
    every value, and ours has one row per day from the first observed day to the
    last."""
    ours, _ = read_ghcnd(path)
    reference = read_ghcnd_fwf(path)
    pd.testing.assert_series_equal(observed(ours), observed_frame(reference))
    steps = np.diff(ours.dates).astype(int)
    assert (steps == 1).all()


def observed(daily) -> pd.Series:
    """A Daily's valid values by (date, element), read off its arrays."""
    parts = {}
    for element, values in daily.values.items():
        valid = np.isfinite(values)
        index = pd.DatetimeIndex(daily.dates[valid])
        parts[element] = pd.Series(values[valid], index=index)
    return observed_frame(pd.DataFrame(parts))


def observed_frame(frame: pd.DataFrame) -> pd.Series:
    """A table's valid values by (date, element), in one order."""
    series = frame.rename_axis(index="date", columns="element").stack().dropna()
    series.index = series.index.set_levels(
        series.index.levels[0].astype("datetime64[s]"), level=0
    )
    return series.sort_index().rename("value").astype(float)


def test_units_and_daily_index():
    daily, _ = read_ghcnd(dly(OXFORD))
    steps = np.diff(daily.dates).astype(int)
    assert (steps == 1).all()  # one row per day, no gaps
    assert 13.5 < np.nanmean(daily.tmax) < 14.5  # degC, not tenths (Oxford: ~14)
    assert 1.5 < np.nanmean(daily.prcp) < 2.0  # mm per day (~650 mm a year)
    assert list(daily.values) == ["TMAX", "TMIN", "PRCP"]
    assert all(len(column) == len(daily) for column in daily.values.values())


def test_missing_values_are_nan():
    # Death Valley's file starts with April 1961 TMAX all -9999 until the 26th.
    lines = raw_lines(DEATH_VALLEY)
    first_tmax = next(line for line in lines if line[17:21] == "TMAX")
    assert first_tmax[21:26] == "-9999"
    daily, _ = read_ghcnd(dly(DEATH_VALLEY))
    assert daily.dates[0] == np.datetime64("1961-04-26")  # no all-missing lead-in
    assert not np.isin(daily.tmax, [-999.9]).any()


def test_values_with_a_quality_flag_are_dropped():
    """Counted from the raw text, a second way: every TMAX value present but with a
    quality flag is counted as flagged and read as missing."""
    flagged_days = []
    for line in raw_lines(OXFORD):
        if line[17:21] != "TMAX":
            continue
        for day in range(31):
            value, qflag = line[21 + 8 * day : 26 + 8 * day], line[27 + 8 * day]
            if value.strip() != "-9999" and qflag != " ":
                flagged_days.append(f"{line[11:15]}-{line[15:17]}-{day + 1:02d}")
    daily, meta = read_ghcnd(dly(OXFORD))
    assert meta["flagged"]["TMAX"] == len(flagged_days) > 0
    for day in flagged_days:
        assert np.isnan(value_on(daily, "TMAX", day)), day


def test_reads_plain_dly_as_well_as_gzip(tmp_path):
    plain = tmp_path / f"{DEATH_VALLEY}.dly"
    plain.write_bytes(gzip.decompress(dly(DEATH_VALLEY).read_bytes()))
    a, _ = read_ghcnd(plain)
    b, _ = read_ghcnd(dly(DEATH_VALLEY))
    pd.testing.assert_series_equal(observed(a), observed(b))
    assert detect_format(plain) == "ghcnd"
    # Detection by content when the name says nothing:
    renamed = tmp_path / "station.txt"
    renamed.write_bytes(plain.read_bytes())
    assert detect_format(renamed) == "ghcnd"
    pd.testing.assert_series_equal(observed(read_station(renamed)[0]), observed(b))
