# A free-threaded CPython (no GIL) for the demos and the exercise, built from a
# release tarball with ./configure --disable-gil, with a venv of NumPy, Matplotlib,
# pandas and Jinja2 from PyPI's wheels. Long (~10 min on 2 cores), so not part of
# rule all:
#
#   snakemake --cores 2 free_threaded_python
#
# The output is a symlink to the build in free_threading.build_dir (a finished
# build holds its absolute paths, so it is built in place and linked when complete;
# weatherplot/ftbuild.py). `auto` (free_threading.python) then finds its python.


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
