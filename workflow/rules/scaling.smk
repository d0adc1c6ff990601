# The scaling study: plotting time against the number of workers for the
# serial loop, multiprocessing.Pool and the Snakemake fan-out itself (a nested
# snakemake run in a scratch copy). Long, so not part of rule all:
#
#   snakemake --cores 2 scaling
#
# It claims every core (threads: the whole machine) and runs here (localrule): its
# figures describe this machine with nothing else running. Its command is
# `python -m weatherplot scaling` (weatherplot/__main__.py) with the interpreter of
# this snakemake (sys.executable), which the nested snakemake needs; the Pool starts
# its processes by processes.start_method.
# Every method is timed as a whole command from outside (the plot jobs' makespan is
# kept as a second column). The timing report reads results/report/scaling.json
# when it exists.

import sys
from pathlib import Path


rule scaling:
    input:
        # Each file once: a generated 10,000-station config reuses 12 files, and a
        # rule with 10,000 inputs costs ~0.5 s more to build.
        sorted({info["file"] for info in STATIONS.values()}),
        stations=rules.station_table.output[0],
    output:
        json="results/report/scaling.json",
        png=report(
            "results/report/scaling.png",
            caption="../report/scaling.rst",
            category="Timing records",
            subcategory="Scaling study",
            labels={"file": "scaling study"},
        ),
    log:
        "logs/report/scaling.log",
    localrule: True
    conda:
        "../envs/scaling.yaml"
    threads: MACHINE_CORES
    params:
        # As for the exercise (exercise.smk): Snakemake's interpreter, which has
        # snakemake for the nested run; the stations from rule station_table.
        python=Path(sys.executable),
        repeats=config["scaling"]["repeats"],
        start_method=config["processes"]["start_method"],
        # Paths: the copy's source and the station files, not reasons to rerun.
        workflow_root=WORKFLOW_ROOT,
        data_dir=Path(config["data_dir"]),
    shell:
        "{params.python:q} -m weatherplot scaling"
        " --station-entries {input.stations:q} --data {params.data_dir:q} --cores {threads:q}"
        " --repeats {params.repeats:q} --start-method {params.start_method:q}"
        " --root {params.workflow_root:q} --json {output.json:q}"
        " --png {output.png:q} --log {log:q}"
