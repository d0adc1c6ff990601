"""The package's errors: a config entry that cannot work, a station file that cannot
be used. Each message says where the problem is and what to do."""

from __future__ import annotations

import functools
import os


class StationDataError(ValueError):
    """A station's file or config entry cannot be used: the message names the file
    (and the line or field when known), what is wrong and what to do about it."""

    def __init__(
        self,
        path: str | os.PathLike | None,
        problem: str,
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        self.line = line
        self.field = field
        self.hint = hint
        where = [self.path or "<input>"]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        message = f"{', '.join(where)}: {problem}"
        if hint:
            message += f" -> {hint}"
        super().__init__(message)

    def __reduce__(self):
        # Pickle rebuilds an exception as cls(*self.args) by default, which this
        # __init__ does not take: a multiprocessing.Pool worker's error would then
        # fail to unpickle in the parent, and Pool.map wait for ever.
        rebuild = functools.partial(
            type(self), line=self.line, field=self.field, hint=self.hint
        )
        return rebuild, (self.path, self.problem), self.__dict__


class ConfigError(ValueError):
    """A config entry that cannot work; raised at DAG-build time, before any job."""
