"""The station figure: matplotlib's object-oriented API on the Agg canvas.

No pyplot: it would import a GUI-backend machinery the job never uses and keep global
state between figures. The PNG is deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import climate
from .daily import Daily

FIGSIZE = (12.0, 10.5)  # inches
DPI = 100  # -> 1200 x 1050 pixels
TMAX_COLOR = "#c0392b"
TMIN_COLOR = "#2471a3"
PRCP_COLOR = "#17a589"
MONTH_LABELS = "JFMAMJJASOND"
# Axes titles at a fixed height (matplotlib's default, y = 1.0 plus the pad). Passing
# y turns off matplotlib's title autopositioning, which measures every y tick label
# of every axes at draw time (~0.2 s a figure) to move titles above top-side tick
# labels; these panels have none, so the titles land on the same pixels.
TITLE_Y = 1.0
# Envelope columns per pixel column of the daily panel (see _envelope).
ENVELOPE_OVERSAMPLE = 2
# Fixed PNG metadata: no timestamp, no version string, so bytes depend on data only.
PNG_METADATA = {"Software": "weatherplot"}


def title_for(info: dict, daily: Daily) -> str:
    parts = [f"{info.get('name') or info['id']} ({info['id']})"]
    where = []
    if info.get("country"):
        where.append(str(info["country"]))
    lat, lon = info.get("latitude"), info.get("longitude")
    if lat is not None and lon is not None:
        where.append(
            f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}, "
            f"{abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"
        )
    if info.get("elevation_m") is not None:
        where.append(f"{info['elevation_m']:.0f} m")
    if where:
        parts.append(", ".join(where))
    if len(daily):
        parts.append(f"{str(daily.dates[0])[:4]}–{str(daily.dates[-1])[:4]}")
    return " · ".join(parts)


def station_figure(daily: Daily, info: dict) -> Figure:
    """Daily temperatures, annual mean with trend, monthly climatology and annual
    precipitation; panels for an element the station lacks say so."""
    # Fixed margins, not constrained layout: that costs ~0.5 s of extra drawing
    # per figure, as much as the rest of the rendering.
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    grid = fig.add_gridspec(
        3,
        2,
        height_ratios=[1.1, 1, 1],
        left=0.06,
        right=0.94,
        top=0.93,
        bottom=0.05,
        hspace=0.32,
        wspace=0.22,
    )
    fig.suptitle(title_for(info, daily), fontsize=13, fontweight="bold", y=0.985)
    annual_t = climate.annual_mean_temperature(daily)
    annual_p = climate.annual_precipitation(daily)
    _daily_panel(fig.add_subplot(grid[0, :]), daily)
    _annual_temperature_panel(fig.add_subplot(grid[1, 0]), daily, annual_t)
    _annual_precipitation_panel(fig.add_subplot(grid[1, 1]), daily, annual_p)
    _climatology_panel(fig.add_subplot(grid[2, 0]), daily)
    _summary_panel(fig.add_subplot(grid[2, 1]), daily, info, annual_t, annual_p)
    return fig


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (write them atomically: nothing half-written)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


def _missing(ax, what: str) -> None:
    ax.text(
        0.5,
        0.5,
        f"No {what} in this station's record",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.4",
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _daily_panel(ax, daily: Daily) -> None:
    ax.set_title(
        "Daily maximum and minimum temperature", loc="left", fontsize=10, y=TITLE_Y
    )
    if not (daily.has("TMAX") or daily.has("TMIN")):
        _missing(ax, "TMAX or TMIN")
        return
    # Dates as float years: plain floats draw faster than datetime conversion.
    years, _, _ = daily.calendar
    start_of_year = daily.dates.astype("datetime64[Y]").astype("datetime64[D]")
    x = years + (daily.dates - start_of_year).astype(np.float64) / 365.25
    for element, color in (("TMAX", TMAX_COLOR), ("TMIN", TMIN_COLOR)):
        if not daily.has(element):
            continue
        values = daily.values[element]
        ax.plot(
            *_envelope(x, values, _pixel_columns(fig_width_px(ax), ax)),
            color=color,
            linewidth=0.25,
            alpha=0.35,
        )
        ax.plot(
            x,
            climate.rolling_mean(values),
            color=color,
            linewidth=1.6,
            label=f"{element} ({climate.SMOOTHING_DAYS}-day mean)",
        )
    for element in ("TMAX", "TMIN"):
        if not daily.has(element):
            ax.text(
                0.01,
                0.95,
                f"No {element} in this record",
                transform=ax.transAxes,
                va="top",
                color="0.4",
                fontsize=9,
            )
    ax.set_ylabel("°C")
    ax.set_xlim(x[0], x[-1])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncols=2)


def fig_width_px(ax) -> float:
    figure = ax.get_figure()
    return figure.get_figwidth() * figure.dpi


def _pixel_columns(width_px: float, ax) -> int:
    """Envelope columns for ``ax``: ``ENVELOPE_OVERSAMPLE`` per pixel column."""
    return max(1, round(ax.get_position().width * width_px * ENVELOPE_OVERSAMPLE))


def _envelope(x: np.ndarray, values: np.ndarray, columns: int):
    """The series reduced to its minimum and maximum per column, in time order.

    A daily record of two centuries has ~75 days per pixel column: drawn as is, Agg
    strokes 77k segments (~0.1 s a line) and its path simplification drops extremes,
    so the band looks thinner than the data. Drawn through each column's minimum and
    maximum (in the order they occur), the line covers exactly the pixels the data
    spans, at ~4 points per pixel column. A column with no value breaks the line, as
    a gap does in the full series. Short series are returned unchanged.
    """
    n = len(values)
    per = -(-n // columns)  # ceil
    if per < 4:
        return x, values
    columns = -(-n // per)
    padded = np.full(columns * per, np.nan)
    padded[:n] = values
    block = padded.reshape(columns, per)
    valid = np.isfinite(block)
    lo = np.argmin(np.where(valid, block, np.inf), axis=1)
    hi = np.argmax(np.where(valid, block, -np.inf), axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    rows = np.arange(columns) * per
    index = np.column_stack([rows + first, rows + second]).ravel()
    empty = np.repeat(~valid.any(axis=1), 2)
    index = np.minimum(index, n - 1)
    ys = values[index].copy()
    ys[empty] = np.nan
    return x[index], ys


def _annual_temperature_panel(ax, daily: Daily, annual: climate.Annual) -> None:
    ax.set_title("Annual mean temperature", loc="left", fontsize=10, y=TITLE_Y)
    if not (daily.has("TMAX") and daily.has("TMIN")):
        _missing(ax, "TMAX and TMIN pair")
        return
    if len(annual.years) == 0:
        _missing(ax, "year with 90% of days observed")
        return
    ax.plot(
        annual.years,
        annual.values,
        "o-",
        color="0.25",
        markersize=2.5,
        linewidth=0.8,
        label="annual mean of (TMAX+TMIN)/2",
    )
    trend = climate.linear_trend(annual.years, annual.values)
    if trend is not None:
        ax.plot(
            annual.years,
            trend.at(annual.years),
            color=TMAX_COLOR,
            linewidth=1.8,
            label=f"trend {trend.per_decade:+.2f} °C per decade",
        )
    ax.set_ylabel("°C")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    _note_excluded(ax, annual.excluded)


def _annual_precipitation_panel(ax, daily: Daily, annual: climate.Annual) -> None:
    ax.set_title("Annual precipitation total", loc="left", fontsize=10, y=TITLE_Y)
    if not daily.has("PRCP"):
        _missing(ax, "PRCP")
        return
    if len(annual.years) == 0:
        _missing(ax, "year with 90% of PRCP days observed")
        return
    _bars(ax, annual.years, annual.values, width=0.85, color=PRCP_COLOR)
    ax.axhline(
        annual.values.mean(),
        color="0.25",
        linewidth=1,
        linestyle="--",
        label=f"mean {annual.values.mean():.0f} mm",
    )
    ax.set_ylabel("mm per year")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper left", fontsize=8)
    _note_excluded(ax, annual.excluded)


def _climatology_panel(ax, daily: Daily) -> None:
    ax.set_title(
        "Monthly climatology (band: 10th–90th percentile of days)",
        loc="left",
        fontsize=10,
        y=TITLE_Y,
    )
    clim = climate.monthly_climatology(daily)
    months = clim.months
    has_temperature = daily.has("TMAX") or daily.has("TMIN")
    if daily.has("PRCP"):
        rain = ax.twinx() if has_temperature else ax
        _bars(
            rain, months, clim.prcp_mean_total, width=0.6, color=PRCP_COLOR, alpha=0.35
        )
        rain.set_ylabel("mm per month", color=PRCP_COLOR)
        rain.set_ylim(0, np.nanmax(np.append(clim.prcp_mean_total, 1.0)) * 2.2)
        if has_temperature:
            ax.set_zorder(rain.get_zorder() + 1)
            ax.patch.set_visible(False)
    else:
        ax.text(
            0.99,
            0.03,
            "No PRCP in this record",
            transform=ax.transAxes,
            ha="right",
            color="0.4",
            fontsize=9,
        )
    if has_temperature:
        for name, color in (("tmax", TMAX_COLOR), ("tmin", TMIN_COLOR)):
            mean = getattr(clim, f"{name}_mean")
            if np.isfinite(mean).any():
                ax.fill_between(
                    months,
                    getattr(clim, f"{name}_p10"),
                    getattr(clim, f"{name}_p90"),
                    color=color,
                    alpha=0.2,
                    linewidth=0,
                )
                ax.plot(
                    months,
                    mean,
                    "o-",
                    color=color,
                    markersize=3,
                    label=f"mean {name.upper()}",
                )
        ax.set_ylabel("°C")
        ax.legend(loc="upper left", fontsize=8)
    elif not daily.has("PRCP"):
        _missing(ax, "TMAX, TMIN or PRCP")
        return
    ax.set_xticks(months, list(MONTH_LABELS))
    ax.grid(alpha=0.3)


def _summary_panel(
    ax,
    daily: Daily,
    info: dict,
    annual_t: climate.Annual,
    annual_p: climate.Annual,
) -> None:
    ax.axis("off")
    lines = [f"Station {info['id']}"]
    if len(daily):
        lines.append(
            f"Record {daily.dates[0]} to {daily.dates[-1]} ({len(daily):,} days)"
        )
    for element in ("TMAX", "TMIN", "PRCP"):
        valid = np.isfinite(daily.values[element])
        share = valid.mean() if len(daily) else 0.0
        lines.append(f"{element}: {int(valid.sum()):,} days observed ({share:.0%})")
    if len(annual_t.years):
        warmest = annual_t.years[np.argmax(annual_t.values)]
        lines.append(f"Warmest full year: {warmest} ({annual_t.values.max():.1f} °C)")
        trend = climate.linear_trend(annual_t.years, annual_t.values)
        if trend is not None:
            lines.append(
                f"Trend: {trend.per_decade:+.2f} °C per decade "
                f"over {len(annual_t.years)} years"
            )
    if len(annual_p.years):
        wettest = annual_p.years[np.argmax(annual_p.values)]
        lines.append(f"Wettest full year: {wettest} ({annual_p.values.max():.0f} mm)")
    lines.append(
        f"Years left out (<{climate.MIN_COVERAGE:.0%} of days): "
        f"{annual_t.excluded} temperature, {annual_p.excluded} precipitation"
    )
    if info.get("source"):
        lines.append(f"Source: {info['source']}")
    ax.text(
        0.02,
        0.95,
        "\n".join(lines),
        va="top",
        ha="left",
        fontsize=9.5,
        linespacing=1.6,
        family="monospace",
        transform=ax.transAxes,
    )


def _note_excluded(ax, excluded: int) -> None:
    if excluded:
        ax.set_title(
            f"{excluded} year{'s' if excluded != 1 else ''} with "
            f"<{climate.MIN_COVERAGE:.0%} of days left out",
            loc="right",
            fontsize=8,
            color="0.35",
            y=TITLE_Y,
        )


def _bars(ax, x, heights, width: float, **style) -> None:
    """Bars as one PolyCollection: ``ax.bar`` makes one Rectangle artist per bar,
    which costs ~2 ms each to build and draw (0.4 s for 200 years)."""
    from matplotlib.collections import PolyCollection

    x = np.asarray(x, dtype=float)
    heights = np.nan_to_num(np.asarray(heights, dtype=float))
    left, right = x - width / 2, x + width / 2
    zeros = np.zeros_like(x)
    verts = np.stack(
        [
            np.column_stack(corner)
            for corner in (
                (left, zeros),
                (left, heights),
                (right, heights),
                (right, zeros),
            )
        ],
        axis=1,
    )
    ax.add_collection(PolyCollection(verts, linewidths=0, **style))
    ax.set_xlim(left.min() - width, right.max() + width)
    ax.set_ylim(0, max(heights.max(), 1.0) * 1.05)
