"""Plot job of rule plot_station: ``python -S plot_station.py STATION_JSON PNG TIMING
LOG``, STATION_JSON being the station's config entry (common.smk) as JSON.

A shell command, not Snakemake's ``script:``, whose preamble (importing Snakemake,
unpickling the job) cost ~0.15-0.2 s a job (``python docs/benchmark.py``).
A job the run's warm plot server takes needs only the standard library (``-S``, no
``site``, saves it ~6 ms of CPU); otherwise, or without that optional subpackage,
the job adds ``site`` and plots in this process.
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
