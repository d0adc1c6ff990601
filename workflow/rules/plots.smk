# One plot job per station: this is the fan-out that `--cores N` spreads over N
# processes (or, with the SLURM profile, over cluster jobs).


rule plot_station:
    input:
        station_file,
    output:
        png=report(
            "results/plots/{station}.png",
            caption="../report/plot_station.rst",
            category="Station plots",
            labels={"station": "{station}"},
        ),
        timing="results/timings/plots/{station}.json",
    log:
        "logs/plot_station/{station}.log",
    benchmark:
        "benchmarks/plot_station/{station}.tsv"
    conda:
        "../envs/plot.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        station=station_info,
    script:
        "../scripts/plot_station.py"
