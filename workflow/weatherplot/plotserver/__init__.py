"""The warm plot server: an optional part. Without this subpackage the workflow runs
the same, each plot job in a fresh Python process (tests/test_optional_parts.py); the
core and the measure layer never import it (tests/test_layers.py).

:mod:`.server` (its loop and design), :mod:`.worker` (request checks, the forked
workers), :mod:`.client` (the plot job's side: every plot job imports it, so this file
imports nothing) and :mod:`.hooks` (Snakemake's run hooks start and stop the server).
"""
