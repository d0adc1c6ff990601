# Stations given by id alone: the GHCN-Daily file and NOAA's station metadata are
# downloaded from config["ghcnd_url"] (NCEI's layout) into resources/ghcnd/, once.
# A download rule, not the snakemake-storage-plugin-http: see README, "Adding a
# station". Downloads run on this machine (localrule: cluster nodes may have no
# internet) and each failure stops only the stations that need that file.


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


rule download_ghcnd_list:
    output:
        "resources/ghcnd/{listing}.txt",
    log:
        "logs/download/{listing}.log",
    wildcard_constraints:
        listing="ghcnd-stations|ghcnd-countries",
    localrule: True
    conda:
        "../envs/plot.yaml"
    params:
        url=lambda wildcards: f"{GHCND_URL}/{wildcards.listing}.txt",
    script:
        "../scripts/download.py"


# NOAA's station list (~129,000 lines) parsed once per run into the title metadata
# of the configured stations that need it; each plot job reads only this small file.
rule station_list_metadata:
    input:
        stations="resources/ghcnd/ghcnd-stations.txt",
        countries="resources/ghcnd/ghcnd-countries.txt",
    output:
        STATION_LIST_METADATA,
    log:
        "logs/download/station-metadata.log",
    localrule: True
    conda:
        "../envs/plot.yaml"
    params:
        ids=station_list_ids(STATIONS),
    script:
        "../scripts/station_list_metadata.py"
