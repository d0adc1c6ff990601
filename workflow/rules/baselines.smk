# The exercise's baselines: every station plotted by one serial Python process, and
# by a multiprocessing.Pool with as many workers as --cores. Like the demos, each
# claims every core (nothing runs beside it), runs before the plot fan-out
# (priority) and on this machine (localrule): its figure describes one machine.


rule baseline:
    input:
        # Each file once: with thousands of stations sharing files, fewer inputs.
        sorted({info["file"] for info in STATIONS.values()}),
    output:
        report(
            "results/timings/baselines/{baseline}.json",
            caption="../report/baselines.rst",
            category="Timing",
            subcategory="Baselines",
            labels={"baseline": "{baseline}"},
        ),
    log:
        "logs/baselines/{baseline}.log",
    wildcard_constraints:
        baseline="serial|pool",
    priority: 10
    localrule: True
    conda:
        "../envs/plot.yaml"
    threads: MACHINE_CORES
    params:
        stations=list(STATIONS.values()),
        repeats=config["baselines"]["repeats"],
    script:
        "../scripts/baseline.py"
