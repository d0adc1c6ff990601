# The scaling study: plotting time against the number of workers for the
# serial loop, multiprocessing.Pool and the Snakemake fan-out itself (a nested
# snakemake run in a scratch copy). Long, so not part of rule all:
#
#   snakemake --cores 2 scaling
#
# It claims every core (threads: the whole machine) and runs here (localrule): its
# figures describe this machine with nothing else running. The nested snakemake runs
# with the interpreter of this one (sys.executable), which has snakemake installed;
# the Pool starts its processes by processes.start_method.
# Every method is timed as a whole command from outside (the plot jobs' makespan is
# kept as a second column). The timing report reads results/report/scaling.json
# when it exists.

import sys


rule scaling:
    input:
        # Each file once: a generated 10,000-station config reuses 12 files, and a
        # rule with 10,000 inputs costs ~0.5 s more to build.
        sorted({info["file"] for info in STATIONS.values()}),
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
        stations=list(STATIONS.values()),
        repeats=config["scaling"]["repeats"],
        python=sys.executable,
        start_method=config["processes"]["start_method"],
        # A Path: the copy's source, not a reason to rerun.
        workflow_root=WORKFLOW_ROOT,
    script:
        "../scripts/scaling.py"
