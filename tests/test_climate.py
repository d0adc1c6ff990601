"""Climate summaries on small synthetic series built for each edge case."""

from __future__ import annotations

import numpy as np
import pytest

from weatherplot import climate
from weatherplot.daily import Daily


def daily_between(first: str, last: str, tmax=None, tmin=None, prcp=None) -> Daily:
    dates = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    n = len(dates)

    def column(value):
        if value is None:
            return np.full(n, np.nan)
        return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()

    return Daily(
        dates, {"TMAX": column(tmax), "TMIN": column(tmin), "PRCP": column(prcp)}
    )


def test_years_with_too_few_days_are_left_out_and_counted():
    daily = daily_between("2000-01-01", "2003-12-31", tmax=20, tmin=10, prcp=1)
    daily.tmax[366 : 366 + 40] = np.nan  # 2001 keeps 325 of 365 days: under 90 %
    annual = climate.annual_mean_temperature(daily)
    assert list(annual.years) == [2000, 2002, 2003]
    assert annual.excluded == 1
    np.testing.assert_allclose(annual.values, 15.0)
    rain = climate.annual_precipitation(daily)
    assert list(rain.years) == [2000, 2001, 2002, 2003]
    assert list(rain.values) == [366, 365, 365, 365]  # 2000 is a leap year


def test_partial_first_year_is_excluded():
    daily = daily_between("2000-07-01", "2001-12-31", tmax=1, tmin=1)
    annual = climate.annual_mean_temperature(daily)
    assert list(annual.years) == [2001]
    assert annual.excluded == 1


def test_linear_trend_in_degrees_per_decade():
    years = np.arange(1950, 2000)
    trend = climate.linear_trend(years, 10 + 0.03 * (years - 1950))
    assert trend.per_decade == pytest.approx(0.3)
    assert trend.at(np.array([1960]))[0] == pytest.approx(10.3)
    assert climate.linear_trend(years[:5], years[:5] * 1.0) is None


def test_monthly_climatology_means_percentiles_and_rain():
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2002-12-31") + 1)
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    daily = Daily(
        dates,
        {
            "TMAX": months * 2.0,
            "TMIN": months * 1.0,
            "PRCP": np.ones(len(dates)),
        },
    )
    clim = climate.monthly_climatology(daily)
    np.testing.assert_allclose(clim.tmax_mean, np.arange(1, 13) * 2.0)
    np.testing.assert_allclose(clim.tmin_p10, np.arange(1, 13))
    np.testing.assert_allclose(clim.tmax_p90, np.arange(1, 13) * 2.0)
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    np.testing.assert_allclose(clim.prcp_mean_total, days)


def test_month_with_too_few_rain_days_is_not_averaged():
    daily = daily_between("2001-01-01", "2002-12-31", prcp=2.0)
    daily.prcp[:20] = np.nan  # January 2001: 11 of 31 days
    clim = climate.monthly_climatology(daily)
    assert clim.prcp_mean_total[0] == pytest.approx(62.0)  # only January 2002 counts


def test_rolling_mean_skips_gaps_and_blanks_sparse_windows():
    values = np.arange(20.0)
    values[5] = np.nan
    smooth = climate.rolling_mean(values, window=5)
    assert smooth[10] == pytest.approx(10.0)
    assert smooth[5] == pytest.approx((3 + 4 + 6 + 7) / 4)
    sparse = np.full(20, np.nan)
    sparse[10] = 1.0
    assert np.isnan(climate.rolling_mean(sparse, window=5)).all()
