"""The pixel checks of tests/png_checks.py catch a broken picture: each broken PNG
below is made by the real plot code with one thing changed (monkeypatched), and
must fail the check that is meant to catch it; the unchanged code's PNG passes.

The smallest fixture station, plotted in this process as its plot job does (the
fixture config's name, stations.csv's place), so its PNG is the finished run's.
"""

from __future__ import annotations

import json
import tomllib

import png_checks
import pytest
from helpers import FIXTURE_DATA, MELBOURNE, REPO, fixture_config

from weatherplot import climate, plotting
from weatherplot.catalog import load_catalog
from weatherplot.stations import plot_station

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


def test_the_unchanged_plot_passes_every_check(tmp_path):
    png = plotted(tmp_path)
    png_checks.check_panels(png)
    png_checks.require_references()
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
    png_checks.require_references()
    summarise = climate.station_summary

    def fahrenheit(daily):
        for element in ("TMAX", "TMIN"):
            daily.values[element] = daily.values[element] * 1.8 + 32
        return summarise(daily)

    monkeypatch.setattr(climate, "station_summary", fahrenheit)
    png = plotted(tmp_path)
    png_checks.check_panels(png)
    with pytest.raises(AssertionError, match="differs from") as failed:
        png_checks.check_reference(png, MELBOURNE)
    for panel in ("daily", "annual temperature", "climatology", "summary"):
        assert f"'{panel}'" in str(failed.value)


def test_a_station_moved_by_one_year_fails_the_reference(tmp_path, monkeypatch):
    """Values one year off (a wrong date parse) keep the layout but not the image."""
    png_checks.require_references()
    summarise = climate.station_summary

    def shifted(daily):
        for element in ("TMAX", "TMIN", "PRCP"):
            daily.values[element] = daily.values[element][365:]
        daily.dates = daily.dates[: len(daily.dates) - 365]
        return summarise(daily)

    monkeypatch.setattr(climate, "station_summary", shifted)
    with pytest.raises(AssertionError, match="differs from"):
        png_checks.check_reference(plotted(tmp_path), MELBOURNE)


def test_under_ci_references_that_cannot_be_compared_fail(tmp_path, monkeypatch):
    """Made with another Matplotlib: skipped with the regenerate command, except
    under CI=true, where the same message fails the test."""
    versions = tmp_path / "versions.json"
    versions.write_text(json.dumps({"matplotlib": "3.8.0", "freetype": "2.6.1"}))
    monkeypatch.setattr(png_checks, "REFERENCE_VERSIONS", versions)

    def outcome() -> tuple[type, str]:
        # Caught here, so that a skip where a failure is due fails this test.
        with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)) as caught:
            png_checks.require_references()
        return caught.type, str(caught.value)

    monkeypatch.delenv("CI", raising=False)
    kind, message = outcome()
    assert kind is pytest.skip.Exception
    assert f"regenerate them with: {png_checks.REGENERATE}" in message
    monkeypatch.setenv("CI", "true")
    kind, message = outcome()
    assert kind is pytest.fail.Exception
    assert message.startswith("CI=true compares the reference images, but ")
    assert f"regenerate them with: {png_checks.REGENERATE}" in message


def test_the_test_extra_installs_the_references_matplotlib():
    """pip install '.[test]' gets the Matplotlib (and, inside its wheel, the
    FreeType) that drew the reference images, so they are compared, not skipped."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    test_extra = pyproject["project"]["optional-dependencies"]["test"]
    recorded = json.loads(png_checks.REFERENCE_VERSIONS.read_text())
    assert f"matplotlib=={recorded['matplotlib']}" in test_extra
