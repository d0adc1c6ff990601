"""`python -m weatherplot.plotserver SOCKET`: the server (hooks.PlotServer runs it)."""

from .server import main

# Guarded: importing the module (pkgutil.walk_packages in the tests) runs nothing.
if __name__ == "__main__":
    main()
