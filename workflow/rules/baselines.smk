# The exercise, timed as a student times it: the serial loop, a multiprocessing.Pool
# with as many workers as --cores, and `snakemake --cores N --until plot_station` in
# a scratch copy, each a whole command timed from outside, from clean outputs, on the
# configured stations, taking turns (weatherplot/exercise.py). It claims every core
# (nothing runs beside it), runs before this run's own plot jobs (priority) and on
# this machine (localrule): its figures describe one machine. A changed station list
# changes params.stations, so Snakemake reruns it: the report never compares a subset.
# The nested snakemake runs with this one's interpreter (sys.executable).

import sys
from pathlib import Path


rule exercise:
    input:
        # Each file once: with thousands of stations sharing files, fewer inputs.
        sorted({info["file"] for info in STATIONS.values()}),
        # Titles from NOAA's station list, for the stations that need it (the
        # scratch copy gets them from here instead of downloading the list again).
        # ancient: a list tried again (offline last time) is no reason to time the
        # exercise again; titles do not change its figures.
        [ancient(STATION_LIST_METADATA)] if station_list_ids(STATIONS) else [],
    output:
        report(
            "results/timings/exercise.json",
            caption="../report/exercise.rst",
            category="Timing records",
            subcategory="Exercise",
            labels={"file": "exercise timings"},
        ),
    log:
        "logs/exercise.log",
    priority: 10
    localrule: True
    conda:
        "../envs/scaling.yaml"
    threads: MACHINE_CORES
    params:
        stations=list(STATIONS.values()),
        repeats=config["baselines"]["repeats"],
        plot_server=config["plot_server"],
        # A Path, not str: the params rerun trigger compares only plain values, and
        # the interpreter's path changes when the venv moves.
        python=Path(sys.executable),
        # A Path too: the copy's source, not a reason to rerun.
        workflow_root=WORKFLOW_ROOT,
    script:
        "../scripts/exercise.py"


# The exercise on both CPython builds, when there is a free-threaded one
# (FREE_THREADED, common.smk): the serial loop, the Pool and a ThreadPoolExecutor in
# one process, each a whole command of Snakemake's interpreter (the GIL build) and of
# the free-threaded one, taking turns, and each build's share of a plot spent inside
# Figure.draw (weatherplot/builds.py). Claims every core, before the plot fan-out,
# on this machine, like the exercise. The interpreters are Path params (no rerun
# when a venv moves); free_threaded_python is
# common.smk's.


rule exercise_builds:
    input:
        sorted({info["file"] for info in STATIONS.values()}),
    output:
        report(
            "results/timings/free-threaded/exercise.json",
            caption="../report/exercise.rst",
            category="Timing records",
            subcategory="Exercise",
            labels={"file": "exercise on both builds"},
        ),
    log:
        "logs/exercise_builds.log",
    priority: 10
    localrule: True
    # The GIL build's commands run in this env; the free-threaded ones in theirs.
    conda:
        "../envs/scaling.yaml"
    threads: MACHINE_CORES
    params:
        stations=list(STATIONS.values()),
        repeats=config["baselines"]["repeats"],
        python=Path(sys.executable),
        free_threaded=free_threaded_python,
        reenabled=list(FREE_THREADED.reenabled_by) if FREE_THREADED else [],
    script:
        "../scripts/exercise_builds.py"
