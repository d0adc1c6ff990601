"""A worker whose module imports NumPy and Matplotlib, as a student's plotting
script does: under ``spawn`` and ``forkserver`` each new process imports them again
to find the function; under ``fork`` it inherits them. A module of its own, so that
no other demo pays these imports."""

import matplotlib
import numpy  # noqa: F401 (the import is the point)

matplotlib.use("Agg")

import matplotlib.figure


def heavy_noop(*_args) -> None:
    """Does nothing; a child needs this module, NumPy and Matplotlib, to run it."""
