"""Plot job of rule plot_station: one station's PNG and its timing record.

The rule runs it as a plain Python process (a ``shell:`` command)::

    python workflow/scripts/plot_station.py STATION_JSON PNG TIMING LOG

rather than through Snakemake's ``script:`` directive, whose preamble imports
Snakemake and unpickles the job before our first line: ~0.15-0.2 s of every plot job,
measured with ``python docs/benchmark.py``. STATION_JSON is the station's config
entry (``STATIONS[id]`` in common.smk) as JSON. Like every script here it sets no
import path: the run's PYTHONPATH (common.smk) or the installed package provides
weatherplot.

When the run's warm plot server is up (weatherplot.plotserver; this job imports only
its client side, weatherplot.plotserver.client), a worker forked from it plots for this
job; otherwise (or without that optional subpackage) this process imports NumPy and
Matplotlib and plots.
The rule runs it with ``python -S``: a job handed to the server needs only the standard
library, and skipping ``site`` (site-packages, .pth files) saves it ~6 ms of CPU; the
job adds ``site`` only if it plots by itself.
"""

import time

_started = time.time()  # before any import we could avoid: the record's "start"

import os  # noqa: E402
import sys  # noqa: E402

from weatherplot.joblog import exit_now  # noqa: E402

try:  # the optional plot server: without it, plot in this process
    from weatherplot.plotserver.client import ENV_VAR, Unavailable, request_plot
except ModuleNotFoundError as missing:
    if missing.name != "weatherplot.plotserver":
        raise
    ENV_VAR = None


def main(argv: list[str]) -> int:
    address = ENV_VAR and os.environ.get(ENV_VAR)
    if address and not os.environ.get("SLURM_JOB_ID"):
        try:
            return request_plot(address, argv, _started)
        except Unavailable as why:
            print(f"{why}; plotting in this process instead", file=sys.stderr)
    if sys.flags.no_site:  # run with python -S: only now find NumPy and Matplotlib
        import site

        site.main()
    from weatherplot.plotjob import run

    return run(argv, _started)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
