"""The timing report: the timing records -> ``timing_report.md``, a self-contained
``timing_report.html``, the charts as PNG files and every figure in ``timings.json``.

:mod:`.metrics` holds the arithmetic, :mod:`.analysis` (with :mod:`.lesson` and
:mod:`.fanout`) the figures, :mod:`.charts` draws them and :mod:`.render` writes the
prose of ``templates/`` as Markdown and as HTML.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from weatherplot.atomicwrite import write_bytes_atomic, write_text_atomic

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


def _href(target, start) -> str | None:
    """``target`` (if any) relative to the directory ``start``, with forward slashes."""
    return None if target is None else Path(os.path.relpath(target, start)).as_posix()


def write_report(
    inputs: Inputs,
    markdown_path: str | os.PathLike,
    html_path: str | os.PathLike,
    json_path: str | os.PathLike,
    charts_dir: str | os.PathLike | None = None,
    plots_dir: str | os.PathLike | None = None,
) -> dict:
    """Compute, render and write the report files, each atomically; everything is
    rendered in memory first, so a failure leaves no file touched. ``charts_dir``: the
    charts as ``<key>.png``, linked from the Markdown; ``plots_dir``: the station
    plots, linked (thumbnails in the HTML)."""
    from .charts import charts
    from .render import render_html, render_markdown

    figures = compute(inputs)
    pngs = charts(figures)
    md_dir, html_dir = Path(markdown_path).parent, Path(html_path).parent
    md_links = {"charts": _href(charts_dir, md_dir), "plots": _href(plots_dir, md_dir)}
    md = render_markdown(figures, pngs, md_links)
    page = render_html(figures, pngs, {"plots": _href(plots_dir, html_dir)})
    data = json.dumps(_jsonable(figures), indent=2, sort_keys=True) + "\n"
    if charts_dir is not None:
        Path(charts_dir).mkdir(parents=True, exist_ok=True)
        for key, png in pngs.items():
            write_bytes_atomic(Path(charts_dir) / f"{key}.png", png)
    write_text_atomic(json_path, data)
    write_text_atomic(markdown_path, md)
    write_bytes_atomic(html_path, page.encode("utf-8"))
    return figures
