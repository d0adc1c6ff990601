"""Snakemake script of rule station_table: the resolved stations as one JSON file,
for the commands that time them all (rules exercise and scaling)."""

from weatherplot.atomicwrite import write_json_atomic

write_json_atomic(snakemake.output[0], snakemake.params.stations)
