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
        [STATION_LIST_METADATA] if station_list_ids(STATIONS) else [],
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
    script:
        "../scripts/exercise.py"
