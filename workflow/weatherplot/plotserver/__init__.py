"""The warm plot server, an optional part: without this subpackage each plot job runs
in a fresh Python process (tests/test_optional_parts.py); the core and the measure
layer never import it (tests/test_layers.py). How it works: docs/plot-server.md.
"""
