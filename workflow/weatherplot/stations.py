"""From config entries to plotted stations: resolve files, merge metadata, plot.

``resolve_stations`` runs when Snakemake builds the DAG, so a station whose file is
missing or whose entry is wrong stops the run before any job starts, naming the entry.
``plot_station`` is what one plot job (and the serial and Pool baselines) runs.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import re
from pathlib import Path

from .errors import ConfigError, StationDataError

log = logging.getLogger(__name__)

# Safe as a file name on every system and as a Snakemake wildcard value.
STATION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_ID_RE = re.compile(STATION_ID_PATTERN + r"\Z")
DATA_SUFFIXES = (".dly.gz", ".dly", ".csv.gz", ".csv")
CATALOG_FIELDS = ("name", "country", "latitude", "longitude", "elevation_m")


def load_catalog(path: str | os.PathLike) -> dict[str, dict]:
    """``stations.csv`` (id,name,country,latitude,longitude,elevation_m,...) by id;
    empty when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    catalog = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            entry = {k: row.get(k) or None for k in CATALOG_FIELDS}
            for key in ("latitude", "longitude", "elevation_m"):
                if entry[key] is not None:
                    entry[key] = float(entry[key])
            catalog[row["id"]] = entry
    return catalog


def resolve_stations(config: dict, workdir: str | os.PathLike = ".") -> dict[str, dict]:
    """Config entries by id, each with ``file`` resolved and catalog metadata merged.

    Raises :class:`ConfigError` naming the entry for a duplicate or unsafe id, a file
    that does not exist, or an empty station list.
    """
    workdir = Path(workdir)
    entries = config.get("stations") or []
    if not entries:
        raise ConfigError(
            "config: 'stations' is empty; add at least one station entry "
            "(see config/README.md)"
        )
    data_dir = Path(config.get("data_dir", "data"))
    catalog = load_catalog(workdir / data_dir / "stations.csv")

    @functools.cache  # one stat per file: entries may share files (10,000 share 12)
    def is_file(file: str) -> bool:
        return (workdir / file).is_file()

    stations: dict[str, dict] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"config: stations entry {number}"
        station_id = str(entry.get("id", ""))
        if not _ID_RE.match(station_id):
            raise ConfigError(
                f"{where}: id {station_id!r} is not a safe name; use letters, digits, "
                "'_', '.', '-' (not starting with '.' or '-', at most 64 characters)"
            )
        if station_id in stations:
            raise ConfigError(
                f"{where}: id {station_id!r} appears twice; each station needs its "
                "own id (results/plots/<id>.png)"
            )
        file = entry.get("file")
        if file is None:
            file = _find_data_file(workdir, data_dir, station_id)
            if file is None:
                raise ConfigError(
                    f"{where} ({station_id}): no file given and none of "
                    + ", ".join(
                        str(data_dir / f"{station_id}{s}") for s in DATA_SUFFIXES
                    )
                    + " exists; set 'file' or put the station's file in "
                    + f"{data_dir}/"
                )
        elif not is_file(file):
            raise ConfigError(
                f"{where} ({station_id}): file {file!r} does not exist "
                f"(relative to {workdir.resolve()})"
            )
        if entry.get("format") == "cdo" and not entry.get("units"):
            raise ConfigError(
                f"{where} ({station_id}): format 'cdo' needs 'units: metric' (degC, "
                "mm) or 'units: standard' (degF, inches): NCEI CSV files do not say "
                "which they are in"
            )
        info = {"id": station_id, **catalog.get(station_id, {})}
        info.update({k: v for k, v in entry.items() if v is not None})
        info["file"] = str(file)
        stations[station_id] = info
    return stations


def _find_data_file(workdir: Path, data_dir: Path, station_id: str) -> str | None:
    for suffix in DATA_SUFFIXES:
        candidate = data_dir / f"{station_id}{suffix}"
        if (workdir / candidate).is_file():
            return str(candidate)
    return None


def load_station(info: dict):
    """Read the station's file; refuse one with no usable value at all."""
    from .io import read_station

    daily, metadata = read_station(
        info["file"],
        format=info.get("format"),
        units=info.get("units"),
        station=info["id"],
    )
    if (
        metadata.get("id")
        and metadata["id"] != info["id"]
        and info.get("format") != "plain"
    ):
        log.warning(
            "%s: file holds station %s, config says %s",
            info["file"],
            metadata["id"],
            info["id"],
        )
    daily = daily.trimmed()
    if len(daily) == 0:
        flagged = sum(metadata.get("flagged", {}).values())
        raise StationDataError(
            info["file"],
            "no usable TMAX, TMIN or PRCP value: every value is missing"
            + (f" or failed quality control ({flagged} flagged)" if flagged else ""),
            hint=f"check the file, or remove station {info['id']!r} from the config",
        )
    return daily, metadata


def plot_station(info: dict, png_path: str | os.PathLike, timer=None) -> dict:
    """Read, plot and write one station's PNG (atomically). Returns the metadata."""
    from .plotting import render_png, station_figure
    from .timing import write_bytes_atomic

    lap = timer.lap if timer is not None else (lambda phase: None)
    daily, metadata = load_station(info)
    lap("read")
    figure = station_figure(daily, info)
    lap("plot")
    write_bytes_atomic(png_path, render_png(figure))
    lap("save")
    return metadata
