"""The station figure: matplotlib's object-oriented API on the Agg canvas.

No pyplot: it would import a GUI-backend machinery the job never uses and keep global
state between figures. The PNG is deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from . import climate

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
# Below this many pixels per year the seasons of the daily panel merge into a
# barcode (a 150-year record has ~7): its band then shows each year's daily range.
MIN_PIXELS_PER_YEAR = 10
# Fixed PNG metadata: no timestamp, no version string, so bytes depend on data only
# (render_png adds the figure's title).
PNG_METADATA = {"Software": "weatherplot"}


def title_for(info: dict, summary: climate.StationSummary) -> str:
    """The suptitle: name (id) · country, coordinates, elevation · period; the id
    alone when no name is known."""
    name = info.get("name")
    parts = [f"{name} ({info['id']})" if name and name != info["id"] else info["id"]]
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
    parts.append(_period(summary))
    return " · ".join(parts)


def _period(summary: climate.StationSummary) -> str:
    """The record's years; one reads "2021", not "2021–2021"."""
    first, last = summary.years
    return str(first) if first == last else f"{first}–{last}"


def station_figure(summary: climate.StationSummary, info: dict) -> Figure:
    """Daily temperatures, annual mean with trend, monthly climatology and annual
    precipitation, drawn from the station's computed ``summary``; a panel the
    record cannot fill says why."""
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
    # A station's name is text: "$" in it is a dollar, not the start of mathtext (which
    # would render "Price $5 and $6" as math and fail a job on an unknown command).
    fig.suptitle(
        title_for(info, summary),
        fontsize=13,
        fontweight="bold",
        y=0.985,
        parse_math=False,
    )
    _daily_panel(fig.add_subplot(grid[0, :]), summary)
    _annual_temperature_panel(fig.add_subplot(grid[1, 0]), summary)
    _annual_precipitation_panel(fig.add_subplot(grid[1, 1]), summary)
    _climatology_panel(fig.add_subplot(grid[2, 0]), summary)
    _summary_panel(fig.add_subplot(grid[2, 1]), summary, info)
    return fig


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (write them atomically: nothing half-written)."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    # The title as drawn, also as the PNG's Title (image viewers and file managers
    # show it; a test reads what the job drew from it).
    metadata = {**PNG_METADATA, "Title": fig.get_suptitle()}
    fig.savefig(buffer, format="png", dpi=DPI, metadata=metadata)
    return buffer.getvalue()


def _note(ax, x: float, y: float, text: str, **style) -> None:
    """Grey text at (x, y) of the panel (0 to 1): what the panel lacks, and why."""
    ax.text(x, y, text, transform=ax.transAxes, color="0.4", **style)


def _missing(ax, message: str) -> None:
    """An empty panel that says why it is empty."""
    _note(ax, 0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _date_axis(ax) -> None:
    """Calendar dates on the x axis: months for a short record, years for a long
    one (matplotlib's concise date labels), never fractional years or an offset."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _year_axis(ax, summary: climate.StationSummary) -> None:
    """Whole years on the x axis, spanning the record: never 2020.5, never an
    offset ("+2.021e3")."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    first, last = summary.years
    ax.set_xlim(first - 0.7, last + 0.7)


def _daily_panel(ax, summary: climate.StationSummary) -> None:
    ax.set_title(
        "Daily maximum and minimum temperature", loc="left", fontsize=10, y=TITLE_Y
    )
    if not (summary.has("TMAX") or summary.has("TMIN")):
        _missing(ax, "No TMAX or TMIN in this station's record")
        return
    daily = summary.daily
    # Matplotlib date numbers (days since 1970-01-01, its default epoch) as floats.
    x = mdates.date2num(daily.dates)
    columns = _pixel_columns(ax)
    first, last = summary.years
    by_year = columns / ENVELOPE_OVERSAMPLE / (last - first + 1) < MIN_PIXELS_PER_YEAR
    for element, color in (("TMAX", TMAX_COLOR), ("TMIN", TMIN_COLOR)):
        if not summary.has(element):
            _note(ax, 0.01, 0.95, f"No {element} in this record", va="top", fontsize=9)
            continue
        values = daily.values[element]
        band = _envelope(x, values, columns)
        if by_year:
            yearly = summary.ranges[element]
            edges = mdates.date2num(
                np.append(yearly.years, yearly.years[-1] + 1)
                .astype(str)
                .astype("datetime64[D]")
            )
            ax.stairs(
                yearly.highest,
                edges,
                baseline=yearly.lowest,
                fill=True,
                color=color,
                alpha=0.25,
                linewidth=0,
                label=f"{element} range of each year",
            )
        elif band is None:  # at most a few days per column: every day as a line
            ax.plot(x, values, color=color, linewidth=0.5, alpha=0.45)
        else:
            centres, lowest, highest = band
            ax.fill_between(
                centres, lowest, highest, color=color, alpha=0.3, linewidth=0
            )
        ax.plot(
            x,
            summary.smoothed[element],
            color=color,
            linewidth=1.6,
            label=f"{element} ({summary.smoothing_days}-day mean)",
        )
    ax.set_ylabel("°C")
    ax.set_xlim(x[0], x[-1] + 1)
    _date_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncols=2)


def _pixel_columns(ax) -> int:
    """Envelope columns for ``ax``: ``ENVELOPE_OVERSAMPLE`` per pixel column."""
    figure = ax.get_figure()
    width_px = figure.get_figwidth() * figure.dpi
    return max(1, round(ax.get_position().width * width_px * ENVELOPE_OVERSAMPLE))


def _envelope(x: np.ndarray, values: np.ndarray, columns: int):
    """The series as a band: each column's lowest and highest value, or ``None``
    when the series has at most a few days per column (draw it as it is).

    A daily record of 150 years has ~50 days per pixel column. Drawn as a line, its
    seasonal zigzag strokes 55k segments that alias into a barcode (and Agg's path
    simplification drops extremes). Filled between each column's minimum and
    maximum, the band covers exactly the values the data spans in that column; a
    column with no value leaves a gap, as a gap in the series does.
    """
    n = len(values)
    per = -(-n // columns)  # ceil
    if per < 3:
        return None
    columns = -(-n // per)
    padded = np.full(columns * per, np.nan)
    padded[:n] = values
    block = padded.reshape(columns, per)
    lowest = np.fmin.reduce(block, axis=1)  # fmin and fmax skip NaN
    highest = np.fmax.reduce(block, axis=1)
    starts = x[np.arange(columns) * per]
    centres = starts + (per - 1) / 2.0
    return centres, lowest, highest


def _too_short(
    summary: climate.StationSummary, annual: climate.Annual, value_format: str
) -> str:
    """Why an annual panel stays empty (fewer than two qualifying years), with the
    one year's value when there is one."""
    first, last = summary.years
    span = "1 calendar year" if first == last else f"{last - first + 1} calendar years"
    message = (
        f"Annual figures need {climate.MIN_ANNUAL_YEARS} years with "
        f">= {climate.MIN_COVERAGE:.0%} of days observed;\n"
        f"this record spans {span} and has {len(annual.years)} such year"
        + ("" if len(annual.years) == 1 else "s")
    )
    if len(annual.years) == 1:
        message += f"\n({annual.years[0]}: {value_format.format(annual.values[0])})"
    return message


def _annual_temperature_panel(ax, summary: climate.StationSummary) -> None:
    ax.set_title("Annual mean temperature", loc="left", fontsize=10, y=TITLE_Y)
    annual = summary.annual_temperature
    if not (summary.has("TMAX") and summary.has("TMIN")):
        _missing(ax, "No TMAX and TMIN pair in this station's record")
        return
    if not annual.is_series:
        _missing(ax, _too_short(summary, annual, "mean {:.1f} °C"))
        return
    ax.plot(
        annual.years,
        annual.values,
        "o-",
        color="0.25",
        markersize=2.5,
        linewidth=0.8,
        label="annual mean of (TMAX+TMIN)/2",
        gid="annual-mean-temperature",
    )
    trend = summary.trend
    if trend is not None:
        ends = annual.years[[0, -1]]
        ax.plot(
            ends,
            trend.at(ends),
            color=TMAX_COLOR,
            linewidth=1.8,
            label=f"trend {trend.per_decade:+.2f} °C per decade",
            gid="trend",
        )
    else:
        no_trend = f"no trend: fewer than {climate.MIN_TREND_YEARS} years"
        _note(ax, 0.99, 0.03, no_trend, ha="right", fontsize=8)
    # Head-room above the series for the legend, so it never hides a year.
    low, high = float(annual.values.min()), float(annual.values.max())
    span = max(high - low, 0.5)
    ax.set_ylim(low - 0.15 * span, high + 0.45 * span)
    ax.set_ylabel("°C")
    _year_axis(ax, summary)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    _note_excluded(ax, annual.excluded)


def _annual_precipitation_panel(ax, summary: climate.StationSummary) -> None:
    ax.set_title("Annual precipitation total", loc="left", fontsize=10, y=TITLE_Y)
    annual = summary.annual_precipitation
    if not summary.has("PRCP"):
        _missing(ax, "No PRCP in this station's record")
        return
    if not annual.is_series:
        _missing(ax, _too_short(summary, annual, "total {:.0f} mm"))
        return
    _bars(
        ax,
        annual.years,
        annual.values,
        width=0.85,
        color=PRCP_COLOR,
        gid="annual-precipitation",
    )
    mean = float(annual.values.mean())
    ax.axhline(
        mean,
        color="0.25",
        linewidth=1,
        linestyle="--",
        label=f"mean {mean:.0f} mm",
    )
    ax.set_ylabel("mm per year")
    _year_axis(ax, summary)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="upper left", fontsize=8)
    _note_excluded(ax, annual.excluded)


def _climatology_panel(ax, summary: climate.StationSummary) -> None:
    clim = summary.climatology
    ax.set_title(
        f"Monthly climatology {_period(summary)} (band: 10th–90th percentile of days)",
        loc="left",
        fontsize=10,
        y=TITLE_Y,
    )
    months = clim.months
    has_temperature = summary.has("TMAX") or summary.has("TMIN")
    if summary.has("PRCP"):
        rain = ax.twinx() if has_temperature else ax
        _bars(
            rain,
            months,
            clim.prcp_mean_total,
            width=0.6,
            color=PRCP_COLOR,
            alpha=0.35,
            gid="monthly-precipitation",
        )
        rain.set_ylabel("mm per month", color=PRCP_COLOR)
        rain.set_ylim(0, np.nanmax(np.append(clim.prcp_mean_total, 1.0)) * 2.2)
        if has_temperature:
            ax.set_zorder(rain.get_zorder() + 1)
            ax.patch.set_visible(False)
    else:
        _note(ax, 0.99, 0.03, "No PRCP in this record", ha="right", fontsize=9)
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
                    gid=f"monthly-{name}",
                )
        ax.set_ylabel("°C")
        ax.legend(loc="upper left", fontsize=8)
    elif not summary.has("PRCP"):
        _missing(ax, "No TMAX, TMIN or PRCP in this station's record")
        return
    ax.set_xticks(months, list(MONTH_LABELS))
    ax.set_xlim(0.4, 12.6)
    ax.grid(alpha=0.3)


def _summary_panel(ax, summary: climate.StationSummary, info: dict) -> None:
    ax.axis("off")
    daily = summary.daily
    lines = [
        f"Station {info['id']}",
        f"Record {daily.dates[0]} to {daily.dates[-1]} ({len(daily):,} days)",
    ]
    for element in ("TMAX", "TMIN", "PRCP"):
        seen = summary.observed[element]
        lines.append(f"{element}: {seen.days:,} days observed ({seen.share:.0%})")
    if summary.warmest is not None:
        lines.append(
            _best_year(
                summary.warmest,
                summary.annual_temperature,
                "Year {year}: mean {value:.1f} °C",
                "Warmest full year: {year} ({value:.1f} °C)",
            )
        )
    if summary.trend is not None:
        lines.append(
            f"Trend: {summary.trend.per_decade:+.2f} °C per decade "
            f"over {len(summary.annual_temperature.years)} years"
        )
    if summary.wettest is not None:
        lines.append(
            _best_year(
                summary.wettest,
                summary.annual_precipitation,
                "Year {year}: {value:.0f} mm precipitation",
                "Wettest full year: {year} ({value:.0f} mm)",
            )
        )
    lines.append(
        f"Years left out (<{climate.MIN_COVERAGE:.0%} of days): "
        f"{summary.annual_temperature.excluded} temperature, "
        f"{summary.annual_precipitation.excluded} precipitation"
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
        parse_math=False,  # the config's 'source' is text too
    )


def _best_year(best, annual: climate.Annual, one: str, many: str) -> str:
    """The warmest (wettest) year's line; "warmest" of a single year says nothing,
    so then that year's own figure."""
    year, value = best
    return (one if len(annual.years) == 1 else many).format(year=year, value=value)


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
    x = np.asarray(x, dtype=float)
    heights = np.nan_to_num(np.asarray(heights, dtype=float))
    left, right = x - width / 2, x + width / 2
    zeros = np.zeros_like(x)
    corners = [(left, zeros), (left, heights), (right, heights), (right, zeros)]
    verts = np.transpose(corners, (2, 0, 1))  # one (4 corners, x and y) per bar
    ax.add_collection(PolyCollection(verts, linewidths=0, **style))
    ax.set_xlim(left.min() - width, right.max() + width)
    ax.set_ylim(0, max(heights.max(), 1.0) * 1.05)
