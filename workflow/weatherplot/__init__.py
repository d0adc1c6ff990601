"""Weather-station plots and the threads-vs-processes lesson, as an importable package.

The Snakemake scripts in ``workflow/scripts`` only adapt the ``snakemake`` object to
the functions here. Submodules import their heavy dependencies (pandas, matplotlib)
themselves, so importing this package is cheap.
"""

__version__ = "0.1.0"
