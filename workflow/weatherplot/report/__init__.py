"""The timing report: what parallelism bought, measured against what it should buy.

The report rule reads the timing records the other rules wrote (the exercise's
whole-command timings, :mod:`weatherplot.exercise`; the demos, :mod:`weatherplot.demos`;
the plot jobs', :mod:`weatherplot.timing`; the scaling study's, when present) and writes

- ``timing_report.md``: plain sentences and tables with the numbers,
- ``timing_report.html``: the same, self-contained (charts as base64 PNG data URIs),
- ``timings.json``: every computed figure, for tests and for other tools.

:mod:`.metrics` holds the arithmetic, :mod:`.analysis` (with :mod:`.lesson` and
:mod:`.fanout`) turns records into figures, :mod:`.charts` draws them, and
:mod:`.render` writes the prose of ``templates/`` as Markdown and as HTML.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping

from weatherplot.timing import write_bytes_atomic, write_text_atomic

from .analysis import Inputs, compute, load_inputs

__all__ = ["Inputs", "compute", "load_inputs", "write_report"]


def _jsonable(x):
    if isinstance(x, float) and (math.isinf(x) or math.isnan(x)):
        return None
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def write_report(
    inputs: Inputs,
    markdown_path: str | os.PathLike,
    html_path: str | os.PathLike,
    json_path: str | os.PathLike,
) -> dict:
    """Compute, render and write the three report files, each atomically.

    Everything is rendered in memory first, so a failure leaves no file touched.
    """
    from .charts import charts
    from .render import render_html, render_markdown

    figures = compute(inputs)
    pngs = charts(figures)
    md = render_markdown(figures, pngs)
    page = render_html(figures, pngs)
    data = json.dumps(_jsonable(figures), indent=2, sort_keys=True) + "\n"
    write_text_atomic(json_path, data)
    write_text_atomic(markdown_path, md)
    write_bytes_atomic(html_path, page.encode("utf-8"))
    return figures
