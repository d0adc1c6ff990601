# One plot job per station: this is the fan-out that `--cores N` spreads over N
# processes (or, with the SLURM profile, over cluster jobs).
#
# A shell command, not script:, runs the plot: Snakemake's script preamble imports
# Snakemake in every job (~0.15-0.2 s of a ~1.5 s job). PLOT_PYTHON is the
# interpreter running Snakemake, which has the package's dependencies, unless a
# software deployment method (--sdm conda/apptainer) provides the environment's own.

import json
import sys
from pathlib import Path

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
        station=lambda wildcards: json.dumps(STATIONS[wildcards.station]),
        python=PLOT_PYTHON,
        script=PLOT_SCRIPT,
    shell:
        "{params.python:q} {params.script:q} {params.station:q} {output.png:q}"
        " {output.timing:q} {log:q}"
