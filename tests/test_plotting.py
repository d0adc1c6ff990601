"""The station figure: deterministic PNG bytes, panels that say what is missing."""

from __future__ import annotations

import io

import numpy as np
from conftest import DATA, DEATH_VALLEY
from PIL import Image

from weatherplot import plotting
from weatherplot.stations import load_catalog, plot_station

INFO = {
    "id": DEATH_VALLEY,
    "file": str(DATA / f"{DEATH_VALLEY}.dly.gz"),
    **load_catalog(DATA / "stations.csv")[DEATH_VALLEY],
}


def texts(figure) -> str:
    found = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(found)


def test_png_is_deterministic_and_of_the_documented_size(tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    plot_station(INFO, first)
    plot_station(INFO, second)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as image:
        assert image.size == (1200, 1050)
        assert "Software" in image.info and "weatherplot" in image.info["Software"]
        assert not any("time" in key.lower() for key in image.info)


def test_title_names_station_place_and_period():
    from weatherplot.stations import load_station

    daily, _ = load_station(INFO)
    title = plotting.title_for(INFO, daily)
    assert title.startswith("DEATH VALLEY NP (USC00042319)")
    assert "United States" in title and "36.46°N, 116.87°W" in title
    assert title.endswith("1961–2025")


def test_station_without_precipitation_still_gets_a_plot(tmp_path):
    from weatherplot.stations import load_station

    daily, _ = load_station(INFO)
    daily.values["PRCP"][:] = np.nan
    figure = plotting.station_figure(daily, INFO)
    assert "No PRCP in this station's record" in texts(figure)
    png = plotting.render_png(figure)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (1200, 1050)


def test_station_without_tmax_says_so():
    from weatherplot.stations import load_station

    daily, _ = load_station(INFO)
    daily.values["TMAX"][:] = np.nan
    found = texts(plotting.station_figure(daily, INFO))
    assert "No TMAX in this record" in found
    assert "No TMAX and TMIN pair in this station's record" in found


def test_figure_reports_trend_and_left_out_years():
    from weatherplot.stations import load_station

    daily, _ = load_station(INFO)
    found = texts(plotting.station_figure(daily, INFO))
    assert "°C per decade" in found
    assert "of days left out" in found  # 1961 and 2025 are partial years
