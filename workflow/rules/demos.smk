# The threads-vs-processes demos: one rule, wildcards for the demo (the registry
# weatherplot.demos.DEMOS) and the interpreter build (BUILD_DIRS, common.smk). Every
# build runs `python -m weatherplot demo`, whose guarded __main__ the children of
# spawn and forkserver can import again. Interpreters are Path params, which are not
# compared for reruns (the venv may move); start_method goes as set, so each
# interpreter resolves `default` itself and a new setting reruns the demos.
# Honest timing: each job claims every core, runs before the plot fan-out (priority)
# and on this machine (localrule: the figures describe it). mem_mb is the numpy
# demo's peak estimate (--resources mem_mb=N holds it back; the demo itself refuses
# to start, naming demos.array_size, when it exceeds the available memory).


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
            free_threaded_interpreter(wc) if wc.build_dir else Path(PLOT_PYTHON)
        ),
        demos=json.dumps(dict(config["demos"])),
        start_method=config["processes"]["start_method"],
        # Comma-separated module names; "" when none turned the GIL back on.
        reenabled=lambda wc: (
            ",".join(FREE_THREADED.reenabled_by) if wc.build_dir else ""
        ),
    shell:
        "{params.python:q} -m weatherplot demo {wildcards.demo:q}"
        " --config {params.demos:q} --output {output:q} --log {log:q}"
        " --start-method {params.start_method:q} --job-threads {threads:q}"
        " --gil-reenabled-by={params.reenabled:q}"
