"""The report's arithmetic: speedup, efficiency, Amdahl's law, Karp-Flatt (pure
functions on numbers, so every figure is computed the same way)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``; None when either is unknown or ``b`` is not positive. As
    ``ratio(measured, predicted)``, above 1 is slower than the lesson predicts."""
    if a is None or b is None or b <= 0:
        return None
    return a / b


#: ``speedup(reference, measured)``: how many times faster ``measured`` is.
speedup = ratio
#: ``efficiency(S, p)``, ``S / p``: 1.0 means every worker was fully useful.
efficiency = ratio


def max_expected_speedup(*limits: int | float | None) -> float | None:
    """The hardware/problem limit: the smallest known of workers, tasks and usable
    CPUs (None if none is known)."""
    known = [x for x in limits if x is not None and x > 0]
    return float(min(known)) if known else None


def effective_workers(workers: int | float, cpus: int | float | None) -> float:
    """Workers that can actually run at once: ``min(workers, usable CPUs)``."""
    if cpus is None or cpus <= 0:
        return float(workers)
    return float(min(workers, cpus))


def amdahl_speedup(serial_fraction: float, p: float) -> float:
    """Amdahl's law: ``S(p) = 1 / (f + (1 - f) / p)``."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / p)


def amdahl_limit(serial_fraction: float | None) -> float | None:
    """Amdahl's bound for infinitely many workers: ``1 / f`` (``inf`` when f <= 0)."""
    if serial_fraction is None:
        return None
    # A fitted f within rounding of zero (a perfect speedup) means no bound.
    return math.inf if serial_fraction <= 1e-9 else 1.0 / serial_fraction


def karp_flatt(measured_speedup: float | None, p: float) -> float | None:
    """The Karp-Flatt metric, Amdahl's law solved for the serial fraction:
    ``f = (p / S - 1) / (p - 1)`` (None for a single worker)."""
    if measured_speedup is None or measured_speedup <= 0 or p <= 1:
        return None
    return (p / measured_speedup - 1.0) / (p - 1.0)


def fit_serial_fraction(points: Iterable[tuple[float, float]]) -> float | None:
    """Least-squares serial fraction ``f`` from ``(p, S)`` points: Amdahl's law is
    linear in ``f`` as ``1/S - 1/p = f * (1 - 1/p)``, so ``f = sum(x*y) / sum(x*x)``
    with ``x = 1 - 1/p``, ``y = 1/S - 1/p`` (one point: the Karp-Flatt metric).
    Points with ``p <= 1`` carry no information; None if nothing is left."""
    sxy = sxx = 0.0
    for p, s in points:
        if p is None or s is None or p <= 1 or s <= 0:
            continue
        x = 1.0 - 1.0 / p
        y = 1.0 / s - 1.0 / p
        sxy += x * y
        sxx += x * x
    if sxx == 0:
        return None
    return sxy / sxx


def amdahl_fit(points: Iterable[tuple[float, float]], cpus: int | None) -> dict:
    """The serial fraction fitted to ``(p, S)`` points, its ``1/f`` bound and what it
    predicts on ``cpus``; the bound and prediction only for ``0 <= f <= 1`` (above 1
    the method was slower than the reference: no serial part explains that)."""
    f = fit_serial_fraction(points)
    sane = f is not None and f <= 1
    return {
        "serial_fraction": f,
        "amdahl_limit": amdahl_limit(f) if sane else None,
        "amdahl_at_cpus": (
            amdahl_speedup(max(f, 0.0), cpus) if sane and cpus else None
        ),
    }
