# Build the free-threaded CPython and its venv (logic: weatherplot/ftbuild.py, an
# optional part: without it this target says so and the rest of the workflow runs).
import sys

try:
    from weatherplot.ftbuild import main
except ModuleNotFoundError as missing:
    if missing.name != "weatherplot.ftbuild":
        raise
    sys.exit(
        "free_threaded_python: not available in this copy of the workflow (it has "
        "no weatherplot/ftbuild.py, the optional CPython build): set "
        "free_threading.python in the config to a free-threaded CPython such as "
        "python3.14t instead"
    )

main(snakemake)
