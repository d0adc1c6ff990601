"""The report's arithmetic (weatherplot.report.metrics) at its edges, on hand-worked
numbers: the boundaries that decide between a figure and "n/a" (written to kill the
mutants mutation testing found surviving, docs/mutation-testing.md)."""

from __future__ import annotations

import math

import pytest

from weatherplot.records import job_start, job_work
from weatherplot.report.metrics import (
    amdahl_fit,
    amdahl_limit,
    effective_workers,
    efficiency,
    fit_serial_fraction,
    karp_flatt,
    max_expected_speedup,
    ratio,
    speedup,
)


def test_a_job_starts_when_its_process_started_else_at_its_first_line():
    assert job_start({"process_start": 100.0, "start": 100.2}) == 100.0
    assert job_start({"process_start": None, "start": 100.5}) == 100.5


def test_speedup_of_a_time_under_one_second_and_of_no_time():
    assert speedup(2.0, 0.5) == 4.0
    assert speedup(1.0, 0.0) is None and speedup(1.0, -1.0) is None


def test_efficiency_needs_a_positive_worker_count():
    assert efficiency(2.0, 1) == 2.0
    assert efficiency(3.0, 2) == 1.5
    assert efficiency(2.0, -1) is None and efficiency(2.0, 0) is None
    assert efficiency(None, 2) is None


def test_ratio_of_nothing_predicted_is_none():
    assert ratio(1.0, 0.0) is None
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(3.0, None) is None


def test_max_expected_speedup_ignores_unknown_and_zero_limits():
    assert max_expected_speedup(0, 2, None) == 2.0
    assert max_expected_speedup(1, 4) == 1.0
    assert max_expected_speedup(None, 0) is None


def test_effective_workers_is_capped_by_known_cpus_only():
    assert effective_workers(4, 1) == 1.0
    assert effective_workers(4, 2) == 2.0
    assert effective_workers(4, 0) == 4.0  # unknown CPUs
    assert effective_workers(4, -1) == 4.0
    assert effective_workers(3, None) == 3.0


def test_amdahl_limit_at_the_rounding_edge():
    assert amdahl_limit(1e-9) == math.inf
    assert amdahl_limit(0.25) == 4.0
    assert amdahl_limit(None) is None


def test_karp_flatt_of_a_slowdown():
    assert karp_flatt(0.5, 2) == 3.0  # (2/0.5 - 1) / (2 - 1)
    assert karp_flatt(2.0, 2) == 0.0
    assert karp_flatt(0.0, 2) is None and karp_flatt(1.5, 1) is None


def test_fit_serial_fraction_skips_points_without_information():
    # Only (2, 1.0) counts: x = 1/2, y = 1 - 1/2, so f = 1.
    assert fit_serial_fraction([(0.5, 2.0), (2, 1.0)]) == 1.0
    assert fit_serial_fraction([(2, -1.0), (2, 1.0)]) == 1.0
    assert fit_serial_fraction([(2, 0.0), (2, 1.0)]) == 1.0
    assert fit_serial_fraction([(1, 2.0)]) is None


def test_amdahl_fit_bound_and_prediction():
    # S = 1.5 at p = 2: f = 1/3, bound 3x; on 4 CPUs 1 / (1/3 + (2/3)/4) = 2x.
    fit = amdahl_fit([(2, 1.5)], 4)
    assert fit["serial_fraction"] == pytest.approx(1 / 3)
    assert fit["amdahl_limit"] == pytest.approx(3.0)
    assert fit["amdahl_at_cpus"] == pytest.approx(2.0)
    # f = 1 exactly (no gain at all) still has its bound: 1x.
    fit = amdahl_fit([(2, 1.0)], 4)
    assert fit["amdahl_limit"] == 1.0 and fit["amdahl_at_cpus"] == 1.0
    # S = 0.5 at p = 2: f = (2/0.5 - 1) / (2 - 1) = 3, slower: no bound, no prediction.
    assert amdahl_fit([(2, 0.5)], 4) == {
        "serial_fraction": 3.0,
        "amdahl_limit": None,
        "amdahl_at_cpus": None,
    }
    assert amdahl_fit([(2, 1.5)], None)["amdahl_at_cpus"] is None
    # Faster than p (S = 2.5 at p = 2): f = 2/2.5 - 1 = -0.2, no bound, and on 4
    # CPUs the prediction of f = 0: 4x.
    fit = amdahl_fit([(2, 2.5)], 4)
    assert fit["serial_fraction"] == pytest.approx(-0.2)
    assert fit["amdahl_limit"] == math.inf and fit["amdahl_at_cpus"] == 4.0


def test_job_work_counts_missing_phases_as_nothing():
    assert job_work({"phases": {"read": 1.0, "plot": 2.0}}) == 3.0
    assert job_work({"phases": {"read": 1.0, "plot": 2.0, "save": 0.5}}) == 3.5
