"""Station file readers, one module per format (after pvlib's ``iotools``).

Every ``read_*`` returns ``(daily, metadata)``: a :class:`weatherplot.daily.Daily`
(TMAX, TMIN in degC, PRCP in mm, NaN where missing) and a dict about the file.
:func:`read_station` picks the reader from the config entry or from the file itself.
pandas is imported only by the CSV readers, so a ``.dly`` job never pays for it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StationDataError
from ._files import read_bytes, refuse_binary
from .ghcnd import LINE_LENGTH, read_ghcnd

FORMATS = {
    "ghcnd": "GHCN-Daily .dly or .dly.gz (fixed width)",
    "cdo": "NCEI Climate Data Online daily CSV, current or legacy (needs 'units')",
    "plain": "plain CSV with a header date,tmax,tmin,prcp (degC, mm)",
}


def detect_format(path: str | os.PathLike) -> str:
    """Tell the format from the file name and its first line."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".dly", ".dly.gz")):
        return "ghcnd"
    first_line = _first_line(path)
    header = [cell.strip().strip('"').lower() for cell in first_line.split(",")]
    if "station" in header and "date" in header:
        return "cdo"
    if header and header[0] == "date":
        return "plain"
    if len(first_line) == LINE_LENGTH and first_line[11:15].isdigit():
        return "ghcnd"
    raise StationDataError(
        path,
        f"cannot tell the format from the first line {first_line[:60]!r}",
        line=1,
        hint="set 'format' in the station's config entry; supported formats: "
        + "; ".join(f"{k} = {v}" for k, v in FORMATS.items()),
    )


def read_station(
    path: str | os.PathLike,
    format: str | None = None,
    units: str | None = None,
    station: str | None = None,
):
    """Read any supported station file; ``format`` defaults to :func:`detect_format`."""
    fmt = format or detect_format(path)
    if fmt == "ghcnd":
        return read_ghcnd(path)
    if fmt == "cdo":
        from .ncei_cdo import read_cdo_csv

        return read_cdo_csv(path, units=units, station=station)
    if fmt == "plain":
        from .plain_csv import read_plain_csv

        return read_plain_csv(path)
    raise StationDataError(
        path,
        f"unknown format {fmt!r}",
        field="format",
        hint=f"use one of {', '.join(FORMATS)}",
    )


def _first_line(path: Path) -> str:
    raw = read_bytes(path)[:4096]  # clear errors for missing, empty or broken gzip
    refuse_binary(path, raw)
    return raw.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
