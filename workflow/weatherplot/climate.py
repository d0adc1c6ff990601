"""Climate summaries of a station's daily table, in NumPy.

:func:`station_summary` computes everything a station's figure shows, once, into one
:class:`StationSummary`; :mod:`weatherplot.plotting` only draws it.

Annual figures use only years with enough data (``MIN_COVERAGE`` of their days); the
others are counted so the plot can say how many were left out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .io.daily import ELEMENTS, Daily

MIN_COVERAGE = 0.9  # a year (or month) counts only with >= 90 % of its days observed
SMOOTHING_DAYS = 365
# A record shorter than this many days is smoothed over a month, not a year: a
# 365-day mean of one year is a single value, not a line.
SHORT_RECORD_DAYS = 3 * 365
SHORT_SMOOTHING_DAYS = 31
MIN_ANNUAL_YEARS = 2  # an annual series needs two points to be a series
MIN_TREND_YEARS = 10  # a trend over fewer years says little


@dataclass
class Annual:
    years: np.ndarray  # the years that passed the coverage test
    values: np.ndarray
    excluded: int  # years in the record left out for too little data

    @property
    def is_series(self) -> bool:
        return len(self.years) >= MIN_ANNUAL_YEARS


@dataclass
class Trend:
    per_decade: float  # slope, units per 10 years
    intercept: float

    def at(self, years: np.ndarray) -> np.ndarray:
        return self.intercept + self.per_decade / 10.0 * years


@dataclass
class Climatology:
    months: np.ndarray  # 1..12; then the statistics, NaN for a month without data
    tmax_mean: np.ndarray
    tmin_mean: np.ndarray
    tmax_p10: np.ndarray
    tmax_p90: np.ndarray
    tmin_p10: np.ndarray
    tmin_p90: np.ndarray
    prcp_mean_total: np.ndarray  # mean monthly total (mm) over well-covered months


def _group_by_year(daily: Daily, values: np.ndarray, reduce: str) -> Annual:
    if len(daily) == 0:
        return Annual(np.array([], int), np.array([]), 0)
    years, _, _ = daily.calendar
    first = int(years[0])
    index = years - first
    n_years = int(index[-1]) + 1
    valid = np.isfinite(values)
    count = np.bincount(index, weights=valid, minlength=n_years)
    total = np.bincount(index, weights=np.where(valid, values, 0.0), minlength=n_years)
    all_years = np.arange(first, first + n_years)
    days_in_year = np.where(
        (all_years % 4 == 0) & ((all_years % 100 != 0) | (all_years % 400 == 0)),
        366,
        365,
    )
    covered = count >= MIN_COVERAGE * days_in_year
    with np.errstate(invalid="ignore", divide="ignore"):
        result = total / count if reduce == "mean" else total
    # Years with no data at all are outside the record, not "excluded"; but a gap
    # year inside the record is, since it is missing from the annual series.
    any_data = count > 0
    excluded = int((any_data & ~covered).sum())
    return Annual(all_years[covered], result[covered], excluded)


def annual_mean_temperature(daily: Daily) -> Annual:
    """Mean of (TMAX + TMIN) / 2 per well-covered year."""
    return _group_by_year(daily, (daily.tmax + daily.tmin) / 2.0, "mean")


def annual_precipitation(daily: Daily) -> Annual:
    """PRCP totals per well-covered year (mm)."""
    return _group_by_year(daily, daily.prcp, "sum")


def linear_trend(years: np.ndarray, values: np.ndarray) -> Trend | None:
    """Least-squares line; ``None`` under 10 years (too short to mean much)."""
    if len(years) < MIN_TREND_YEARS:
        return None
    slope, intercept = np.polyfit(years.astype(float), values, 1)
    return Trend(per_decade=float(slope) * 10.0, intercept=float(intercept))


def monthly_climatology(daily: Daily) -> Climatology:
    """Per calendar month: mean TMAX/TMIN, their 10th-90th percentiles, and the mean
    monthly precipitation total over months with >= 90 % of days observed."""
    years, months, lengths = daily.calendar
    stats = {f.name: np.full(12, np.nan) for f in fields(Climatology)[1:]}
    # Sorting once by month makes each month a contiguous slice.
    order = np.argsort(months, kind="stable")
    bounds = np.searchsorted(months[order], np.arange(1, 14))
    for m in range(12):
        rows = order[bounds[m] : bounds[m + 1]]
        for element, column in (("tmax", daily.tmax), ("tmin", daily.tmin)):
            values = column[rows]
            values = values[np.isfinite(values)]
            if values.size:
                stats[f"{element}_mean"][m] = values.mean()
                stats[f"{element}_p10"][m], stats[f"{element}_p90"][m] = np.percentile(
                    values, [10, 90]
                )
    # Monthly precipitation totals: one bin per (year, month) in the record.
    if len(daily):
        month_index = (years - years[0]) * 12 + months - 1
        valid = np.isfinite(daily.prcp)
        n = int(month_index[-1]) + 1
        count = np.bincount(month_index, weights=valid, minlength=n)
        total = np.bincount(
            month_index, weights=np.where(valid, daily.prcp, 0.0), minlength=n
        )
        length = np.zeros(n)
        length[month_index] = lengths
        covered = (length > 0) & (count >= MIN_COVERAGE * length)
        calendar_month = np.arange(n) % 12  # bin 0 is January of the first year
        for m in range(12):
            pick = covered & (calendar_month == m)
            if pick.any():
                stats["prcp_mean_total"][m] = total[pick].mean()
    return Climatology(months=np.arange(1, 13), **stats)


def rolling_mean(values: np.ndarray, window: int = SMOOTHING_DAYS) -> np.ndarray:
    """Centred moving average that skips NaN; NaN where under half the window is
    observed (so gaps show as gaps, not as invented values) and within half a
    window of either end of the record, where the window would be lopsided (a
    365-day mean of January to June is a seasonal value, not an annual one)."""
    valid = np.isfinite(values)
    filled = np.where(valid, values, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(filled)])
    ccount = np.concatenate([[0], np.cumsum(valid)])
    half = window // 2
    n = len(values)
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (csum[hi] - csum[lo]) / count
    mean[count < window // 2] = np.nan
    mean[: min(half, n)] = np.nan
    mean[max(n - half, 0) :] = np.nan
    return mean


@dataclass
class YearlyRange:
    years: np.ndarray  # every calendar year of the record
    lowest: np.ndarray  # each year's lowest and highest daily value (NaN: none)
    highest: np.ndarray


def yearly_range(daily: Daily, values: np.ndarray) -> YearlyRange:
    """Each calendar year's lowest and highest daily value: the daily band of a
    record too long to show its seasons (fmin/fmax skip missing days)."""
    if len(daily) == 0:
        return YearlyRange(np.array([], int), np.array([]), np.array([]))
    years, _, _ = daily.calendar
    starts = np.concatenate([[0], np.flatnonzero(np.diff(years)) + 1])
    with np.errstate(invalid="ignore"):
        lowest = np.fmin.reduceat(values, starts)
        highest = np.fmax.reduceat(values, starts)
    return YearlyRange(years[starts].astype(int), lowest, highest)


@dataclass
class Observed:
    days: int  # days with a valid value
    share: float  # of the record's days


@dataclass
class StationSummary:
    """Everything a station's figure shows, computed once from its daily table."""

    daily: Daily
    observed: dict[str, Observed]
    smoothing_days: int
    smoothed: dict[str, np.ndarray]  # centred moving mean of TMAX and TMIN
    ranges: dict[str, YearlyRange]  # each year's daily range of TMAX and TMIN
    annual_temperature: Annual
    annual_precipitation: Annual
    trend: Trend | None  # of the annual mean temperature
    climatology: Climatology
    warmest: tuple[int, float] | None = None  # (year, annual mean degC)
    wettest: tuple[int, float] | None = None  # (year, annual total mm)
    years: tuple[int, int] | None = None  # first and last calendar year

    def has(self, element: str) -> bool:
        return self.observed[element].days > 0


def station_summary(daily: Daily) -> StationSummary:
    """The station's summaries: days observed, smoothed daily series, annual means
    and totals, trend, monthly climatology, warmest and wettest years."""
    n = len(daily)
    observed = {}
    for element in ELEMENTS:
        days = int(np.isfinite(daily.values[element]).sum())
        observed[element] = Observed(days, days / n if n else 0.0)
    window = SMOOTHING_DAYS if n >= SHORT_RECORD_DAYS else SHORT_SMOOTHING_DAYS
    smoothed = {
        element: rolling_mean(daily.values[element], window)
        for element in ("TMAX", "TMIN")
        if observed[element].days
    }
    annual_t = annual_mean_temperature(daily)
    annual_p = annual_precipitation(daily)
    summary = StationSummary(
        daily=daily,
        observed=observed,
        smoothing_days=window,
        smoothed=smoothed,
        ranges={e: yearly_range(daily, daily.values[e]) for e in smoothed},
        annual_temperature=annual_t,
        annual_precipitation=annual_p,
        trend=linear_trend(annual_t.years, annual_t.values),
        climatology=monthly_climatology(daily),
    )
    if len(annual_t.years):
        i = int(np.argmax(annual_t.values))
        summary.warmest = (int(annual_t.years[i]), float(annual_t.values[i]))
    if len(annual_p.years):
        i = int(np.argmax(annual_p.values))
        summary.wettest = (int(annual_p.years[i]), float(annual_p.values[i]))
    if n:
        years, _, _ = daily.calendar
        summary.years = (int(years[0]), int(years[-1]))
    return summary
