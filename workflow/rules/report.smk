# The timing report (weatherplot.report). scaling.json is read when present but is
# not an input: asking for it would run the long scaling study with every report.


rule timing_report:
    input:
        plots=expand("results/timings/plots/{station}.json", station=STATION_IDS),
        demos=expand("results/timings/demos/{demo}.json", demo=DEMOS),
        exercise="results/timings/exercise.json",
        # The free-threaded build's records, when there is one (demos.smk).
        demos_free_threaded=(
            expand("results/timings/free-threaded/demos/{demo}.json", demo=DEMOS)
            if FREE_THREADED
            else []
        ),
        exercise_builds=(
            "results/timings/free-threaded/exercise.json" if FREE_THREADED else []
        ),
    output:
        md=report(
            "results/report/timing_report.md",
            caption="../report/timing_report.rst",
            category="Timing report",
            # Without a subcategory Snakemake files it under "Other".
            subcategory="The lesson's answers",
            labels={"file": "timing report (Markdown)"},
        ),
        html=report(
            "results/report/timing_report.html",
            caption="../report/timing_report.rst",
            category="Timing report",
            subcategory="The lesson's answers",
            labels={"file": "timing report (HTML)"},
        ),
        json="results/report/timings.json",
        # The charts as PNG files, which the Markdown links (a Git forge shows no
        # embedded chart); a directory, as the scaling chart is there only after
        # the scaling study.
        charts=directory("results/report/timing_report_charts"),
    log:
        "logs/report/timing_report.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        stations=STATION_IDS,
        # Thumbnails' captions: the names the config or data/stations.csv give.
        station_names={s: v["name"] for s, v in STATIONS.items() if v.get("name")},
        # Paths as the rules write them: a module used with `prefix:` prefixes the
        # rules' files, not plain strings here.
        scaling=lambda wildcards, output: os.path.join(
            os.path.dirname(output.json), "scaling.json"
        ),
        # Linked (thumbnails in the HTML), not inputs: the plot records are.
        plots=os.path.dirname(rules.plot_station.output.png),
        snakemake_version=snakemake.__version__,
        quick_run=config["quick_run"],
    script:
        "../scripts/report.py"
