"""The GHCN-Daily reader against the real station files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from conftest import DATA, DEATH_VALLEY, OXFORD

from weatherplot.bench import read_ghcnd_fwf, same_values
from weatherplot.errors import StationDataError
from weatherplot.io import detect_format, read_station
from weatherplot.io.ghcnd import read_ghcnd

ALL_STATIONS = sorted(p.name.removesuffix(".dly.gz") for p in DATA.glob("*.dly.gz"))


def value_on(daily, element, day):
    i = int(np.searchsorted(daily.dates, np.datetime64(day)))
    assert daily.dates[i] == np.datetime64(day)
    return daily.values[element][i]


def raw_lines(station):
    return (
        gzip.decompress((DATA / f"{station}.dly.gz").read_bytes()).decode().splitlines()
    )


def test_twelve_real_stations_are_shipped():
    assert len(ALL_STATIONS) == 12


def test_death_valley_2021_01_01_matches_the_cdo_export():
    # The CDO export says TMAX 71 degF, TMIN 51 degF; the .dly holds tenths of degC.
    daily, meta = read_ghcnd(DATA / f"{DEATH_VALLEY}.dly.gz")
    tmax = value_on(daily, "TMAX", "2021-01-01")
    tmin = value_on(daily, "TMIN", "2021-01-01")
    assert (tmax, tmin) == (21.7, 10.6)
    assert round(tmax * 9 / 5 + 32) == 71
    assert round(tmin * 9 / 5 + 32) == 51
    assert meta["id"] == DEATH_VALLEY
    assert {"TMAX", "TMIN", "PRCP"} <= set(meta["elements"])


@pytest.mark.parametrize("station", ALL_STATIONS)
def test_same_values_as_pandas_read_fwf_reference(station):
    """An independent reader (pandas read_fwf, melt, pivot) agrees on every value."""
    ours, _ = read_ghcnd(DATA / f"{station}.dly.gz")
    assert same_values(ours, read_ghcnd_fwf(DATA / f"{station}.dly.gz"))


def test_units_and_daily_index():
    daily, _ = read_ghcnd(DATA / f"{OXFORD}.dly.gz")
    steps = np.diff(daily.dates).astype(int)
    assert (steps == 1).all()  # one row per day, no gaps
    assert 13.5 < np.nanmean(daily.tmax) < 14.5  # degC, not tenths (Oxford: ~14)
    assert 1.5 < np.nanmean(daily.prcp) < 2.0  # mm per day (~650 mm a year)
    frame = daily.to_frame()
    assert list(frame.columns) == ["TMAX", "TMIN", "PRCP"]
    assert frame.index.name == "date"
    assert len(frame) == len(daily)


def test_missing_values_are_nan():
    # Death Valley's file starts with April 1961 TMAX all -9999 until the 26th.
    lines = raw_lines(DEATH_VALLEY)
    first_tmax = next(line for line in lines if line[17:21] == "TMAX")
    assert first_tmax[21:26] == "-9999"
    daily, _ = read_ghcnd(DATA / f"{DEATH_VALLEY}.dly.gz")
    assert daily.dates[0] == np.datetime64("1961-04-26")  # no all-missing lead-in
    assert not np.isin(daily.tmax, [-999.9]).any()


def test_values_with_a_quality_flag_are_dropped():
    lines = raw_lines(OXFORD)
    # Find a real flagged TMAX value in the file and check the reader dropped it.
    for line in lines:
        if line[17:21] != "TMAX":
            continue
        for day in range(31):
            value, qflag = line[21 + 8 * day : 26 + 8 * day], line[27 + 8 * day]
            if value.strip() != "-9999" and qflag != " ":
                year, month = int(line[11:15]), int(line[15:17])
                flagged_day = f"{year:04d}-{month:02d}-{day + 1:02d}"
                break
        else:
            continue
        break
    daily, meta = read_ghcnd(DATA / f"{OXFORD}.dly.gz")
    assert meta["flagged"]["TMAX"] > 1000
    assert np.isnan(value_on(daily, "TMAX", flagged_day))


def test_reads_plain_dly_as_well_as_gzip(tmp_path):
    plain = tmp_path / f"{DEATH_VALLEY}.dly"
    plain.write_bytes(gzip.decompress((DATA / f"{DEATH_VALLEY}.dly.gz").read_bytes()))
    a, _ = read_ghcnd(plain)
    b, _ = read_ghcnd(DATA / f"{DEATH_VALLEY}.dly.gz")
    assert same_values(a, b)
    assert detect_format(plain) == "ghcnd"
    # Detection by content when the name says nothing:
    renamed = tmp_path / "station.txt"
    renamed.write_bytes(plain.read_bytes())
    assert detect_format(renamed) == "ghcnd"
    assert same_values(read_station(renamed)[0], b)


def test_wrong_line_length_names_the_line(tmp_path):
    lines = raw_lines(DEATH_VALLEY)[:10]
    lines[6] = lines[6][:200]
    bad = tmp_path / "bad.dly"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(StationDataError, match=r"bad\.dly, line 7: line is 200 char"):
        read_ghcnd(bad)


def test_mixed_stations_in_one_file(tmp_path):
    lines = raw_lines(DEATH_VALLEY)[:10]
    lines[4] = "USW00023183" + lines[4][11:]
    bad = tmp_path / "mixed.dly"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(StationDataError, match=r"line 5.*one file must hold one"):
        read_ghcnd(bad)


def test_month_out_of_range(tmp_path):
    lines = [line for line in raw_lines(DEATH_VALLEY)[:40] if line[17:21] == "TMAX"]
    lines[1] = lines[1][:15] + "13" + lines[1][17:]
    bad = tmp_path / "month.dly"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(StationDataError, match=r"line 2, field 'MONTH.*13 is out of"):
        read_ghcnd(bad)


def test_garbage_in_a_value_names_line_and_day(tmp_path):
    lines = [line for line in raw_lines(DEATH_VALLEY)[:40] if line[17:21] == "PRCP"]
    lines[2] = lines[2][: 21 + 8 * 4] + "  x12" + lines[2][26 + 8 * 4 :]
    bad = tmp_path / "value.dly"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(StationDataError, match=r"line 3, field 'VALUE of day 5'"):
        read_ghcnd(bad)
