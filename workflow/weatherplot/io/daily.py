"""The tidy daily table every reader returns, kept in NumPy arrays.

Why not a pandas DataFrame: a plot job is a fresh process, and importing pandas costs
about 0.5 s there, more than reading and parsing a station.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

ELEMENTS = ("TMAX", "TMIN", "PRCP")


def first_repeat(days: np.ndarray) -> tuple[int, int] | None:
    """The positions of the first two equal days (in day order), None when all differ:
    a daily file holds each day once."""
    order = np.argsort(days, kind="stable")
    same = np.flatnonzero(days[order][1:] == days[order][:-1])
    return (int(order[same[0]]), int(order[same[0] + 1])) if len(same) else None


@dataclass
class Daily:
    """One value per calendar day from ``dates[0]`` to ``dates[-1]``, no gaps.

    ``values[element]`` is a float64 array as long as ``dates``; NaN marks a day with no
    (or no trustworthy) value, and an element the file does not have is all NaN.
    """

    dates: np.ndarray  # datetime64[D], consecutive days
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.dates = np.asarray(self.dates, dtype="datetime64[D]")
        n = len(self.dates)
        for element in ELEMENTS:
            column = self.values.get(element)
            if column is None:
                column = np.full(n, np.nan)
            self.values[element] = np.asarray(column, dtype=np.float64)
            if len(self.values[element]) != n:
                raise ValueError(f"{element} has {len(column)} values for {n} dates")

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def tmax(self) -> np.ndarray:
        return self.values["TMAX"]

    @property
    def tmin(self) -> np.ndarray:
        return self.values["TMIN"]

    @property
    def prcp(self) -> np.ndarray:
        return self.values["PRCP"]

    @cached_property
    def calendar(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Year, month (1-12) and days-in-month of every date, computed once: the
        annual, monthly and daily summaries of one figure all need them."""
        months = self.dates.astype("datetime64[M]")
        years = months.astype("datetime64[Y]").astype(np.int64) + 1970
        month_numbers = months.astype(np.int64) % 12 + 1
        # With its unit: NumPy 2.5 deprecates adding a bare int (a generic timedelta).
        next_months = months + np.timedelta64(1, "M")
        month_lengths = (
            next_months.astype("datetime64[D]") - months.astype("datetime64[D]")
        ).astype(np.int64)
        for shared in (years, month_numbers, month_lengths):
            shared.flags.writeable = False  # every caller sees the same arrays
        return years, month_numbers, month_lengths

    def trimmed(self) -> Daily:
        """Drop leading and trailing days on which no element has a value."""
        observed = np.isfinite(np.stack(list(self.values.values()))).any(axis=0)
        days = np.flatnonzero(observed)
        kept = slice(days[0], days[-1] + 1) if len(days) else slice(0, 0)
        return Daily(self.dates[kept], {k: v[kept] for k, v in self.values.items()})

    @classmethod
    def from_points(cls, dates: np.ndarray, values: dict[str, np.ndarray]) -> Daily:
        """Scatter values given on arbitrary (sorted or not, gappy) dates onto a
        continuous daily index. Dates must be unique."""
        dates = np.asarray(dates, dtype="datetime64[D]")
        if len(dates) == 0:
            return cls(dates, {k: np.asarray(v, float) for k, v in values.items()})
        first, last = dates.min(), dates.max()
        full = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
        offsets = (dates - first).astype(np.int64)
        columns = {}
        for element, column in values.items():
            out = np.full(len(full), np.nan)
            out[offsets] = column
            columns[element] = out
        return cls(full, columns)
