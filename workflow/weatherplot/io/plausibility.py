"""Catch a file in the wrong units before it becomes a wrong plot.

The NCEI exports do not say their units, so the config declares them; these checks
stop a station whose values cannot be right in the declared units and say which
units would fit.
"""

from __future__ import annotations

import numpy as np

from ..errors import StationDataError

# Beyond the world records (56.7 degC, -89.2 degC; 1825 mm in a day) with a margin.
TEMPERATURE_RANGE_C = (-90.0, 60.0)
MAX_DAILY_PRCP_MM = 1900.0
OTHER_UNITS = {"metric": "standard", "standard": "metric"}


def check_plausible(path, values: dict[str, np.ndarray], units: str, lines):
    """Raise if the metric ``values`` (already converted from ``units``) are
    impossible; ``lines`` are the file lines of their positions."""
    other = OTHER_UNITS[units]
    suggestion = (
        f"check the file; if it is in {other} units, set 'units: {other}' "
        "in the station's config entry"
    )
    low, high = TEMPERATURE_RANGE_C
    for element in [e for e in ("TMAX", "TMIN") if e in values]:
        column = values[element]
        outside = (column < low) | (column > high)
        if outside.any():
            i = int(np.argmax(outside))
            raise StationDataError(
                path,
                f"{element} of {column[i]:.1f} degC (read as {units} units) is "
                f"physically implausible (outside {low:g}..{high:g} degC)",
                line=lines[i],
                field=element,
                hint=suggestion,
            )
    prcp = values.get("PRCP")
    if prcp is not None and np.isfinite(prcp).any():
        if np.nanmin(prcp) < 0:
            i = int(np.nanargmin(prcp))
            raise StationDataError(
                path,
                f"PRCP of {prcp[i]:g} mm is negative",
                line=lines[i],
                field="PRCP",
                hint="check the file",
            )
        if np.nanmax(prcp) > MAX_DAILY_PRCP_MM:
            i = int(np.nanargmax(prcp))
            raise StationDataError(
                path,
                f"PRCP of {prcp[i]:.0f} mm in one day (read as {units} units) is "
                f"beyond the world record",
                line=lines[i],
                field="PRCP",
                hint=suggestion,
            )


def check_prcp_precision(path, written, units: str) -> None:
    """Refuse a CDO export's PRCP written in the other unit than declared.

    ``written`` is the PRCP column as written (non-empty cells only, stripped),
    labelled by file line. NCEI exports
    write inches to hundredths ("0.16", "0.00") and millimetres to tenths ("4.1");
    and rain gauges read to 0.01 inch but to 0.1 mm (0.2 in places). So in a file
    declared metric, a column written to hundredths throughout, or whose non-zero
    values often have a non-zero hundredth, is inches; in a file declared standard,
    a column written to tenths throughout is millimetres. This catches a dry year
    that never rains an implausible amount in either unit.
    """
    text = list(written)
    if len(text) < 10:
        return
    decimals = [len(t.partition(".")[2]) for t in text]
    if units == "standard":
        tenths = [i for i, d in enumerate(decimals) if d == 1]
        if len(tenths) >= 0.9 * len(text):
            raise StationDataError(
                path,
                f"{len(tenths)} of the {len(text)} PRCP values are written to tenths "
                f"(as {text[tenths[0]]!r} here), as NCEI writes millimetres; it "
                "writes inches to hundredths",
                line=written.index[tenths[0]],
                field="PRCP",
                hint="if the file was exported in metric units (mm, degC), set "
                "'units: metric' in the station's config entry",
            )
        return
    hundredths = [
        i
        for i, (t, d) in enumerate(zip(text, decimals, strict=True))
        if d >= 2 and t[t.index(".") + 2] != "0"
    ]
    nonzero = sum(1 for t in text if t.strip("0.") != "")
    two_decimals = [i for i, d in enumerate(decimals) if d == 2]
    written_in_hundredths = len(two_decimals) >= 0.9 * len(text)
    often_hundredths = nonzero >= 10 and len(hundredths) > 0.2 * nonzero
    if not (written_in_hundredths or often_hundredths):
        return
    example = hundredths[0] if hundredths else two_decimals[0]
    raise StationDataError(
        path,
        f"{len(two_decimals)} of the {len(text)} PRCP values are written to "
        f"hundredths (as {text[example]!r} here), as NCEI writes inches; it writes "
        "millimetres to tenths",
        line=written.index[example],
        field="PRCP",
        hint="if the file was exported in standard units (inches, degF), set "
        "'units: standard' in the station's config entry",
    )
