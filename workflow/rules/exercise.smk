# The exercise, timed as a student times it (weatherplot/exercise.py), one job per
# interpreter build (build_dir, BUILD_DIRS in common.smk): "" times the GIL build's
# loop, Pool and `snakemake --cores N` in a scratch copy; "free-threaded/" the loop,
# Pool and threads on both builds, taking turns (that interpreter has no Snakemake).
# Each job claims every core, runs here (localrule) and before the plot jobs
# (priority): its figures describe one machine with nothing beside it. A changed
# station list changes station_table's file, so the exercise reruns: the report never
# compares a subset.

import sys
from pathlib import Path


# The resolved stations, once, for the commands that time them all (the exercise,
# the scaling study): a file, not a command-line argument, which holds at most
# 128 KiB (a few hundred stations) and is printed whole when a job fails.
rule station_table:
    output:
        "results/stations.json",
    log:
        "logs/station_table.log",
    localrule: True
    conda:
        "../envs/scaling.yaml"
    params:
        stations=list(STATIONS.values()),
    script:
        "../scripts/station_table.py"


rule exercise:
    input:
        # Each file once: with thousands of stations sharing files, fewer inputs.
        sorted({info["file"] for info in STATIONS.values()}),
        # Titles from NOAA's station list, for the stations that need it (the
        # scratch copy gets them from here instead of downloading the list again).
        # ancient: a list tried again (offline last time) is no reason to time the
        # exercise again; titles do not change its figures.
        [ancient(STATION_LIST_METADATA)] if station_list_ids(STATIONS) else [],
        stations=rules.station_table.output[0],
    output:
        report(
            "results/timings/{build_dir}exercise.json",
            caption="../report/exercise.rst",
            category="Timing records",
            subcategory="Exercise",
            labels=lambda wildcards: {
                "file": "exercise timings",
                "build": BUILD_DIRS[wildcards.build_dir],
            },
        ),
    log:
        "logs/{build_dir}exercise.log",
    wildcard_constraints:
        build_dir="|".join(BUILD_DIRS),
    priority: 10
    localrule: True
    # The GIL build's commands run in this env; the free-threaded ones in theirs.
    conda:
        "../envs/scaling.yaml"
    threads: MACHINE_CORES
    params:
        # The variant's interpreter runs the command. Paths: params are a rerun
        # trigger, and a Path is not compared (the venv may move).
        python=lambda wc: (
            free_threaded_interpreter(wc) if wc.build_dir else Path(sys.executable)
        ),
        repeats=config["baselines"]["repeats"],
        # Each variant's own settings only: another's change is no reason to rerun it.
        plot_server=lambda wc: not wc.build_dir and config["plot_server"],
        start_method=config["processes"]["start_method"],
        # The free-threaded build's exercise times the GIL build's beside it.
        gil_build=lambda wc: Path(sys.executable) if wc.build_dir else "",
        reenabled=lambda wc: (
            ",".join(FREE_THREADED.reenabled_by) if wc.build_dir else ""
        ),
        # Paths: the copy's source and the station files, not reasons to rerun.
        workflow_root=WORKFLOW_ROOT,
        data_dir=Path(config["data_dir"]),
    shell:
        "{params.python:q} -m weatherplot exercise"
        " --station-entries {input.stations:q} --data {params.data_dir:q} --cores {threads:q}"
        " --repeats {params.repeats:q} --start-method {params.start_method:q}"
        " --plot-server {params.plot_server:q} --root {params.workflow_root:q}"
        " --gil-build={params.gil_build:q} --gil-reenabled-by={params.reenabled:q}"
        " --json {output:q} --log {log:q}"
