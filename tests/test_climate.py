"""Climate summaries on small synthetic series built for each edge case."""

from __future__ import annotations

import numpy as np
import pytest

from weatherplot import climate
from weatherplot.io.daily import Daily


def daily_between(first: str, last: str, tmax=None, tmin=None, prcp=None) -> Daily:
    dates = np.arange(
        np.datetime64(first), np.datetime64(last) + np.timedelta64(1, "D")
    )
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
    dates = np.arange(
        np.datetime64("2001-01-01"),
        np.datetime64("2002-12-31") + np.timedelta64(1, "D"),
    )
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


# --- edges, hand-worked (against the mutants of docs/mutation-testing.md) ---------


def test_century_leap_years_need_their_own_ninety_percent():
    # 1900 is no leap year (365 days: 329 >= 328.5 counts), 2000 is (366: 329 < 329.4).
    for year, counted in ((1900, True), (2000, False)):
        daily = daily_between(f"{year}-01-01", f"{year}-12-31", prcp=1.0)
        daily.prcp[329:] = np.nan
        rain = climate.annual_precipitation(daily)
        assert (list(rain.years) == [year]) is counted, year
        assert rain.excluded == (0 if counted else 1)
        if counted:
            assert rain.values[0] == 329.0


def test_a_year_with_no_data_is_left_out_of_the_series():
    daily = daily_between("2000-01-01", "2002-12-31", tmax=3.0, tmin=1.0)
    daily.tmax[366 : 366 + 365] = np.nan  # all of 2001
    daily.tmin[:10] = np.nan  # 2000: 356 of 366 days
    annual = climate.annual_mean_temperature(daily)
    assert list(annual.years) == [2000, 2002]
    np.testing.assert_array_equal(annual.values, [2.0, 2.0])
    assert climate.annual_precipitation(daily).excluded == 0  # no PRCP at all


def test_empty_record_gives_empty_summaries():
    empty = daily_between("2000-01-02", "2000-01-01")
    assert len(empty) == 0
    for annual in (
        climate.annual_mean_temperature(empty),
        climate.annual_precipitation(empty),
    ):
        assert annual.years.size == 0 and annual.values.size == 0
        assert annual.excluded == 0
    yearly = climate.yearly_range(empty, empty.tmax)
    assert yearly.years.size == yearly.lowest.size == yearly.highest.size == 0
    assert yearly.years.dtype.kind == "i"


def test_yearly_range_skips_missing_days():
    daily = daily_between("2000-12-30", "2001-01-02", tmax=[5.0, np.nan, 7.0, -1.0])
    yearly = climate.yearly_range(daily, daily.tmax)
    assert list(yearly.years) == [2000, 2001] and yearly.years.dtype.kind == "i"
    assert list(yearly.lowest) == [5.0, -1.0] and list(yearly.highest) == [5.0, 7.0]


def test_climatology_percentiles_interpolate_between_days():
    # January 2001: TMAX 1..31; numpy's linear percentiles: 10th = 4, 90th = 28.
    daily = daily_between("2001-01-01", "2001-01-31", prcp=0.5)
    daily.values["TMAX"] = np.arange(1.0, 32.0)
    clim = climate.monthly_climatology(daily)
    assert clim.tmax_mean[0] == 16.0
    assert (clim.tmax_p10[0], clim.tmax_p90[0]) == (4.0, 28.0)
    assert np.isnan(clim.tmin_mean[0]) and np.isnan(clim.tmax_mean[1:]).all()
    assert clim.prcp_mean_total[0] == 15.5 and np.isnan(clim.prcp_mean_total[1:]).all()
    assert list(clim.months) == list(range(1, 13))


def test_climatology_month_at_exactly_ninety_percent_counts():
    # 28 of 30 April days is 93 %, 27 is 90 % exactly (counts), 26 is 87 % (not).
    for observed, counted in ((28, True), (27, True), (26, False)):
        daily = daily_between("2001-04-01", "2001-04-30", prcp=1.0)
        daily.prcp[observed:] = np.nan
        total = climate.monthly_climatology(daily).prcp_mean_total[3]
        assert (total == observed) if counted else np.isnan(total), observed


def test_rolling_mean_blanks_half_a_window_at_each_end():
    smooth = climate.rolling_mean(np.arange(10.0), window=5)  # half = 2
    assert np.isnan(smooth[:2]).all() and np.isnan(smooth[-2:]).all()
    np.testing.assert_allclose(smooth[2:8], np.arange(2.0, 8.0))
    # A window needs half of its days (here 2 of 5): one day alone is not enough.
    values = np.full(10, np.nan)
    values[4:6] = [1.0, 3.0]
    smooth = climate.rolling_mean(values, window=5)
    assert smooth[4] == 2.0 and smooth[5] == 2.0 and np.isnan(smooth[2])


def test_summary_of_a_short_record_has_its_years_shares_and_extremes():
    daily = daily_between("2001-01-01", "2002-12-31", tmax=10.0, tmin=0.0, prcp=1.0)
    daily.tmax[365:] = 20.0  # 2002 is warmer
    daily.prcp[:100] = 0.0  # and wetter
    daily.tmin[:73] = np.nan  # 20 % of 2001's TMIN missing: 2001 left out
    summary = climate.station_summary(daily)
    assert summary.years == (2001, 2002)
    assert summary.smoothing_days == 31  # a month: 730 days < 3 years
    assert summary.observed["TMIN"].days == 730 - 73
    assert summary.observed["TMIN"].share == pytest.approx((730 - 73) / 730)
    assert summary.warmest == (2002, 10.0)
    assert summary.wettest == (2002, 365.0)
    assert summary.trend is None and not summary.annual_temperature.is_series
    assert summary.annual_precipitation.is_series
    assert set(summary.smoothed) == set(summary.ranges) == {"TMAX", "TMIN"}


def test_summary_of_a_long_record_smooths_over_a_year():
    daily = daily_between("2000-01-01", "2002-12-31", tmax=10.0, tmin=0.0)
    summary = climate.station_summary(daily)
    assert summary.smoothing_days == 365  # a year: 1096 days >= 3 years
    assert summary.wettest is None and not summary.has("PRCP")
    assert summary.observed["PRCP"].share == 0.0
    assert set(summary.smoothed) == {"TMAX", "TMIN"}


def by_year(daily: Daily, per_year) -> np.ndarray:
    """A daily column whose value is ``per_year(year)`` on every day of the year."""
    years = daily.dates.astype("datetime64[Y]").astype(int) + 1970
    return per_year(years).astype(float)


def test_a_record_from_new_years_eve_to_new_years_day():
    """2000-12-31 to 2012-01-01: the first and last years have one day each (left
    out, and counted); TMAX rises 0.1 degC a year, TMIN is 10 below it."""
    daily = daily_between("2000-12-31", "2012-01-01", prcp=1.0)
    daily.values["TMAX"] = by_year(daily, lambda year: 10.0 + 0.1 * (year - 2000))
    daily.values["TMIN"] = daily.tmax - 10.0
    summary = climate.station_summary(daily)
    assert summary.years == (2000, 2012)
    annual = summary.annual_temperature
    assert annual.years.tolist() == list(range(2001, 2012))
    assert annual.excluded == 2  # 2000 and 2012: one day each
    np.testing.assert_allclose(annual.values, 5.0 + 0.1 * np.arange(1, 12))
    assert summary.trend.per_decade == pytest.approx(1.0)
    assert summary.warmest == (2011, pytest.approx(6.1))
    assert summary.wettest == (2004, 366.0)  # the first of the leap years
    assert summary.smoothing_days == 365
    # Monthly rain: every January and December but the one-day ones; February
    # is 28 days nine times and 29 twice (2004, 2008).
    clim = summary.climatology
    assert (clim.prcp_mean_total[0], clim.prcp_mean_total[11]) == (31.0, 31.0)
    assert clim.prcp_mean_total[1] == pytest.approx((9 * 28 + 2 * 29) / 11)


def test_exactly_ten_years_make_a_trend():
    years = np.arange(2001, 2011)  # ten
    trend = climate.linear_trend(years, 0.1 * (years - 2001))  # 0.1 a year
    assert trend.per_decade == pytest.approx(1.0)
    assert trend.at(np.array([2001.0, 2011.0])) == pytest.approx([0.0, 1.0])
    assert climate.linear_trend(years[1:], 0.1 * (years[1:] - 2001)) is None


def test_leap_years_need_more_days_than_others():
    # 90 % of 366 days is 329.4, of 365 days 328.5: 2004 with 329 days is out,
    # 2005 with 329 and 2008 with 330 are in.
    daily = daily_between("2004-01-01", "2008-12-31", prcp=1.0)
    daily.prcp[329:366] = np.nan  # 2004: days 1-329
    daily.prcp[366 + 329 : 731] = np.nan  # 2005: days 1-329
    daily.prcp[1461 + 330 :] = np.nan  # 2008: days 1-330
    rain = climate.annual_precipitation(daily)
    assert rain.years.tolist() == [2005, 2006, 2007, 2008]
    assert rain.values.tolist() == [329.0, 365.0, 365.0, 330.0]
    assert rain.excluded == 1


def test_three_years_of_days_smooth_over_a_year_one_day_less_over_a_month():
    three_years = daily_between("2001-01-01", "2003-12-31", tmax=10.0)  # 1095 days
    assert climate.station_summary(three_years).smoothing_days == 365
    short = daily_between("2001-01-02", "2003-12-31", tmax=10.0)  # 1094 days
    summary = climate.station_summary(short)
    assert summary.smoothing_days == 31
    smoothed = summary.smoothed["TMAX"]
    # A 31-day window blanks 15 days at each end (a 365-day one would blank 182).
    assert np.isnan(smoothed[:15]).all() and np.isnan(smoothed[-15:]).all()
    assert (smoothed[15:-15] == 10.0).all()


def test_summary_of_an_empty_record():
    summary = climate.station_summary(daily_between("2000-01-02", "2000-01-01"))
    assert summary.observed["TMAX"] == climate.Observed(0, 0.0)
    assert not summary.has("TMAX") and summary.smoothed == {}
    assert summary.years is None and summary.warmest is None and summary.trend is None
    for annual in (summary.annual_temperature, summary.annual_precipitation):
        assert annual.years.dtype.kind == "i" and annual.years.size == 0


def test_one_observed_day_is_an_observed_element():
    daily = daily_between("2001-06-01", "2001-06-30", tmax=25.0)
    daily.tmax[1:] = np.nan
    summary = climate.station_summary(daily)
    assert summary.observed["TMAX"] == climate.Observed(1, 1 / 30)
    assert summary.has("TMAX") and not summary.has("TMIN")


def test_a_year_without_data_warns_nothing():
    """Its mean is 0/0: NumPy's 'invalid value' warning would reach the job's log."""
    import warnings

    daily = daily_between("2000-01-01", "2002-12-31", tmax=3.0, tmin=1.0, prcp=1.0)
    daily.tmax[366 : 366 + 365] = np.nan  # all of 2001
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = climate.station_summary(daily)
    assert summary.annual_temperature.years.tolist() == [2000, 2002]
    assert np.isnan(summary.smoothed["TMAX"][366 + 182])  # its window: all of 2001
