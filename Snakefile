# Weather plots, one Snakemake job per station, plus the threads-vs-processes
# lesson's demos and a timing report. Run: snakemake --cores 4
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/demos.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/scaling.smk"


rule all:
    input:
        expand("results/plots/{station}.png", station=STATION_IDS),
        "results/report/timing_report.html",
