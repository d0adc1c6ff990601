# Build the free-threaded CPython and its venv (logic: weatherplot/ftbuild.py).
from weatherplot.ftbuild import main

main(snakemake)
