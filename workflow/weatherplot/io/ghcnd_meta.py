"""NOAA NCEI's GHCN-Daily station list and country names.

``ghcnd-stations.txt`` is fixed width, one station a line (NCEI's GHCN-Daily readme)::

    cols  1-11  ID          cols 39-40  STATE
    cols 13-20  LATITUDE    cols 42-71  NAME
    cols 22-30  LONGITUDE   cols 73-75  GSN FLAG, 77-79 HCN/CRN FLAG, 81-85 WMO ID
    cols 32-37  ELEVATION   (metres; -999.9 = unknown)

The first two letters of an id are the country code (FIPS), which
``ghcnd-countries.txt`` ("code name", names may carry trailing blanks) names.
The full list has ~129,000 lines: it is parsed once per run, keeping only ``wanted``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import StationDataError
from ._files import decode_text, read_bytes

UNKNOWN_ELEVATION = -999.9


def read_ghcnd_stations(
    path: str | os.PathLike, wanted: Iterable[str] | None = None
) -> dict[str, dict]:
    """Read ``ghcnd-stations.txt``: ``{id: fields}``, only the ids in ``wanted``
    when given."""
    text = decode_text(path, read_bytes(path))
    keep = None if wanted is None else set(wanted)
    stations: dict[str, dict] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        station_id = line[:11].strip()
        if not station_id or (keep is not None and station_id not in keep):
            continue
        try:
            latitude = float(line[12:20])
            longitude = float(line[21:30])
            elevation = float(line[31:37])
        except ValueError:
            raise StationDataError(
                path,
                f"latitude, longitude or elevation of {station_id} is not a number",
                line=number,
                field="LATITUDE/LONGITUDE/ELEVATION (columns 13-37)",
                hint="the station list is corrupt or not NOAA's ghcnd-stations.txt: "
                "delete it so that it is downloaded again",
            ) from None
        stations[station_id] = {
            "name": line[41:71].strip() or None,
            "latitude": latitude,
            "longitude": longitude,
            "elevation_m": None if elevation <= UNKNOWN_ELEVATION else elevation,
            "country_code": station_id[:2],
        }
    return stations


def read_ghcnd_countries(path: str | os.PathLike) -> dict[str, str]:
    """Read ``ghcnd-countries.txt``: ``{code: name}``."""
    text = decode_text(path, read_bytes(path))
    countries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, _, name = line.partition(" ")
        if len(code) != 2 or not name.strip():
            raise StationDataError(
                path,
                f"line {line[:40]!r} is not 'CODE name'",
                line=number,
                hint="the country list is corrupt or not NOAA's ghcnd-countries.txt: "
                "delete it so that it is downloaded again",
            )
        countries[code] = name.strip()
    return countries


def station_metadata(
    stations_path: str | os.PathLike,
    countries_path: str | os.PathLike,
    wanted: Iterable[str],
) -> dict[str, dict]:
    """Title metadata (name, country, latitude, longitude, elevation_m) of the
    ``wanted`` ids found in NOAA's lists; ids not found are left out."""
    stations = read_ghcnd_stations(stations_path, wanted)
    countries = read_ghcnd_countries(countries_path)
    return {
        station_id: {
            "name": entry["name"],
            "country": countries.get(entry["country_code"]),
            "latitude": entry["latitude"],
            "longitude": entry["longitude"],
            "elevation_m": entry["elevation_m"],
        }
        for station_id, entry in stations.items()
    }
