"""`python -m weatherplot.plotserver SOCKET`: the server (hooks.PlotServer runs it)."""

from .server import main

main()
