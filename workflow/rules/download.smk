# Stations given by id alone, from config["ghcnd_url"] (NCEI's layout) into
# resources/ghcnd/, once; a rule, not Snakemake's HTTP storage plugin:
# docs/downloads.md. Local rules: cluster nodes may have no internet.


rule download_ghcnd_station:
    output:
        "resources/ghcnd/all/{station}.dly",
    log:
        "logs/download/{station}.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    params:
        url=lambda wildcards: STATIONS[wildcards.station]["download_url"],
    script:
        "../scripts/download.py"


# NOAA's station list (~129,000 lines) parsed once per run into the titles of the
# stations that need it. Optional: offline the job still succeeds (its file says why,
# the plots show the id), and params.attempt makes the next run try again.
rule station_list_metadata:
    output:
        STATION_LIST_METADATA,
    log:
        "logs/download/station-metadata.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    params:
        ids=station_list_ids(STATIONS),
        ghcnd_url=GHCND_URL,
        attempt=station_list_attempt(STATION_LIST_METADATA),
    script:
        "../scripts/station_list_metadata.py"
