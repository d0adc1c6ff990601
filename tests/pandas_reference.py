"""The straightforward pandas ``read_fwf`` reader of ``.dly`` files: an independent
reference for the NumPy reader (both must give the same values on the real files)
and its peer in docs/benchmark.py. So it shares no code with the package's readers
or with ``Daily``: it returns a plain pandas table.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

ELEMENTS = ("TMAX", "TMIN", "PRCP")  # not daily.ELEMENTS: nothing shared


def read_ghcnd_fwf(path):
    """The observed values of ``path``: a DataFrame indexed by date, one column per
    element present (degC, mm), NaN where an element has no valid value that day;
    only dates with at least one valid value."""
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
    return table[[e for e in ELEMENTS if e in table.columns]]
