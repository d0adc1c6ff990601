# Weather plots, one Snakemake job per station, plus the threads-vs-processes
# lesson's demos and a timing report. Run: snakemake --cores 4
import sys

from snakemake.utils import min_version

min_version("9.0")


# Snakemake's message for a YAML mistake in the config names neither file nor line.
include: "workflow/rules/config_syntax.smk"


configfile: "config/config.yaml"


# common.smk first: the package's import path, then the config's validation (with
# defaults), then the stations; every rules file after it relies on them.
include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/demos.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/freethreading.smk"


# Run hooks: the only onstart/onsuccess/onerror of this workflow (a second one in any
# included file would silently replace these). They start and stop the warm plot
# server (workflow/rules/plots.smk). Not for cluster jobs (another machine) nor a
# software deployment method (the jobs' own environment must run the plot).
# Snakemake ignores a module's hooks: used as a module, the plot jobs start fresh
# processes unless the using Snakefile calls these (README, "Using the workflow in
# your own project").


onstart:
    PLOT_SERVER.start(
        "logs/plot_server.log",
        enabled=config["plot_server"]
        and workflow.local_exec
        and not workflow.deployment_settings.deployment_method,
        cores=MACHINE_CORES,
    )


onsuccess:
    PLOT_SERVER.stop()


onerror:
    PLOT_SERVER.stop()
    # Say which stations failed and why there is then no timing report (only when
    # the run was to plot: not for a failed `free_threaded_python`, say).
    from weatherplot.announce import missing_plots_note

    plotting = any(job.rule.name == "plot_station" for job in workflow.dag.jobs)
    if plotting and (note := missing_plots_note(STATION_IDS)):
        print(note, file=sys.stderr)


rule all:
    input:
        expand("results/plots/{station}.png", station=STATION_IDS),
        "results/report/timing_report.html",
