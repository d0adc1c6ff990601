"""The NCEI CDO and plain CSV readers, on the real exports and on small edge cases.
Bad CSV files are cases of the table in test_bad_input.py."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from helpers import CDO, DEATH_VALLEY, FIXTURE_DATA, value_on

from weatherplot.errors import StationDataError
from weatherplot.io import detect_format
from weatherplot.io.ghcnd import read_ghcnd
from weatherplot.io.ncei_cdo import read_cdo_csv
from weatherplot.io.plain_csv import read_plain_csv

CURRENT = CDO / "USC00042319_2021_standard.csv"
LEGACY = CDO / "USW00024233_2014_legacy.csv"


def test_current_standard_export_in_degf_and_inches():
    daily, meta = read_cdo_csv(CURRENT, units="standard")
    assert meta["format"] == "cdo-current"
    assert meta["id"] == DEATH_VALLEY
    assert len(daily) == 365
    # 71 degF / 51 degF on 2021-01-01, read as degC:
    assert value_on(daily, "TMAX", "2021-01-01") == pytest.approx((71 - 32) * 5 / 9)
    assert value_on(daily, "TMIN", "2021-01-01") == pytest.approx((51 - 32) * 5 / 9)


def test_cdo_export_and_dly_agree_on_death_valley_2021():
    cdo, _ = read_cdo_csv(CURRENT, units="standard")
    dly, _ = read_ghcnd(FIXTURE_DATA / f"{DEATH_VALLEY}.dly.gz")
    start = int(np.searchsorted(dly.dates, cdo.dates[0]))
    for element in ("TMAX", "TMIN"):
        ours = dly.values[element][start : start + len(cdo)]
        both = np.isfinite(ours) & np.isfinite(cdo.values[element])
        assert both.sum() > 300
        # degF are whole numbers: within the rounding of one degF (5/9 degC).
        assert np.abs(ours[both] - cdo.values[element][both]).max() <= 5 / 9 / 2 + 0.06
    prcp = dly.prcp[start : start + len(cdo)]
    both = np.isfinite(prcp) & np.isfinite(cdo.prcp)
    assert np.abs(prcp[both] - cdo.prcp[both]).max() <= 0.254 / 2 + 0.06


def test_legacy_export_in_tenths_with_missing():
    daily, meta = read_cdo_csv(LEGACY, units="metric")
    assert meta["format"] == "cdo-legacy"
    assert meta["id"] == "USW00024233"
    assert value_on(daily, "TMAX", "2014-01-01") == 7.2
    assert value_on(daily, "TMIN", "2014-01-02") == 6.1
    assert value_on(daily, "PRCP", "2014-01-02") == 4.1
    assert np.nanmax(daily.tmax) < 40
    assert np.isnan(daily.tmax).sum() < 5


def test_detection_of_every_format(tmp_path):
    assert detect_format(CURRENT) == "cdo"
    assert detect_format(LEGACY) == "cdo"
    plain = tmp_path / "mine.csv"
    plain.write_text("date,tmax,tmin,prcp\n2020-01-01,10,2,0.5\n")
    assert detect_format(plain) == "plain"
    unknown = tmp_path / "what.txt"
    unknown.write_text("hello,world\n1,2\n")
    with pytest.raises(StationDataError, match=r"what\.txt, line 1.*ghcnd.*cdo.*plain"):
        detect_format(unknown)


def test_plain_csv_round_trip(tmp_path):
    plain = tmp_path / "mine.csv"
    plain.write_text(
        "Date,TMAX,tmin,prcp\n"
        "2020-01-02,11.5,,0\n"
        "2020-01-01,10,2,0.5\n"
        "2020-01-04,9,1,\n"
    )
    daily, meta = read_plain_csv(plain)
    assert meta["format"] == "plain"
    assert list(daily.dates.astype(str)) == [
        "2020-01-01",
        "2020-01-02",
        "2020-01-03",
        "2020-01-04",
    ]
    np.testing.assert_array_equal(daily.tmax, [10, 11.5, np.nan, 9])
    np.testing.assert_array_equal(daily.tmin, [2, np.nan, np.nan, 1])
    np.testing.assert_array_equal(daily.prcp, [0.5, 0, np.nan, np.nan])


def test_plain_csv_may_lack_an_element(tmp_path):
    plain = tmp_path / "no_rain.csv"
    plain.write_text("date,tmax,tmin\n2020-01-01,10,2\n")
    daily, meta = read_plain_csv(plain)
    assert meta["elements"] == ["TMAX", "TMIN"]
    assert not np.isfinite(daily.prcp).any()


def rows_of(path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def write_csv(path, rows, quoting=csv.QUOTE_MINIMAL):
    with open(path, "w", newline="") as handle:
        csv.writer(handle, quoting=quoting, lineterminator="\n").writerows(rows)
    return path


def test_legacy_export_without_station_names_is_still_legacy(tmp_path):
    """STATION_NAME is there only when "station name" was ticked: the GHCND: ids
    tell a legacy export too. There, -9999 in an element is a missing value."""
    rows = rows_of(LEGACY)
    name = rows[0].index("STATION_NAME")
    rows = [row[:name] + row[name + 1 :] for row in rows]
    rows[2][rows[0].index("TMAX")] = "-9999"  # 2014-01-02
    daily, meta = read_cdo_csv(write_csv(tmp_path / "sea.csv", rows), units="metric")
    full, full_meta = read_cdo_csv(LEGACY, units="metric")
    assert (meta["format"], meta["id"], meta["name"]) == (
        "cdo-legacy",
        "USW00024233",
        None,
    )
    assert full_meta["name"] == "SEATTLE TACOMA INTERNATIONAL AIRPORT WA US"
    assert value_on(full, "TMAX", "2014-01-02") == 10.6
    expected = full.tmax.copy()
    expected[1] = np.nan
    np.testing.assert_array_equal(daily.tmax, expected)
    np.testing.assert_array_equal(daily.prcp, full.prcp)


def test_current_export_without_prcp(tmp_path):
    rows = rows_of(CURRENT)
    prcp = rows[0].index("PRCP")
    rows = [row[:prcp] + row[prcp + 1 :] for row in rows]
    path = write_csv(tmp_path / "dv.csv", rows, quoting=csv.QUOTE_ALL)
    daily, meta = read_cdo_csv(path, units="standard")
    full, _ = read_cdo_csv(CURRENT, units="standard")
    assert meta["elements"] == ["TMAX", "TMIN"] and not np.isfinite(daily.prcp).any()
    np.testing.assert_array_equal(daily.tmax, full.tmax)


def test_current_export_has_no_missing_marker_but_the_empty_cell(tmp_path):
    """-9999 is legacy's missing value only: in a current export it is a number,
    and an impossible one."""
    rows = rows_of(CURRENT)
    rows[3][rows[0].index("TMAX")] = "-9999"  # 2021-01-03
    path = write_csv(tmp_path / "dv.csv", rows, quoting=csv.QUOTE_ALL)
    with pytest.raises(StationDataError, match=r"line 4, field 'TMAX': TMAX of -5572"):
        read_cdo_csv(path, units="standard")
