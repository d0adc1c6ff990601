"""The station catalog, ``<data_dir>/stations.csv``: the shipped stations' names and
places for their plot titles, checked like a sample sheet.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

# What the catalog says of a station: its plot title's fields.
TITLE_FIELDS = ("name", "country", "latitude", "longitude", "elevation_m")

# The catalog's schema: beside the package in a checkout; common.smk passes
# Snakemake's own copy (workflow.source_path), which also works for remote code.
CATALOG_SCHEMA = (
    Path(__file__).resolve().parents[1] / "schemas" / "stations.schema.yaml"
)
CATALOG_NUMBERS = ("latitude", "longitude", "elevation_m")


def load_catalog(
    path: str | os.PathLike, schema: str | os.PathLike | None = None
) -> dict[str, dict]:
    """The catalog's title fields by id; empty when the file does not exist. A bad
    cell or a missing column raises :class:`ConfigError` naming the file, the line
    and the column."""
    path = Path(path)
    if not path.exists():
        return {}
    import pandas as pd

    try:
        # Text first, numbers converted cell by cell below: a column with one bad
        # cell ('north') must fail on that cell, not on every row as a string.
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding="utf-8",
        ).dropna(how="all")  # blank lines; the index keeps each row's line (- 2)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{path}: not a readable CSV ({str(error).strip()}); it needs a header "
            "line id,name,country,latitude,longitude,elevation_m and one row a station"
        ) from None
    for column in CATALOG_NUMBERS:
        if column in frame.columns:
            frame[column] = frame[column].map(_number_or_text).astype(object)
    if schema is None and CATALOG_SCHEMA.is_file():
        schema = CATALOG_SCHEMA
    if schema is not None:
        from .preflight import validate_table

        validate_table(frame, schema, path)
    catalog = {}
    for row in frame.to_dict("records"):
        entry = {k: row.get(k) for k in TITLE_FIELDS}
        catalog[str(row["id"])] = {
            k: None if pd.isna(v) else v for k, v in entry.items()
        }
    return catalog


def _number_or_text(cell):
    """A cell as a float when it reads as one; else as it is (the schema says why)."""
    if not isinstance(cell, str):
        return cell
    try:
        return float(cell)
    except ValueError:
        return cell
