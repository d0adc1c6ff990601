"""From config entries to plotted stations. ``resolve_stations`` runs while Snakemake
builds the DAG, so a wrong entry stops the run before any job, naming the entry;
``plot_station`` is what one plot job (and the serial and Pool baselines) runs.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path

from .catalog import TITLE_FIELDS, load_catalog
from .errors import ConfigError, StationDataError
from .io import DATA_SUFFIXES, FORMATS, formats_for

log = logging.getLogger(__name__)

# Safe as a file name on every system and as a Snakemake wildcard value.
STATION_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_ID_RE = re.compile(STATION_ID_PATTERN + r"\Z")
# GHCN-Daily ids: FIPS country code (2 letters), network code, 8 more characters.
_GHCND_ID_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{9}\Z")
DEFAULT_GHCND_URL = "https://www.ncei.noaa.gov/pub/data/ghcn/daily"
# Where downloads go (git-ignored): NCEI's own layout under resources/ghcnd/.
DOWNLOAD_DIR = "resources/ghcnd"
STATION_LIST_METADATA = f"{DOWNLOAD_DIR}/station-metadata.json"


def resolve_stations(
    config: dict,
    workdir: str | os.PathLike = ".",
    catalog_schema: str | os.PathLike | None = None,
) -> dict[str, dict]:
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
    ghcnd_url = config.get("ghcnd_url", DEFAULT_GHCND_URL).rstrip("/")
    catalog = load_catalog(workdir / data_dir / "stations.csv", catalog_schema)

    @functools.cache  # one stat per file: entries may share files (10,000 share 12)
    def is_file(file: str) -> bool:
        # A named pipe too: the readers read it to its end, and Snakemake takes it
        # as an input (no checksum); the fault tests hold plot jobs on one.
        path = workdir / file
        return path.is_file() or path.is_fifo()

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
        download_url = None
        if file is None:
            looked_for = local_candidates(station_id, data_dir)
            file = next((f for f in looked_for if (workdir / f).is_file()), None)
        if file is None:
            if not _GHCND_ID_RE.match(station_id):
                raise ConfigError(
                    f"{where} ({station_id}): no file given and none of "
                    + ", ".join(looked_for)
                    + " exists, and the id is not a GHCN-Daily id (like "
                    "USW00014739) to download from NOAA; set 'file' or put the "
                    f"station's file in {data_dir}/"
                )
            # A GHCN-Daily id alone: the download rule fetches it from NOAA.
            file = f"{DOWNLOAD_DIR}/all/{station_id}.dly"
            download_url = f"{ghcnd_url}/all/{station_id}.dly"
        elif not is_file(file):
            raise ConfigError(
                f"{where} ({station_id}): file {file!r} does not exist "
                f"(relative to {workdir.resolve()})"
            )
        fmt = entry.get("format")
        if fmt in FORMATS and FORMATS[fmt].needs_units and not entry.get("units"):
            raise ConfigError(
                f"{where} ({station_id}): format {fmt!r} needs 'units: metric' (degC, "
                "mm) or 'units: standard' (degF, inches): NCEI CSV files do not say "
                "which they are in"
            )
        info = {"id": station_id, **catalog.get(station_id, {})}
        info.update({k: v for k, v in entry.items() if v is not None})
        info["file"] = str(file)
        if download_url:
            info["download_url"] = download_url
        if needs_station_list(info):
            # Name and place from NOAA's station list, parsed once for the run.
            info["station_list"] = STATION_LIST_METADATA
        stations[station_id] = info
    return stations


def needs_station_list(info: dict) -> bool:
    """A GHCN-Daily station whose name neither the config nor stations.csv gives,
    in a format titled from NOAA's list (a CDO export names its station itself; a
    plain CSV has no NOAA id): the format given, or any its file's name allows."""
    given = info.get("format")
    return (
        not info.get("name")
        and bool(_GHCND_ID_RE.match(info["id"]))
        and any(
            FORMATS[f].noaa_titles
            for f in formats_for(info["file"])
            if given in (None, f)
        )
    )


def station_list_ids(stations: dict[str, dict]) -> list[str]:
    """The ids whose title metadata comes from NOAA's station list."""
    return sorted(i for i, info in stations.items() if info.get("station_list"))


def load_station(info: dict):
    """Read the station's file; refuse one with no usable value at all."""
    from .io import read_station

    daily, metadata = read_station(
        info["file"],
        format=info.get("format"),
        units=info.get("units"),
        station=info["id"],
    )
    if metadata.get("id") and metadata["id"] != info["id"]:  # a plain CSV has none
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


def title_info(info: dict, metadata: dict) -> dict:
    """The config entry completed with what else is known about the station: its
    file's own columns (a CDO export's NAME, LATITUDE...) and NOAA's station list.
    What the config or stations.csv says wins."""
    known = dict(info)
    sources = [metadata]
    if info.get("station_list"):
        sources.append(station_list_entry(info["station_list"], info["id"]))
    for source in sources:
        for key in TITLE_FIELDS:
            if known.get(key) is None and source.get(key) is not None:
                known[key] = source[key]
    return known


def read_station_list_metadata(path: str | os.PathLike) -> dict | None:
    """The run's parsed NOAA station list (rule station_list_metadata), as
    :func:`.ghcnd_download.station_list_titles` gives it; None when the file is
    missing or not in this form (an older run's file)."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("stations"), dict):
        return None
    return found


def station_list_attempt(path: str | os.PathLike) -> int:
    """Which attempt at NOAA's list the next run makes (a rerun trigger of rule
    station_list_metadata): one more than the file's own when it says the list was
    unavailable, so each run tries again until it has the names."""
    found = read_station_list_metadata(path)
    if found is None:
        return 1
    attempt = int(found.get("attempt", 1))
    return attempt + 1 if "unavailable" in found else attempt


def station_list_entry(path: str, station_id: str) -> dict:
    """This station's entry in the run's parsed NOAA station list; empty when absent
    (the title shows the id). The warning goes to the job's log only: the run's one
    warning line comes from the station_list_metadata job."""
    found = read_station_list_metadata(path)
    if found is None:
        log.warning(
            "%s: no station-list metadata: %s titled by its id", path, station_id
        )
        return {}
    if "unavailable" in found:
        log.warning(
            "NOAA's station list is unavailable (%s): %s titled by its id",
            found["unavailable"],
            station_id,
        )
    return found["stations"].get(station_id) or {}


def plot_station(info: dict, png_path: str | os.PathLike, timer=None) -> dict:
    """Read, plot and write one station's PNG (atomically). Returns the metadata."""
    from .atomicwrite import write_bytes_atomic
    from .climate import station_summary
    from .plotting import render_png, station_figure

    lap = timer.lap if timer is not None else (lambda phase: None)
    daily, metadata = load_station(info)
    lap("read")
    figure = station_figure(station_summary(daily), title_info(info, metadata))
    lap("plot")
    write_bytes_atomic(png_path, render_png(figure))
    lap("save")
    return metadata


def local_candidates(station_id: str, data_dir: str | os.PathLike = "data") -> list:
    """The local files a station given by id alone is looked up as, in order."""
    return [str(Path(data_dir) / f"{station_id}{suffix}") for suffix in DATA_SUFFIXES]
