"""Checks of what the user asked for, made before Snakemake builds the DAG: each
turns a mistake that would hang, or end in a traceback, into one line saying what to do.
"""

from __future__ import annotations

import difflib


def validate_config(config: dict, schema_path) -> None:
    """Snakemake's own validation of ``config`` (defaults filled in); a schema error
    is raised as a WorkflowError of one line (:func:`schema_error_line`) instead of
    the schema dump."""
    from jsonschema.exceptions import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path), set_default=True)
    except WorkflowError as error:
        if not isinstance(error.__context__, ValidationError):
            raise
        raise WorkflowError(schema_error_line(error.__context__, config)) from None


def schema_error_line(validation_error, config: dict | None = None) -> str:
    """One line for a JSON-schema ``ValidationError`` of the config: where (stations
    entries counted from 1, as every other message of the workflow, and named by
    their id when ``config`` gives one: in a 40-station list a number alone sends the
    user counting), which key, what is allowed, and for an unknown key the closest
    allowed one."""
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
    return f"config: {where}: {validation_error.message} (see config/README.md)"


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
    if keys and not parts:
        return f"key {'.'.join(keys)!r}"
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
