"""Logging for a job: everything at INFO and above goes to the job's ``log:`` file."""

import logging

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def log_to(path) -> None:
    """Send this process's logging to ``path`` (Snakemake's ``log:``), overwritten."""
    # force: a worker forked from the plot server inherits the server's handlers.
    logging.basicConfig(
        filename=path, filemode="w", level=logging.INFO, format=FORMAT, force=True
    )
