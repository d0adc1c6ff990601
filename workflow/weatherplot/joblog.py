"""Logging for a job: everything at INFO and above goes to the job's ``log:`` file."""

import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_to(path) -> None:
    """Send this process's logging to ``path`` (Snakemake's ``log:``), overwritten."""
    import logging

    # force: a worker forked from the plot server inherits the server's handlers.
    logging.basicConfig(
        filename=path, filemode="w", level=logging.INFO, format=FORMAT, force=True
    )


def stop_logging() -> None:
    """Close the log file :func:`log_to` opened (a plot-server worker serves the next
    job with no handler left from this one)."""
    logging = sys.modules.get("logging")
    if logging is None:
        return
    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)
        handler.close()


def exit_now(code: int) -> None:
    """Flush the streams and the log, then leave without tearing the interpreter
    down: unloading NumPy and Matplotlib took ~0.1-0.3 s per job, after the outputs
    were written and closed. (A forked worker must not run the server's exit code.)"""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        # logging is only imported where a job logged (not in a job handed over to
        # the plot server: ~10 ms less per job).
        if "logging" in sys.modules:
            sys.modules["logging"].shutdown()
    finally:
        os._exit(code)
