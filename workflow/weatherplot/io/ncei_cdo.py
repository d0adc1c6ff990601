"""NCEI Climate Data Online (CDO) daily-summaries CSV exports, current and legacy
(both layouts: config/README.md). The file does not say its units, chosen when it
was exported: the caller must (``units``), and values that cannot be right in them
are refused (plausibility.py). ``station`` picks one of an export's stations.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import StationDataError
from ._csv import parse_dates, parse_numbers, read_text_table
from .daily import ELEMENTS, Daily
from .plausibility import check_plausible, check_prcp_precision

UNITS = ("metric", "standard")


def is_legacy(frame) -> bool:
    first = str(frame["STATION"].iloc[0]) if "STATION" in frame else ""
    return first.startswith("GHCND:") or "STATION_NAME" in frame.columns


def read_cdo_csv(
    path: str | os.PathLike, units: str | None, station: str | None = None
) -> tuple[Daily, dict]:
    """Read a CDO daily CSV (current or legacy) into the tidy daily table, metric."""
    frame = read_text_table(path)
    missing = [c for c in ("STATION", "DATE") if c not in frame.columns]
    if missing:
        raise StationDataError(
            path,
            f"no {' or '.join(missing)} column; columns are {list(frame.columns)}",
            line=1,
            hint="export 'daily summaries' as CSV from NCEI Climate Data Online",
        )
    legacy = is_legacy(frame)
    if units not in UNITS:
        raise StationDataError(
            path,
            f"NCEI CDO CSV files do not say their units (units={units!r})",
            field="units",
            hint="set 'units: metric' (degC, mm) or 'units: standard' (degF, inches) "
            "in the station's config entry, as chosen when the file was exported",
        )
    if legacy and units == "standard":
        raise StationDataError(
            path,
            "legacy CDO exports are read in metric tenths only",
            field="units",
            hint="set 'units: metric', or export the data again in the current format",
        )

    ids = frame["STATION"].str.strip().str.removeprefix("GHCND:")
    frame = _one_station(path, frame, ids, station)
    dates = parse_dates(path, frame, "DATE", "%Y%m%d" if legacy else "%Y-%m-%d")
    elements = [e for e in ELEMENTS if e in frame.columns]
    if not elements:
        raise StationDataError(
            path,
            f"none of {', '.join(ELEMENTS)} among the columns {list(frame.columns)}",
            line=1,
            hint="include TMAX, TMIN and PRCP when exporting",
        )
    missing_markers = ("", "-9999") if legacy else ("",)
    values = {}
    flagged = {}
    for element in elements:
        column = parse_numbers(path, frame, element, missing_markers)
        bad_quality = _quality_flagged(frame, element)
        flagged[element] = int((bad_quality & np.isfinite(column)).sum())
        column[bad_quality] = np.nan
        values[element] = _to_metric(column, element, units, legacy)
    check_plausible(path, values, units, lines=frame.index)
    if not legacy and "PRCP" in frame.columns:
        text = frame["PRCP"].str.strip()
        check_prcp_precision(path, text[text != ""], units)

    metadata = {
        "id": frame["_ID"].iloc[0],
        **_station_columns(path, frame, legacy),
        "format": "cdo-legacy" if legacy else "cdo-current",
        "file": os.fspath(path),
        "units_declared": units,
        "elements": elements,
        "flagged": flagged,
    }
    return Daily.from_points(dates, values), metadata


def _station_columns(path, frame, legacy: bool) -> dict:
    """The export's own NAME, LATITUDE, LONGITUDE and ELEVATION (metres) columns,
    where it has them (an export includes them when "station name" and "geographic
    location" are ticked); the first row's value, ``None`` when absent or blank."""
    found = {}
    columns = {
        "name": "STATION_NAME" if legacy else "NAME",
        "latitude": "LATITUDE",
        "longitude": "LONGITUDE",
        "elevation_m": "ELEVATION",
    }
    for key, column in columns.items():
        text = str(frame[column].iloc[0]).strip() if column in frame else ""
        if key == "name" or not text:
            found[key] = text or None
            continue
        try:
            found[key] = float(text)
        except ValueError:
            raise StationDataError(
                path,
                f"{column} {text!r} is not a number",
                line=frame.index[0],
                field=column,
                hint="the export is corrupt: export it again",
            ) from None
        if key == "elevation_m" and found[key] <= -999:
            found[key] = None  # NCEI's "unknown"
    return found


def _one_station(path, frame, ids, station):
    frame = frame.assign(_ID=ids.to_numpy())
    stations = list(dict.fromkeys(ids))
    if station is not None and station in stations:
        return frame[frame["_ID"] == station]  # keeps row labels = file positions
    if len(stations) == 1:
        return frame
    raise StationDataError(
        path,
        f"holds {len(stations)} stations ({', '.join(stations[:5])}) and none is "
        f"the configured id {station!r}",
        field="STATION",
        hint="set the station's id to one of these, or export one station per file",
    )


def _quality_flagged(frame, element: str) -> np.ndarray:
    """Current exports: ``<E>_ATTRIBUTES`` = "M,Q,S,time"; a non-blank Q fails QC."""
    attributes = f"{element}_ATTRIBUTES"
    if attributes not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    quality = frame[attributes].str.split(",", expand=True)
    if quality.shape[1] < 2:
        return np.zeros(len(frame), dtype=bool)
    return (quality[1].fillna("").str.strip() != "").to_numpy()


def _to_metric(values: np.ndarray, element: str, units: str, legacy: bool):
    if legacy:
        return values / 10.0  # tenths of degC and of mm
    if units == "metric":
        return values
    if element == "PRCP":
        return values * 25.4  # inches -> mm
    return (values - 32.0) * 5.0 / 9.0  # degF -> degC
