# Stations given by id alone: the GHCN-Daily file and NOAA's station metadata are
# downloaded from config["ghcnd_url"] (NCEI's layout) into resources/ghcnd/, once.
# A download rule, not the snakemake-storage-plugin-http: see README, "Adding a
# station". Downloads run on this machine (localrule: cluster nodes may have no
# internet) and each failure stops only the station that needs that file; NOAA's
# station list, for titles only, is optional (rule station_list_metadata).


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


# NOAA's station list (~129,000 lines) parsed once per run into the title metadata
# of the configured stations that need it; each plot job reads only this small file.
# Optional: the job fetches the lists itself (kept in resources/ghcnd/) and always
# succeeds; offline its file says why there is no list, and the plots show the id.
# params.attempt then moves on by one (stations.station_list_attempt), so the next
# run tries again (and replots those stations) until the names are in.
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
