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

from weatherplot.demos import DEMOS as DEMO_NAMES, demo_mem_mb


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
        mem_mb=lambda wc: demo_mem_mb(wc.demo, config["demos"]),
    params:
        demos=config["demos"],
    script:
        "../scripts/demo.py"


# The same demos under the free-threaded CPython (no GIL), when there is one
# (FREE_THREADED, common.smk). That interpreter has no Snakemake, so the demo is a
# command (python -m weatherplot.demos) run by it, importing this copy of the
# package through PYTHONPATH (set for every job by common.smk). Same record, same
# claim on every core, same priority. The interpreter is a Path param: params are a
# rerun trigger, and a Path is not compared (the venv may move); free_threaded_python
# is common.smk's.


rule demo_free_threaded:
    output:
        report(
            "results/timings/free-threaded/demos/{demo}.json",
            caption="../report/demos.rst",
            category="Timing records",
            subcategory="Demos (free-threaded Python)",
            labels={"demo": "{demo}"},
        ),
    log:
        "logs/demos/free-threaded/{demo}.log",
    wildcard_constraints:
        demo="|".join(DEMO_NAMES),
    priority: 10
    localrule: True
    # For the lint and --sdm conda: the job itself runs params.python, not this env's.
    conda:
        "../envs/demos.yaml"
    threads: workflow.resource_settings.cores or workflow.resource_settings.local_cores
    resources:
        mem_mb=lambda wc: demo_mem_mb(wc.demo, config["demos"]),
    params:
        python=free_threaded_python,
        demos=lambda wc: json.dumps(dict(config["demos"])),
        # Comma-separated module names; "" when none turned the GIL back on.
        reenabled=",".join(FREE_THREADED.reenabled_by) if FREE_THREADED else "",
    shell:
        "{params.python:q} -m weatherplot.demos {wildcards.demo:q}"
        " --config {params.demos:q} --output {output:q} --log {log:q}"
        " --job-threads {threads:q} --gil-reenabled-by={params.reenabled:q}"
