# The threads-vs-processes demos: one rule, the demo and the interpreter build its
# wildcards. build_dir is "" for the GIL build (results/timings/demos/{demo}.json) and
# "free-threaded/" for the free-threaded CPython, when there is one (FREE_THREADED,
# common.smk). DEMOS (common.smk: the registry weatherplot.demos.DEMOS) keeps the
# wildcard and the targets in step with the code.
#
# Every build runs a demo the same way: its interpreter runs the module command
# `python -m weatherplot.demos`, whose __main__ is guarded, so spawn and forkserver
# children (which import __main__ again) do not rerun the demo. The GIL build's
# interpreter is the jobs' (PLOT_PYTHON, plots.smk); the free-threaded one has no
# Snakemake and imports this copy of the package through PYTHONPATH (common.smk).
# Interpreters are Path params: params are a rerun trigger, a Path is not compared
# (the venv may move). processes.start_method is passed as set: each interpreter
# resolves `default` to its own, and a new setting reruns the demos.
#
# Honest timing: each demo job claims every core, so no other job runs beside it, and
# priority 10 runs the demos before the plot fan-out rather than interleaved with it.
# localrule: the figures describe this machine (MACHINE_CORES, common.smk).
# resources.mem_mb is the numpy demo's peak-memory estimate (run with
# --resources mem_mb=N to have Snakemake hold it back); the demo itself refuses to
# start, naming demos.array_size, when the estimate exceeds the available memory.


rule demo:
    output:
        report(
            "results/timings/{build_dir}demos/{demo}.json",
            caption="../report/demos.rst",
            category="Timing records",
            subcategory="Demos",
            labels=lambda wildcards: {
                "demo": wildcards.demo,
                "build": BUILD_DIRS[wildcards.build_dir],
            },
        ),
    log:
        "logs/demos/{build_dir}{demo}.log",
    wildcard_constraints:
        demo="|".join(DEMOS),
        build_dir="|".join(BUILD_DIRS),
    priority: 10
    localrule: True
    # For the lint and --sdm conda: the GIL build runs this env's python.
    conda:
        "../envs/demos.yaml"
    threads: MACHINE_CORES
    resources:
        mem_mb=lambda wc: DEMOS[wc.demo].mem_mb(config["demos"]),
    params:
        python=lambda wc: (
            free_threaded_python(wc) if wc.build_dir else Path(PLOT_PYTHON)
        ),
        demos=json.dumps(dict(config["demos"])),
        start_method=config["processes"]["start_method"],
        # Comma-separated module names; "" when none turned the GIL back on.
        reenabled=lambda wc: (
            ",".join(FREE_THREADED.reenabled_by) if wc.build_dir else ""
        ),
    shell:
        "{params.python:q} -m weatherplot.demos {wildcards.demo:q}"
        " --config {params.demos:q} --output {output:q} --log {log:q}"
        " --start-method {params.start_method:q} --job-threads {threads:q}"
        " --gil-reenabled-by={params.reenabled:q}"
