# The scaling study (weatherplot/scaling.py). Long, so not part of rule all:
#
#   snakemake --cores 2 scaling
#
# As the exercise, it claims every core and runs here, with this snakemake's
# interpreter, which the nested snakemake needs. The timing report reads
# results/report/scaling.json when it exists.

import sys
from pathlib import Path


rule scaling:
    input:
        # Each file once: a generated 10,000-station config reuses 12 files, and a
        # rule with 10,000 inputs costs ~0.5 s more to build.
        sorted({info["file"] for info in STATIONS.values()}),
        stations=rules.station_table.output[0],
    output:
        json="results/report/scaling.json",
        png=report(
            "results/report/scaling.png",
            caption="../report/scaling.rst",
            category="Timing records",
            subcategory="Scaling study",
            labels={"file": "scaling study"},
        ),
    log:
        "logs/report/scaling.log",
    localrule: True
    conda:
        "../envs/scaling.yaml"
    threads: MACHINE_CORES
    params:
        python=Path(sys.executable),
        repeats=config["scaling"]["repeats"],
        start_method=config["processes"]["start_method"],
        # Paths: the copy's source and the station files, not reasons to rerun.
        workflow_root=WORKFLOW_ROOT,
        data_dir=Path(config["data_dir"]),
    shell:
        "{params.python:q} -m weatherplot scaling"
        " --station-entries {input.stations:q} --data {params.data_dir:q} --cores {threads:q}"
        " --repeats {params.repeats:q} --start-method {params.start_method:q}"
        " --root {params.workflow_root:q} --json {output.json:q}"
        " --png {output.png:q} --log {log:q}"
