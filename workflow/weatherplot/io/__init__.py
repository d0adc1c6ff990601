"""Station file readers, one module per format (after pvlib's ``iotools``).

Every ``read_*`` returns ``(daily, metadata)``: a :class:`~weatherplot.io.daily.Daily`
and a dict about the file. pandas is imported only by the CSV readers, so a ``.dly``
job never pays for it. :data:`FORMATS` is the one list of formats: a new one is its
module and one entry there (tests/test_formats.py).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import StationDataError
from ._files import read_bytes, refuse_binary
from .ghcnd import LINE_LENGTH


@dataclass(frozen=True)
class Format:
    """A station file format: its reader and what the rest of the package asks."""

    description: str
    reader: str  # "module:function" in this package, imported when first used
    suffixes: tuple[str, ...]  # a station given by id alone: data_dir/<id><suffix>
    options: tuple[str, ...] = ()  # config fields the reader takes besides the path
    needs_units: bool = False  # the file does not say its units: the config must
    noaa_titles: bool = False  # an unnamed station's title from NOAA's station list
    preload: bool = False  # no pandas: the plot server imports it before forking


FORMATS = {
    "ghcnd": Format(
        "GHCN-Daily .dly or .dly.gz (fixed width)",
        "ghcnd:read_ghcnd",
        (".dly.gz", ".dly"),
        noaa_titles=True,
        preload=True,
    ),
    "cdo": Format(
        "NCEI Climate Data Online daily CSV, current or legacy (needs 'units')",
        "ncei_cdo:read_cdo_csv",
        (".csv.gz", ".csv"),
        options=("units", "station"),
        needs_units=True,
    ),
    "plain": Format(
        "plain CSV with a header date,tmax,tmin,prcp (degC, mm)",
        "plain_csv:read_plain_csv",
        (".csv.gz", ".csv"),
    ),
}
# The local files a station given by id alone is looked up as, in this order.
DATA_SUFFIXES = tuple(dict.fromkeys(s for f in FORMATS.values() for s in f.suffixes))


def reader(name: str):
    """The read function of format ``name`` (its module imported now)."""
    module, function = FORMATS[name].reader.split(":")
    return getattr(importlib.import_module(f".{module}", __name__), function)


def preload_readers() -> None:
    """Import the readers that bring no pandas (the plot server, before it forks)."""
    for name, spec in FORMATS.items():
        if spec.preload:
            reader(name)


def formats_for(file: str | os.PathLike) -> list[str]:
    """The formats whose suffix ends ``file``'s name; all of them when none does."""
    name = str(file).lower()
    return [k for k, f in FORMATS.items() if name.endswith(f.suffixes)] or list(FORMATS)


def detect_format(path: str | os.PathLike) -> str:
    """Tell the format from the file name and its first line."""
    path = Path(path)
    by_name = formats_for(path)
    if len(by_name) == 1:  # only one format has this suffix (.dly)
        return by_name[0]
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
        + "; ".join(f"{k} = {v.description}" for k, v in FORMATS.items()),
    )


def read_station(
    path: str | os.PathLike,
    format: str | None = None,
    units: str | None = None,
    station: str | None = None,
):
    """Read any supported station file; ``format`` defaults to :func:`detect_format`."""
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise StationDataError(
            path,
            f"unknown format {fmt!r}",
            field="format",
            hint=f"use one of {', '.join(FORMATS)}",
        )
    given = {"units": units, "station": station}
    return reader(fmt)(path, **{k: given[k] for k in FORMATS[fmt].options})


def _first_line(path: Path) -> str:
    raw = read_bytes(path)[:4096]  # clear errors for missing, empty or broken gzip
    refuse_binary(path, raw)
    return raw.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
