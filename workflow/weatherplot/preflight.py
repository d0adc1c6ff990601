"""Checks of what the user asked for, made before Snakemake builds the DAG: each
turns a mistake that would hang, or end in a traceback, into one line saying what to do.
"""

from __future__ import annotations

import difflib
import re


def validate_config(config: dict, schema_path) -> None:
    """Snakemake's own validation of ``config`` (defaults filled in); a schema error
    in one line instead of the schema dump."""
    from jsonschema.exceptions import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path), set_default=True)
    except WorkflowError as error:
        if not isinstance(error.__context__, ValidationError):
            raise
        raise WorkflowError(schema_error_line(error.__context__, config)) from None


def validate_table(frame, schema_path, path) -> None:
    """Snakemake's validation of each row of ``frame`` (read from ``path``), as the
    model workflows check their sample sheets; an error in one line."""
    from jsonschema.exceptions import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from .errors import ConfigError

    try:
        validate(frame, str(schema_path), set_default=False)
    except WorkflowError as error:
        cause = error.__context__
        row = re.search(r"row (\d+)", str(error.args[0]))
        if not isinstance(cause, ValidationError) or row is None:
            raise
        position = int(row[1])
        line = int(frame.index[position]) + 2  # the header is line 1
        station = frame.iloc[position].get("id")
        station = station if isinstance(station, str) else None
        raise ConfigError(
            table_error_line(cause, path, line, station, frame.columns)
        ) from None


def table_error_line(validation_error, path, line: int, station, columns) -> str:
    """The file, the line (and its station), the column, what is wrong."""
    if validation_error.validator == "required":
        record = validation_error.instance
        key = next(k for k in validation_error.validator_value if k not in record)
        if key not in columns:
            return (
                f"{path}: no column {key!r} in its header line (line 1): the first "
                "line names the columns, as in id,name,country,latitude,longitude,"
                "elevation_m (see config/README.md)"
            )
        return (
            f"{path}: line {line}: no value in column {key!r}: give the station's "
            f"{key} or delete the line (see config/README.md)"
        )
    column = ".".join(str(p) for p in validation_error.absolute_path) or "?"
    return (
        f"{path}: line {line}"
        + (f" ({station})" if station and column != "id" else "")
        + f", column {column!r}: {validation_error.message}; fix the cell or leave it "
        "empty (see config/README.md)"
    )


def schema_error_line(validation_error, config: dict | None = None) -> str:
    """One line for a ``ValidationError`` of the config: where (a stations entry
    counted from 1 and named by its id: in a 40-station list a number alone sends the
    user counting), which key, what is allowed, for an unknown key the closest one."""
    path = list(validation_error.absolute_path)
    where = _where(path, config)
    if validation_error.validator == "additionalProperties":
        allowed = sorted(validation_error.schema.get("properties", {}))
        unknown = sorted(set(validation_error.instance) - set(allowed))
        key = unknown[0] if unknown else "?"
        close = difflib.get_close_matches(key, allowed, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"config: {where}: unknown key {key!r}{guess} "
            f"(allowed: {', '.join(allowed)}; see config/README.md)"
        )
    how = _command_line_boolean(path, validation_error)
    return f"config: {where}: {validation_error.message}{how} (see config/README.md)"


def _command_line_boolean(path: list, validation_error) -> str:
    """How to give a boolean on the command line: ``--config plot_server=false``
    reaches the schema as the text 'false'."""
    expected = validation_error.validator_value
    word = validation_error.instance
    if (
        validation_error.validator != "type"
        or "boolean" not in ([expected] if isinstance(expected, str) else expected)
        or not isinstance(word, str)
        or word.lower() not in ("true", "false")
        or len(path) != 1
    ):
        return ""
    return (
        f"; on the command line write --config {path[0]}={word.capitalize()} "
        "(--config reads only True and False as booleans; true and false are for "
        "config files)"
    )


def _entry_id(config: dict | None, index: int) -> str | None:
    """The id of ``config['stations'][index]``, if it has one that is a string."""
    try:
        station_id = config["stations"][index]["id"]
    except (TypeError, KeyError, IndexError):
        return None
    return station_id if isinstance(station_id, str) and station_id else None


def _where(path: list, config: dict | None = None) -> str:
    """``['stations', 2, 'units']`` -> ``stations entry 3 (id 'X'), key 'units'``."""
    parts, keys = [], []
    for i, step in enumerate(path):
        if isinstance(step, int) and i > 0 and path[i - 1] == "stations":
            station_id = _entry_id(config, step) if i == 1 else None
            named = f" (id {station_id!r})" if station_id else ""
            parts.append(f"stations entry {step + 1}{named}")
            keys = []
        elif isinstance(step, int):
            keys.append(f"[{step + 1}]")
        else:
            keys.append(str(step))
    if keys:
        parts.append(f"key {'.'.join(keys)!r}")
    return ", ".join(parts) or "top level"


def cores_error(cores: int | None) -> str | None:
    """Snakemake accepts ``--cores 0``, then never starts the jobs that claim threads:
    the run would wait for ever. The message to refuse it with, or None."""
    if cores is not None and cores < 1:
        return (
            f"--cores {cores} leaves no CPU for any job and the run would wait for "
            "ever: pass --cores N with N >= 1 (say --cores 4), or --cores all for "
            "every CPU of this machine"
        )
    return None


def not_configured(station: str) -> str:
    """What to say about a target naming a station that is not in the config."""
    return (
        f"{station} is not a configured station. To add it: add '- id: {station}' "
        f"under 'stations:' in config/config.yaml and put {station}.dly.gz in data/ "
        "(or give 'file: path/to/file'); see the README, 'Adding a station'"
    )
