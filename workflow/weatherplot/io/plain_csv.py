"""A plain CSV for a user's own station: ``date,tmax,tmin,prcp`` in degC and mm
(config/README.md); column names in any case, any subset of the three elements.
"""

from __future__ import annotations

import os

from ..errors import StationDataError
from ._csv import parse_dates, parse_numbers, read_text_table
from .daily import Daily

COLUMNS = {"tmax": "TMAX", "tmin": "TMIN", "prcp": "PRCP"}


def read_plain_csv(path: str | os.PathLike) -> tuple[Daily, dict]:
    frame = read_text_table(path)
    frame.columns = [c.lower() for c in frame.columns]
    present = [c for c in COLUMNS if c in frame.columns]
    if "date" not in frame.columns or not present:
        raise StationDataError(
            path,
            f"columns are {list(frame.columns)}; a plain station CSV needs 'date' "
            "and at least one of 'tmax', 'tmin', 'prcp'",
            line=1,
            hint="header line: date,tmax,tmin,prcp (degC and mm)",
        )
    dates = parse_dates(path, frame, "date", "%Y-%m-%d")
    values = {COLUMNS[c]: parse_numbers(path, frame, c) for c in present}
    metadata = {
        "id": None,
        "format": "plain",
        "file": os.fspath(path),
        "elements": [COLUMNS[c] for c in present],
        "ignored_columns": [
            c for c in frame.columns if c not in COLUMNS and c != "date"
        ],
    }
    return Daily.from_points(dates, values), metadata
