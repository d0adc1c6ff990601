"""The pandas ``read_fwf`` reader of ``.dly`` files, and a timer: the reference our
NumPy reader is checked and benchmarked against.

``read_ghcnd_fwf`` is the straightforward pandas way to read a ``.dly`` file. It is the
peer the NumPy reader must beat, and the tests use it as an independent reference:
both readers must give the same values on the real files.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

from .daily import ELEMENTS, Daily


def read_ghcnd_fwf(path) -> Daily:
    import pandas as pd

    colspecs = [(0, 11), (11, 15), (15, 17), (17, 21)]
    names = ["id", "year", "month", "element"]
    for day in range(1, 32):
        start = 21 + 8 * (day - 1)
        colspecs += [(start, start + 5), (start + 6, start + 7)]
        names += [f"v{day}", f"q{day}"]
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    frame = pd.read_fwf(
        io.BytesIO(raw),
        colspecs=colspecs,
        names=names,
        header=None,
        dtype={f"q{d}": str for d in range(1, 32)},
        keep_default_na=False,
        na_values={f"v{d}": ["-9999"] for d in range(1, 32)},
    )
    frame = frame[frame["element"].isin(ELEMENTS)]
    values = frame.melt(
        id_vars=["year", "month", "element"],
        value_vars=[f"v{d}" for d in range(1, 32)],
        var_name="day",
        value_name="value",
    )
    flags = frame.melt(
        id_vars=["year", "month", "element"],
        value_vars=[f"q{d}" for d in range(1, 32)],
        value_name="qflag",
    )["qflag"]
    values["day"] = values["day"].str[1:].astype(int)
    values = values[(flags.fillna("").str.strip() == "").to_numpy()]
    values = values.dropna(subset=["value"])
    values["date"] = pd.to_datetime(values[["year", "month", "day"]], errors="coerce")
    values = values.dropna(subset=["date"])
    table = values.pivot(index="date", columns="element", values="value") / 10.0
    return Daily.from_frame(table)


def same_values(a: Daily, b: Daily) -> bool:
    """Whether two daily tables hold the same values (NaN equal to NaN)."""
    a, b = a.trimmed(), b.trimmed()
    if len(a) != len(b) or not np.array_equal(a.dates, b.dates):
        return False
    return all(
        np.array_equal(a.values[e], b.values[e], equal_nan=True) for e in ELEMENTS
    )
