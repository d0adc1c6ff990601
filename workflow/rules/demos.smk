# The threads-vs-processes demos: one rule, the demo name a wildcard. All
# four take the same parameters (the config's demos section) and the same script, so
# one rule says it once; DEMO_NAMES (the registry weatherplot.demos.DEMOS) keeps the
# wildcard and the targets in step with the code.
#
# Honest timing: each demo job claims every core, so no other job runs beside it, and
# priority 10 runs the demos before the plot fan-out rather than interleaved with it.
# localrule: the figures describe this machine. "Every core" is --cores, read from
# resource_settings rather than workflow.cores, which raises when --cores is not given
# (snakemake --report, or a SLURM run with --jobs only); then --local-cores, which
# caps what runs on this machine in cluster mode.
# resources.mem_mb is the numpy demo's peak-memory estimate (run with
# --resources mem_mb=N to have Snakemake hold it back); the demo itself refuses to
# start, naming demos.array_size, when the estimate exceeds the available memory.

from weatherplot.demos import DEMOS as DEMO_NAMES, numpy_peak_bytes


rule demo:
    output:
        report(
            "results/timings/demos/{demo}.json",
            caption="../report/demos.rst",
            category="Timing records",
            subcategory="Demos",
            labels={"demo": "{demo}"},
        ),
    log:
        "logs/demos/{demo}.log",
    wildcard_constraints:
        demo="|".join(DEMO_NAMES),
    priority: 10
    localrule: True
    conda:
        "../envs/demos.yaml"
    threads: workflow.resource_settings.cores or workflow.resource_settings.local_cores
    resources:
        mem_mb=lambda wc: (
            numpy_peak_bytes(
                int(config["demos"]["array_size"]), int(config["demos"]["workers"])
            )
            // 2**20
            + 1
            if wc.demo == "numpy"
            else 256
        ),
    params:
        demos=config["demos"],
    script:
        "../scripts/demo.py"
