"""What the CSV readers share: pandas parsing with errors that name line and column."""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pandas as pd

from ..errors import StationDataError
from ._files import decode_text, read_bytes

HEADER_LINES = 1


def read_text_table(path: str | os.PathLike) -> pd.DataFrame:
    """Every cell as a string (empty where blank), so each one is checked by us."""
    text = decode_text(path, read_bytes(path))
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise StationDataError(
            path,
            f"not a well-formed CSV table ({exc})",
            line=int(match.group(1)) if match else None,
            hint="every row needs as many fields as the header",
        ) from None
    except pd.errors.EmptyDataError:
        raise StationDataError(path, "has no header and no rows") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise StationDataError(
            path, "has a header but no data rows", hint="download the file again"
        )
    return frame


def line_of(row_position: int) -> int:
    """1-based file line of the row labelled ``row_position`` by read_text_table."""
    return row_position + HEADER_LINES + 1


def parse_dates(path, frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    text = frame[column].str.strip()
    dates = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise StationDataError(
            path,
            f"date {text.iloc[i]!r} cannot be read as {fmt.replace('%', '')}",
            line=line_of(frame.index[i]),
            field=column,
            hint=f"write dates as {pd.Timestamp('2021-01-31').strftime(fmt)}",
        )
    days = dates.to_numpy().astype("datetime64[D]")
    order = np.argsort(days, kind="stable")
    same = np.flatnonzero(np.diff(days[order]) == np.timedelta64(0, "D"))
    if len(same):
        first, second = sorted(order[same[0] : same[0] + 2])
        raise StationDataError(
            path,
            f"date {text.iloc[second]} appears twice (also on line "
            f"{line_of(frame.index[first])}); a daily file needs one row per day",
            line=line_of(frame.index[second]),
            field=column,
            hint="delete one of the two rows",
        )
    return days


def parse_numbers(
    path, frame: pd.DataFrame, column: str, missing: tuple[str, ...] = ("",)
) -> np.ndarray:
    """Floats, NaN for ``missing`` markers; anything else non-numeric is an error."""
    text = frame[column].str.strip()
    values = pd.to_numeric(text.where(~text.isin(missing)), errors="coerce")
    bad = values.isna().to_numpy() & ~text.isin(missing).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise StationDataError(
            path,
            f"value {text.iloc[i]!r} is not a number",
            line=line_of(frame.index[i]),
            field=column,
            hint="leave the cell empty for a missing value",
        )
    return values.to_numpy(dtype=np.float64, copy=True)
