"""What the CSV readers share: pandas parsing with errors that name line and column."""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np
import pandas as pd

from ..errors import StationDataError
from ._files import decode_text, read_bytes
from .daily import first_repeat

NO_ROWS_HINT = "download the station file again"


def read_text_table(path: str | os.PathLike) -> pd.DataFrame:
    """Every cell as a string (empty where blank), so each one is checked by us.

    Row labels are the rows' lines in the file, blank lines included. A row with
    fewer or more fields than the header is an error: a short last row is what an
    interrupted download leaves.
    """
    text = decode_text(path, read_bytes(path))
    reader = csv.reader(io.StringIO(text, newline=""))
    header_fields = None
    data_lines = []
    try:
        for row in reader:
            if not row:
                continue  # a blank line
            if header_fields is None:
                header_fields = len(row)
            elif len(row) != header_fields:
                raise StationDataError(
                    path,
                    f"row has {len(row)} fields but the header has {header_fields}",
                    line=reader.line_num,
                    hint="if this is the last line, the file is truncated: download "
                    "it again; else write an empty field for a missing value",
                )
            else:
                data_lines.append(reader.line_num)
    except csv.Error as exc:
        raise StationDataError(
            path,
            f"not a well-formed CSV table ({exc})",
            line=reader.line_num,
            hint="download the file again; if you wrote it, one row per line",
        ) from None
    if header_fields is None:
        raise StationDataError(path, "has no header and no rows", hint=NO_ROWS_HINT)
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
        raise StationDataError(
            path, "has no header and no rows", hint=NO_ROWS_HINT
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise StationDataError(
            path, "has a header but no data rows", hint="download the file again"
        )
    if len(data_lines) == len(frame):
        frame.index = data_lines
    else:
        frame.index += 2  # 1-based, after the header
    return frame


def parse_dates(path, frame: pd.DataFrame, column: str, fmt: str) -> np.ndarray:
    text = frame[column].str.strip()
    dates = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise StationDataError(
            path,
            f"date {text.iloc[i]!r} cannot be read as {fmt.replace('%', '')}",
            line=frame.index[i],
            field=column,
            hint=f"write dates as {pd.Timestamp('2021-01-31').strftime(fmt)}",
        )
    days = dates.to_numpy().astype("datetime64[D]")
    repeat = first_repeat(days)
    if repeat is not None:
        first, second = repeat
        raise StationDataError(
            path,
            f"date {text.iloc[second]} appears twice (also on line "
            f"{frame.index[first]}); a daily file needs one row per day",
            line=frame.index[second],
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
            line=frame.index[i],
            field=column,
            hint="leave the cell empty for a missing value",
        )
    return values.to_numpy(dtype=np.float64, copy=True)
