"""The station figure: what it draws is what ``climate`` computed, for every kind of
record (a 200-year .dly, one-year CDO exports, a few-year plain CSV); deterministic
PNG bytes; panels that say what is missing or why they are empty.

The drawn data are read back from the figure's Matplotlib artists (found by their
``gid``), not from the code that drew them.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from helpers import CDO, DEATH_VALLEY, FIXTURE_DATA, OXFORD
from matplotlib.backends.backend_agg import FigureCanvasAgg
from pandas_reference import read_ghcnd_fwf
from PIL import Image

from weatherplot import climate, plotting
from weatherplot.catalog import load_catalog
from weatherplot.stations import load_station, plot_station, title_info

CATALOG = load_catalog(FIXTURE_DATA / "stations.csv")
INFO = {
    "id": DEATH_VALLEY,
    "file": str(FIXTURE_DATA / f"{DEATH_VALLEY}.dly.gz"),
    **CATALOG[DEATH_VALLEY],
}
OXFORD_INFO = {
    "id": OXFORD,
    "file": str(FIXTURE_DATA / f"{OXFORD}.dly.gz"),
    **CATALOG[OXFORD],
}
CDO_2021 = {
    "id": "USC00042319-2021",
    "file": str(CDO / "USC00042319_2021_standard.csv"),
    "format": "cdo",
    "units": "standard",
}
CDO_LEGACY = {
    "id": "USW00024233",
    "file": str(CDO / "USW00024233_2014_legacy.csv"),
    "format": "cdo",
    "units": "metric",
}


def texts(figure) -> str:
    found = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(found)


def drawn(info: dict):
    """(summary, figure, title info) of a station, the way a plot job makes them."""
    daily, metadata = load_station(info)
    summary = climate.station_summary(daily)
    shown = title_info(info, metadata)
    figure = plotting.station_figure(summary, shown)
    FigureCanvasAgg(figure).draw()  # tick labels exist only once drawn
    return summary, figure


def artist(figure, gid: str):
    (found,) = figure.findobj(lambda a: a.get_gid() == gid)
    return found


def artists(figure, gid: str) -> list:
    return figure.findobj(lambda a: a.get_gid() == gid)


def bar_heights(collection) -> tuple[np.ndarray, np.ndarray]:
    """(centres, heights) of the bars of a PolyCollection drawn by plotting._bars."""
    verts = np.array([path.vertices for path in collection.get_paths()])
    left, right = verts[:, :, 0].min(axis=1), verts[:, :, 0].max(axis=1)
    return (left + right) / 2, verts[:, :, 1].max(axis=1)


def tick_labels(axes) -> list[str]:
    """The x tick labels inside the axes' view (matplotlib also keeps some outside)."""
    low, high = sorted(axes.get_xlim())
    return [
        label.get_text()
        for tick, label in zip(axes.get_xticks(), axes.get_xticklabels(), strict=True)
        if low <= tick <= high and label.get_text()
    ]


def panel(figure, title: str):
    (found,) = [a for a in figure.axes if a.get_title(loc="left").startswith(title)]
    return found


def assert_whole_years(axes):
    labels = tick_labels(axes)
    assert labels and all(re.fullmatch(r"\d{4}", label) for label in labels), labels
    assert axes.xaxis.get_offset_text().get_text() == ""


def frame_of(daily) -> pd.DataFrame:
    """The daily table as pandas sees it: a date index, a column per element."""
    return pd.DataFrame(daily.values, index=pd.DatetimeIndex(daily.dates))


def plain_csv_from_real_dly(tmp_path, station: str, first: int, last: int):
    """A plain ``date,tmax,tmin,prcp`` CSV holding years first..last of a real
    .dly: a real record cut short, as users export their own."""
    daily, _ = load_station(
        {"id": station, "file": str(FIXTURE_DATA / f"{station}.dly.gz")}
    )
    frame = frame_of(daily).loc[f"{first}-01-01" : f"{last}-12-31"]
    frame = frame[["TMAX", "TMIN", "PRCP"]].rename(columns=str.lower)
    path = tmp_path / f"{station}_{first}_{last}.csv"
    frame.to_csv(path, index_label="date", float_format="%.1f")
    return {"id": f"{station}-{first}", "file": str(path), "format": "plain"}


def raw_table(info: dict) -> pd.DataFrame:
    """The station's raw values (degC, mm) by date, read by pandas alone, not by the
    package's readers or its Daily: a .dly by pandas read_fwf
    (tests/pandas_reference.py, which shares no code with them), a plain CSV or
    a CDO export by read_csv (converted by hand: a "standard" export is in degF and
    inches, a legacy one in tenths of degC and of mm, -9999 for missing)."""
    if info["file"].endswith((".dly", ".dly.gz")):
        return read_ghcnd_fwf(info["file"])
    if info.get("format") == "cdo":
        frame = pd.read_csv(info["file"], dtype={"DATE": str}, na_values=["-9999"])
        frame.index = pd.to_datetime(frame.pop("DATE"), format="mixed")
        frame = frame[["TMAX", "TMIN", "PRCP"]].astype(float)
        if Path(info["file"]).read_text().startswith("STATION,STATION_NAME,"):
            frame /= 10  # a legacy export: tenths of degC and of mm
        elif info["units"] == "standard":
            frame[["TMAX", "TMIN"]] = (frame[["TMAX", "TMIN"]] - 32) * 5 / 9
            frame["PRCP"] *= 25.4
        return frame
    frame = pd.read_csv(info["file"], index_col="date", parse_dates=True)
    return frame.rename(columns=str.upper)


def days_in_years(years) -> np.ndarray:
    return np.array([366 if pd.Timestamp(y, 1, 1).is_leap_year else 365 for y in years])


def pandas_annual(series: pd.Series, how: str) -> pd.Series:
    """``how`` ("mean" or "sum") of ``series`` per year with >= 90 % of its days."""
    by_year = series.dropna().groupby(series.dropna().index.year)
    covered = by_year.count() >= 0.9 * days_in_years(by_year.count().index)
    return getattr(by_year, how)()[covered]


def pandas_annual_means(info: dict) -> pd.Series:
    """Annual mean of (TMAX+TMIN)/2 over years with >= 90 % of days, by pandas: an
    independent second computation of what the annual panel must show."""
    return pandas_annual(raw_table(info).eval("(TMAX + TMIN) / 2"), "mean")


def pandas_annual_totals(info: dict) -> pd.Series:
    return pandas_annual(raw_table(info)["PRCP"], "sum")


def pandas_climatology(info: dict) -> pd.DataFrame:
    """Per calendar month: mean and 10th/90th percentiles of TMAX and TMIN over all
    days, and the mean total of the months with >= 90 % of their days' PRCP."""
    table = raw_table(info)
    rows = {}
    for element in ("TMAX", "TMIN"):
        values = table[element].dropna()
        by_month = values.groupby(values.index.month)
        rows[f"{element.lower()}_mean"] = by_month.mean()
        rows[f"{element.lower()}_p10"] = by_month.quantile(0.1)
        rows[f"{element.lower()}_p90"] = by_month.quantile(0.9)
    prcp = table["PRCP"].dropna()
    months = prcp.groupby([prcp.index.year, prcp.index.month])
    count, total = months.count(), months.sum()
    lengths = [pd.Timestamp(y, m, 1).days_in_month for y, m in count.index]
    covered = total[count.to_numpy() >= 0.9 * np.array(lengths)]
    rows["prcp_mean_total"] = covered.groupby(level=1).mean()
    return pd.DataFrame(rows).reindex(range(1, 13))


def assert_climatology_is_pandas(summary, info: dict) -> None:
    expected = pandas_climatology(info)
    for column in expected.columns:
        np.testing.assert_allclose(
            getattr(summary.climatology, column),
            expected[column],
            rtol=1e-9,
            err_msg=column,
        )


# --- drawn data == computed data ---------------------------------------------------


def test_long_record_draws_the_computed_annual_means_trend_and_totals():
    summary, figure = drawn(OXFORD_INFO)
    annual = summary.annual_temperature
    line = artist(figure, "annual-mean-temperature")
    np.testing.assert_array_equal(line.get_xdata(), annual.years)
    np.testing.assert_allclose(line.get_ydata(), annual.values)
    # ... and they are the annual means a second method (pandas) finds.
    expected = pandas_annual_means(OXFORD_INFO)
    np.testing.assert_array_equal(annual.years, expected.index)
    np.testing.assert_allclose(annual.values, expected.to_numpy(), rtol=1e-12)

    trend = artist(figure, "trend")
    (x0, x1), (y0, y1) = trend.get_xdata(), trend.get_ydata()
    assert (y1 - y0) / (x1 - x0) * 10 == pytest.approx(summary.trend.per_decade)
    # Least squares by its closed form, not by the implementation's polyfit.
    x, y = annual.years.astype(float), annual.values
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert summary.trend.per_decade == pytest.approx(slope * 10, rel=1e-9)
    assert f"{summary.trend.per_decade:+.2f} °C per decade" in texts(figure)

    centres, heights = bar_heights(artist(figure, "annual-precipitation"))
    totals = pandas_annual_totals(OXFORD_INFO)  # pandas, from the raw .dly
    np.testing.assert_array_equal(centres, totals.index)
    np.testing.assert_allclose(heights, totals.to_numpy(), rtol=1e-9)
    # The warmest and wettest years, and the climatology, as pandas finds them.
    warmest = expected.idxmax()
    assert f"Warmest full year: {warmest} ({expected[warmest]:.1f} °C)" in texts(figure)
    wettest = totals.idxmax()
    assert f"Wettest full year: {wettest} ({totals[wettest]:.0f} mm)" in texts(figure)
    assert_climatology_is_pandas(summary, OXFORD_INFO)
    (tmax_line,) = artists(figure, "monthly-tmax")
    clim = pandas_climatology(OXFORD_INFO)
    np.testing.assert_allclose(tmax_line.get_ydata(), clim["tmax_mean"], rtol=1e-9)


def test_long_record_daily_panel_shows_each_years_range_on_a_date_axis():
    summary, figure = drawn(OXFORD_INFO)
    daily_axes = panel(figure, "Daily maximum")
    assert "TMAX range of each year" in [
        h.get_label() for h in daily_axes.get_legend().legend_handles
    ]
    labels = tick_labels(daily_axes)
    assert labels[0] == "1820" and all(re.fullmatch(r"\d{4}", t) for t in labels)
    assert_whole_years(panel(figure, "Annual mean"))
    yearly = summary.ranges["TMAX"]
    assert yearly.years[0] == 1814 and yearly.years[-1] == 2025
    daily, _ = load_station(OXFORD_INFO)
    frame = frame_of(daily)
    assert yearly.highest[yearly.years == 1976][0] == frame.loc["1976", "TMAX"].max()


@pytest.mark.parametrize(
    ("info", "name", "first_month"),
    [
        (CDO_2021, "DEATH VALLEY NATIONAL PARK, CA US", "2021"),
        (CDO_LEGACY, "SEATTLE TACOMA INTERNATIONAL AIRPORT WA US", "2014"),
    ],
    ids=["cdo-2021-standard", "cdo-2014-legacy"],
)
def test_one_year_cdo_export_reads_right(info, name, first_month):
    summary, figure = drawn(info)
    title = figure.get_suptitle()
    assert title == f"{name} ({info['id']}) · {first_month}"  # not 2021–2021
    daily_axes = panel(figure, "Daily maximum")
    labels = tick_labels(daily_axes)
    assert labels[0] == first_month and {"Mar", "May", "Jul", "Sep"} <= set(labels)
    assert not any(re.search(r"\d\.\d|e[+-]", label) for label in labels)
    # One year cannot make an annual series: the panels say why, and draw nothing.
    assert len(summary.annual_temperature.years) == 1
    assert not artists(figure, "annual-mean-temperature")
    assert not artists(figure, "annual-precipitation")
    assert texts(figure).count("Annual figures need 2 years") == 2
    assert "spans 1 calendar year and has 1 such year" in texts(figure)
    year, mean = summary.warmest
    assert f"({year}: mean {mean:.1f} °C)" in texts(figure)  # the one year's value
    assert f"Year {year}: mean {mean:.1f} °C" in texts(figure)
    assert "Warmest" not in texts(figure)
    assert f"({summary.smoothing_days}-day mean)" in texts(figure)
    assert summary.smoothing_days == 31  # a month, for a record under 3 years
    # The monthly climatology drawn is the one pandas finds in the raw export.
    clim = pandas_climatology(info)
    (tmax_line,) = artists(figure, "monthly-tmax")
    np.testing.assert_allclose(tmax_line.get_ydata(), clim["tmax_mean"], rtol=1e-9)
    _, rain = bar_heights(artist(figure, "monthly-precipitation"))
    np.testing.assert_allclose(rain, np.nan_to_num(clim["prcp_mean_total"]))
    assert_climatology_is_pandas(summary, info)


def test_few_year_plain_csv_draws_its_years_and_no_trend(tmp_path):
    info = plain_csv_from_real_dly(tmp_path, DEATH_VALLEY, 2021, 2024)
    summary, figure = drawn(info)
    assert figure.get_suptitle() == f"{info['id']} · 2021–2024"  # no name anywhere
    annual = summary.annual_temperature
    assert list(annual.years) == [2021, 2022, 2023, 2024]
    line = artist(figure, "annual-mean-temperature")
    np.testing.assert_array_equal(line.get_xdata(), annual.years)
    np.testing.assert_allclose(line.get_ydata(), annual.values)
    expected = pandas_annual_means(info)
    np.testing.assert_allclose(annual.values, expected.to_numpy(), rtol=1e-12)
    assert summary.trend is None and not artists(figure, "trend")
    assert "no trend: fewer than 10 years" in texts(figure)
    centres, heights = bar_heights(artist(figure, "annual-precipitation"))
    totals = pandas_annual_totals(info)
    np.testing.assert_array_equal(centres, totals.index)
    np.testing.assert_allclose(heights, totals.to_numpy(), rtol=1e-9)
    assert_whole_years(panel(figure, "Annual mean"))
    assert_whole_years(panel(figure, "Annual precipitation"))
    assert tick_labels(panel(figure, "Annual mean")) == ["2021", "2022", "2023", "2024"]


def test_png_is_deterministic_and_of_the_documented_size(tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot_station(INFO, first)
    plot_station(INFO, second)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as image:
        assert image.size == (1200, 1050)
        assert "Software" in image.info and "weatherplot" in image.info["Software"]
        assert image.info["Title"] == (
            "DEATH VALLEY NP (USC00042319) · United States, 36.46°N, 116.87°W, -59 m"
            " · 1961–2025"
        )  # the title drawn (tests/fixtures/reference-png/USC00042319.png)
        assert not any("time" in key.lower() for key in image.info)


def test_title_names_station_place_and_period():
    daily, _ = load_station(INFO)
    title = plotting.title_for(INFO, climate.station_summary(daily))
    assert title.startswith("DEATH VALLEY NP (USC00042319)")
    assert "United States" in title and "36.46°N, 116.87°W" in title
    assert title.endswith("1961–2025")


def test_title_shows_the_id_once_when_no_name_is_known():
    daily, _ = load_station(INFO)
    title = plotting.title_for({"id": "X1"}, climate.station_summary(daily))
    assert title == "X1 · 1961–2025"


# --- missing elements ----------------------------------------------------------


def test_station_without_precipitation_still_gets_a_plot():
    daily, _ = load_station(INFO)
    daily.values["PRCP"][:] = np.nan
    figure = plotting.station_figure(climate.station_summary(daily), INFO)
    assert "No PRCP in this station's record" in texts(figure)
    assert not artists(figure, "annual-precipitation")
    png = plotting.render_png(figure)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (1200, 1050)


def test_station_without_tmax_says_so():
    daily, _ = load_station(INFO)
    daily.values["TMAX"][:] = np.nan
    summary = climate.station_summary(daily)
    figure = plotting.station_figure(summary, INFO)
    found = texts(figure)
    assert "No TMAX in this record" in found
    assert "No TMAX and TMIN pair in this station's record" in found
    assert not artists(figure, "annual-mean-temperature")
    assert "TMAX" not in summary.smoothed and summary.warmest is None


def test_figure_reports_left_out_years():
    _, figure = drawn(INFO)
    assert "of days left out" in texts(figure)  # 1961 and 2025 are partial years


@pytest.mark.parametrize(
    "name", [r"A $\notacommand$ B", "Price $5 and $6", r"Caf\'e $x^2$"]
)
def test_station_name_is_text_not_mathtext(tmp_path, name):
    # Mathtext would fail the job on the unknown command, and draw "$5 and $" as math.
    info = {**INFO, "name": name, "source": name}
    _, figure = drawn(info)  # draws: an unknown command would raise here
    assert figure.get_suptitle().startswith(f"{name} ({INFO['id']})")
    drawn_texts = figure.findobj(matplotlib.text.Text)
    (title,) = [t for t in drawn_texts if t.get_text() == figure.get_suptitle()]
    (summary_text,) = [t for t in drawn_texts if "Source:" in t.get_text()]
    assert not title.get_parse_math() and not summary_text.get_parse_math()
    plot_station(info, tmp_path / "x.png")  # the whole job's path, PNG saved
    assert (tmp_path / "x.png").stat().st_size > 0
