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


def check_plausible(path, values: dict[str, np.ndarray], units: str, line_of=None):
    """Raise if the metric ``values`` (already converted from ``units``) are
    impossible. ``line_of(i)`` maps an array position to a file line, when known."""
    other = OTHER_UNITS.get(units)
    suggestion = (
        f"check the file; if it is in {other} units, set 'units: {other}' "
        "in the station's config entry"
        if other
        else "check the file's units"
    )
    low, high = TEMPERATURE_RANGE_C
    for element in ("TMAX", "TMIN"):
        column = values.get(element)
        if column is None or not np.isfinite(column).any():
            continue
        outside = (column < low) | (column > high)
        if outside.any():
            i = int(np.argmax(outside))
            raise StationDataError(
                path,
                f"{element} of {column[i]:.1f} degC (read as {units} units) is "
                f"physically implausible (outside {low:g}..{high:g} degC)",
                line=line_of(i) if line_of else None,
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
                line=line_of(i) if line_of else None,
                field="PRCP",
                hint="check the file",
            )
        if np.nanmax(prcp) > MAX_DAILY_PRCP_MM:
            i = int(np.nanargmax(prcp))
            raise StationDataError(
                path,
                f"PRCP of {prcp[i]:.0f} mm in one day (read as {units} units) is "
                f"beyond the world record",
                line=line_of(i) if line_of else None,
                field="PRCP",
                hint=suggestion,
            )


def check_precision_metric(path, prcp_text_decimals: np.ndarray) -> None:
    """Rain gauges read to 0.1 mm (0.2 in places) but to 0.01 inch: many values with
    a non-zero hundredth in a file declared metric are inches."""
    if prcp_text_decimals.size >= 20 and prcp_text_decimals.mean() > 0.2:
        raise StationDataError(
            path,
            f"{prcp_text_decimals.mean():.0%} of the PRCP values have hundredths, "
            "which rain gauges in millimetres do not report: these look like inches",
            field="PRCP",
            hint="if the file is in inches and degF, set 'units: standard' in the "
            "station's config entry",
        )
