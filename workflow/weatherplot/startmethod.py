"""The ``processes.start_method`` setting: how ``multiprocessing`` starts a process.
``default`` is what the student's own code gets from this interpreter without asking
(``fork`` on Linux up to Python 3.13, ``forkserver`` from 3.14, ``spawn`` on macOS and
Windows)."""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.context import BaseContext

#: The values of ``processes.start_method`` (the schema's enum).
SETTINGS = ("default", "fork", "forkserver", "spawn")


def default_method() -> str:
    """This interpreter's default, without fixing it for the process as
    ``multiprocessing.get_start_method()`` would."""
    return multiprocessing.get_all_start_methods()[0]


def resolve(setting: str = "default") -> str:
    """The start method ``setting`` (one of :data:`SETTINGS`: the schema and the
    commands' choices refuse others) means here; ValueError if the platform lacks it."""
    if setting == "default":
        return default_method()
    available = multiprocessing.get_all_start_methods()
    if setting not in available:
        raise ValueError(
            f"processes.start_method: {setting!r} is not available on {sys.platform} "
            f"(Python {sys.version.split()[0]} has {', '.join(available)}); "
            "set it to default or one of those"
        )
    return setting


def context(setting: str = "default") -> BaseContext:
    """The ``multiprocessing`` context for ``setting`` (see :func:`resolve`)."""
    return multiprocessing.get_context(resolve(setting))
