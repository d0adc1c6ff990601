# Weather plots, one Snakemake job per station, plus the threads-vs-processes
# lesson's demos and a timing report. Run: snakemake --cores 4
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))  # weatherplot package
from weatherplot.preflight import schema_error_line


configfile: "config/config.yaml"


# Snakemake's validation, its error said in one line instead of the schema dump.
try:
    validate(config, "workflow/schemas/config.schema.yaml", set_default=True)
except WorkflowError as error:
    from jsonschema.exceptions import ValidationError

    if not isinstance(error.__context__, ValidationError):
        raise
    raise WorkflowError(schema_error_line(error.__context__)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/demos.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/scaling.smk"


rule all:
    input:
        expand("results/plots/{station}.png", station=STATION_IDS),
        "results/report/timing_report.html",
