# A free-threaded CPython (no GIL) with a venv for the demos and the exercise, built
# from a release tarball (weatherplot/ftbuild.py, docs/free-threading.md). Long (~10
# min on 2 cores), so not in rule all. The output links to the build in
# free_threading.build_dir; `auto` (free_threading.python) then finds its python.


rule free_threaded_python:
    output:
        directory("resources/free-threaded-python"),
    log:
        "logs/free_threaded_python.log",
    localrule: True
    # Only the standard library and this package run here; the compiler, make and
    # the build dependencies are the machine's (see docs/free-threading.md).
    conda:
        "../envs/plot.yaml"
    threads: MACHINE_CORES
    params:
        source=config["free_threading"]["source"],
        sha256=config["free_threading"]["sha256"],
    script:
        "../scripts/free_threaded_python.py"
