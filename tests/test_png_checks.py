"""The pixel checks of tests/png_checks.py catch a broken picture: each broken PNG
below is made by the real plot code with one thing changed (monkeypatched), and
must fail the check that is meant to catch it; the unchanged code's PNG passes.

The smallest fixture station, plotted in this process as its plot job does (the
fixture config's name, stations.csv's place), so its PNG is the finished run's.
"""

from __future__ import annotations

import png_checks
import pytest
from helpers import FIXTURE_DATA, MELBOURNE, fixture_config

from weatherplot import climate, plotting
from weatherplot.stations import load_catalog, plot_station

ENTRY = next(s for s in fixture_config()["stations"] if s["id"] == MELBOURNE)
INFO = {
    **load_catalog(FIXTURE_DATA / "stations.csv")[MELBOURNE],
    **ENTRY,
    "file": str(FIXTURE_DATA / f"{MELBOURNE}.dly.gz"),
}


def plotted(tmp_path) -> bytes:
    png = tmp_path / f"{MELBOURNE}.png"
    plot_station(INFO, png)
    return png.read_bytes()


def needs_reference():
    reason = png_checks.reference_skip_reason()
    if reason:
        pytest.skip(reason)


def test_the_unchanged_plot_passes_every_check(tmp_path):
    png = plotted(tmp_path)
    png_checks.check_panels(png)
    needs_reference()
    png_checks.check_reference(png, MELBOURNE)


def test_a_cleared_figure_fails(tmp_path, monkeypatch):
    drawn = plotting.station_figure

    def cleared(*args, **kwargs):
        figure = drawn(*args, **kwargs)
        figure.clear()
        return figure

    monkeypatch.setattr(plotting, "station_figure", cleared)
    with pytest.raises(AssertionError, match="title strip"):
        png_checks.check_panels(plotted(tmp_path))


@pytest.mark.parametrize(
    ("panel", "message"),
    [
        ("_daily_panel", "daily panel"),
        ("_annual_temperature_panel", "annual means"),
        ("_annual_precipitation_panel", "annual precipitation"),
        ("_climatology_panel", "climatology"),
        ("_summary_panel", "summary panel"),
    ],
)
def test_an_empty_panel_fails(tmp_path, monkeypatch, panel, message):
    monkeypatch.setattr(plotting, panel, lambda *args: None)
    with pytest.raises(AssertionError, match=message):
        png_checks.check_panels(plotted(tmp_path))


def test_swapped_tmax_and_tmin_colours_fail(tmp_path, monkeypatch):
    tmax, tmin = plotting.TMAX_COLOR, plotting.TMIN_COLOR
    monkeypatch.setattr(plotting, "TMAX_COLOR", tmin)
    monkeypatch.setattr(plotting, "TMIN_COLOR", tmax)
    with pytest.raises(AssertionError, match="TMAX not above TMIN"):
        png_checks.check_panels(plotted(tmp_path))


def test_temperatures_in_fahrenheit_fail_the_reference(tmp_path, monkeypatch):
    """°F values drawn on the same layout: every panel still has its colours (the
    pixel checks pass), and the lines sit on the very same pixels (autoscaling is
    linear, and so is °C -> °F), but the tick labels, grid lines and figures differ
    from the reviewed image."""
    needs_reference()
    summarise = climate.summarise

    def fahrenheit(daily):
        for element in ("TMAX", "TMIN"):
            daily.values[element] = daily.values[element] * 1.8 + 32
        return summarise(daily)

    monkeypatch.setattr(climate, "summarise", fahrenheit)
    png = plotted(tmp_path)
    png_checks.check_panels(png)
    with pytest.raises(AssertionError, match="differs from") as failed:
        png_checks.check_reference(png, MELBOURNE)
    for panel in ("daily", "annual temperature", "climatology", "summary"):
        assert f"'{panel}'" in str(failed.value)


def test_a_station_moved_by_one_year_fails_the_reference(tmp_path, monkeypatch):
    """Values one year off (a wrong date parse) keep the layout but not the image."""
    needs_reference()
    summarise = climate.summarise

    def shifted(daily):
        for element in ("TMAX", "TMIN", "PRCP"):
            daily.values[element] = daily.values[element][365:]
        daily.dates = daily.dates[: len(daily.dates) - 365]
        return summarise(daily)

    monkeypatch.setattr(climate, "summarise", shifted)
    with pytest.raises(AssertionError, match="differs from"):
        png_checks.check_reference(plotted(tmp_path), MELBOURNE)
