# One plot job per station: this is the fan-out that `--cores N` spreads over N
# processes (or, with the SLURM profile, over cluster jobs).
#
# A shell command, not script:, runs the plot: Snakemake's script preamble imports
# Snakemake in every job (~0.15-0.2 s of a ~1.5 s job). PLOT_PYTHON is the
# interpreter running Snakemake, which has the package's dependencies, unless a
# software deployment method (--sdm conda/apptainer) provides the environment's own.
# -S: a job handed to the plot server needs no site-packages (the script adds them
# only if it plots by itself).
#
# The plot script: in a checkout (code on this disk, WORKFLOW_CODE) the file itself,
# a param. When the code is remote (a module from a git repository), Snakemake
# fetches it: workflow.source_path gives a cached copy whose path changes from run
# to run, so it is an input (Snakemake records its source, not the cache path), and
# ancient (the copy is new every run: it would rerun every plot). Not an input in a
# checkout: one more input per job made a 10,000-station DAG build take 1.1-1.2x the
# CPU time and 12 MB more memory (docs/performance.md).
#
# With the warm plot server (config plot_server; the Snakefile's run hooks start it)
# the job's process hands its arguments to one of the server's workers (forked from
# it once NumPy and Matplotlib were imported, each serving one job after another).
# No benchmark: directive: its sampler would watch only the job's waiting process,
# and cost every job CPU time (docs/performance.md); the timing record has the CPU
# time and peak memory of the process that plotted.

import sys

from weatherplot.slurmgroup import run_members_in_parallel

PLOT_PYTHON = (
    "python" if workflow.deployment_settings.deployment_method else sys.executable
)
# -S (no site-packages until the job plots by itself) only where PYTHONPATH finds the
# package: remote code uses the installed package, which lives in site-packages.
PLOT_PYTHON_FLAGS = ["-S"] if WORKFLOW_CODE is not None else []
if WORKFLOW_CODE is not None:
    PLOT_SCRIPT_INPUT = {}
    PLOT_SCRIPT = str(WORKFLOW_CODE / "scripts" / "plot_station.py")
else:
    PLOT_SCRIPT_INPUT = {
        "script": ancient(workflow.source_path("../scripts/plot_station.py"))
    }
    PLOT_SCRIPT = lambda wildcards, input: input.script


rule plot_station:
    input:
        station_file,
        **PLOT_SCRIPT_INPUT,
    output:
        png=report(
            "results/plots/{station}.png",
            caption="../report/plot_station.rst",
            category="Station plots",
            # Without a subcategory Snakemake files them under "Other".
            subcategory="All stations",
            # Listed by name in `snakemake --report` (by id when only NOAA's
            # station list, read at job time, knows the name).
            labels=lambda wildcards: {
                "station": STATIONS[wildcards.station].get("name")
                or wildcards.station,
                "id": wildcards.station,
            },
        ),
        timing="results/timings/plots/{station}.json",
    log:
        "logs/plot_station/{station}.log",
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
        python_flags=PLOT_PYTHON_FLAGS,
        script=Path(PLOT_SCRIPT) if isinstance(PLOT_SCRIPT, str) else PLOT_SCRIPT,
    # WEATHERPLOT_PLOT_SECONDS: runtime (minutes) in seconds, how long the job waits
    # for a plot-server worker before it fails (weatherplot/plotserver/client.py). In
    # the command, not a params function: one that asks for resources makes Snakemake
    # evaluate every job's resources while it builds the DAG (2.2 s of CPU in a
    # 10,000-station dry run, docs/performance.md); the command is formatted only
    # when the job runs.
    shell:
        "WEATHERPLOT_PLOT_SECONDS=$(({resources.runtime:q} * 60))"
        " {params.python:q} {params.python_flags:q} {params.script:q} {params.station:q} {output.png:q}"
        " {output.timing:q} {log:q}"


# Inside a SLURM group job (profiles/slurm groups plot_station jobs) the executor
# plugin would plot the group's stations one after another; plot them side by side,
# one per allocated CPU (weatherplot/slurmgroup.py).
run_members_in_parallel(workflow)


# The warm plot server (weatherplot/plotserver/) lives as long as this run: the run
# hooks in the Snakefile start and stop it. It is optional: without the subpackage
# (None here) each plot job plots in its own fresh process.
try:
    from weatherplot.plotserver.hooks import PlotServer

    PLOT_SERVER = PlotServer()
except ModuleNotFoundError as missing:
    if missing.name != "weatherplot.plotserver":
        raise
    PLOT_SERVER = None
