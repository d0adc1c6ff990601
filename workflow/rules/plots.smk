# One plot job per station: this is the fan-out that `--cores N` spreads over N
# processes (or, with the SLURM profile, over cluster jobs).
#
# A shell command, not script:, runs the plot: Snakemake's script preamble imports
# Snakemake in every job (~0.15-0.2 s of a ~1.5 s job). PLOT_PYTHON is the
# interpreter running Snakemake, which has the package's dependencies, unless a
# software deployment method (--sdm conda/apptainer) provides the environment's own.
#
# With the warm plot server (config plot_server, below) the job's process hands its
# arguments to a worker forked from the server, which imported NumPy and Matplotlib
# once for the run; the benchmark file then measures the job's waiting process, and
# the worker's CPU time and peak memory are in the timing record.

import sys
from pathlib import Path

from weatherplot.announce import missing_plots_note
from weatherplot.plotserver import PlotServer

PLOT_PYTHON = (
    "python" if workflow.deployment_settings.deployment_method else sys.executable
)
PLOT_SCRIPT = str(Path(workflow.current_basedir).parent / "scripts" / "plot_station.py")


rule plot_station:
    input:
        station_file,
    output:
        png=report(
            "results/plots/{station}.png",
            caption="../report/plot_station.rst",
            category="Station plots",
            labels={"station": "{station}"},
        ),
        timing="results/timings/plots/{station}.json",
    log:
        "logs/plot_station/{station}.log",
    benchmark:
        "benchmarks/plot_station/{station}.tsv"
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        station=station_json,
        # Paths, not str: Snakemake's params rerun trigger compares only plain values
        # (str, int, list, ...), and these absolute paths change whenever the
        # checkout or the venv moves, which must not replot every station.
        python=Path(PLOT_PYTHON),
        script=Path(PLOT_SCRIPT),
    shell:
        "{params.python:q} {params.script:q} {params.station:q} {output.png:q}"
        " {output.timing:q} {log:q}"


# The warm plot server (weatherplot/plotserver.py) lives as long as this run. Not for
# cluster jobs (another machine) nor a software deployment method (the jobs' own
# environment must run the plot).
PLOT_SERVER = PlotServer()


onstart:
    PLOT_SERVER.start(
        "logs/plot_server.log",
        enabled=config["plot_server"]
        and workflow.local_exec
        and not workflow.deployment_settings.deployment_method,
    )


onsuccess:
    PLOT_SERVER.stop()


onerror:
    PLOT_SERVER.stop()
    # Say which stations failed and why there is no timing report.
    if note := missing_plots_note(STATION_IDS):
        print(note, file=sys.stderr)
