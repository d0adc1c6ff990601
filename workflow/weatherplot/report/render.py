"""The figures -> Markdown and HTML: ``templates/report.j2`` holds the prose once and
is rendered with the building blocks of ``markdown.j2`` and of ``html.j2``; the
filters here format its figures the same for both."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .charts import CHART_ALT, label
from .lesson import MISS_FACTOR, by_name

TEMPLATES = Path(__file__).with_name("templates")


def fmt_s(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f} s"


def fmt_x(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "unbounded" if math.isinf(x) else f"{x:.2f}x"


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _spread(row: Mapping) -> str:
    if row.get("min") is None or row.get("max") is None:
        return ""
    return f"{row['min']:.2f}-{row['max']:.2f}"


def _f3(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def collapse(text: str) -> str:
    """A paragraph's template lines as one line (Markup stays Markup)."""
    joined = " ".join(str(text).split())
    return Markup(joined) if isinstance(text, Markup) else joined


def code_spans(text) -> Markup:
    """HTML-escape (unless already Markup) and turn `code` spans into <code>."""
    parts = str(escape(text)).split("`")
    return Markup(
        "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    )


#: What Markdown (GitHub's) could read as markup in a text from the records or the
#: config (HTML, links, emphasis, code, headings, table cells, bare URLs and e-mail
#: addresses), to be backslash-escaped. A ``_`` inside a word (``shared_list``) is no
#: emphasis: left as it is, for readers of the raw file.
_MD_MARKUP = re.compile(
    r"([\\`*\[\]<>&|~#@]|(?<![^\W_])_|_(?![^\W_])|:(?=//)|(?<=\bwww)\.)", re.I
)


def md_text(x) -> str:
    """A value from the records as Markdown text that says what it holds and nothing
    more (numbers, and lists of numbers such as a demo's results, as they are)."""
    if _numbers(x):
        return str(x)
    return _MD_MARKUP.sub(r"\\\1", re.sub(r"\s+", " ", str(x)))


def _numbers(x) -> bool:
    if isinstance(x, list | tuple):
        return all(_numbers(v) for v in x)
    return x is None or isinstance(x, int | float)


def md_code(x) -> str:
    """A value from the records as one Markdown code span: fenced by more backticks
    than any run inside it, so none of it can close the span."""
    text = re.sub(r"\s+", " ", str(x)).strip()
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_cell(x) -> str:
    """A table cell: its `code` spans kept as code, the rest escaped (md_text); a
    ``|`` escaped everywhere, as GitHub's tables need even inside code."""
    parts = str(x).split("`")
    return "".join(
        md_code(p).replace("|", "\\|") if i % 2 else md_text(p)
        for i, p in enumerate(parts)
    )


def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    env.globals["command_words"] = command_words
    env.filters.update(
        s=fmt_s,
        x=fmt_x,
        pct=fmt_pct,
        collapse=collapse,
        code=code_spans,
        cell=_md_cell,
        # A value from the records, in prose or in a code span (html.j2 writes
        # it as it is: autoescape makes it safe there).
        md=md_text if not html else str,
        md_code=md_code if not html else (lambda x: f"`{x}`"),
        miss=miss_note,
        spread=_spread,
        variant=lambda demo, name: by_name(demo).get(name),
        f3=_f3,
        label=label,
        interpreter=_interpreter,
        when=_when,
        start_methods=_start_method,
        b64=lambda data: base64.b64encode(data).decode("ascii"),
    )
    return env


#: What each command of the exercise is, and what its wall time includes (the
#: records name the method and its workers; the words are the report's).
COMMANDS = {
    "serial": "python: for station in stations: plot(station)",
    "pool": "python: multiprocessing.Pool({workers}).map(plot, stations)",
    "snakemake": "snakemake --cores {workers} --until plot_station",
}
INCLUDES = {
    "serial": "interpreter start, imports once, the loop, exit",
    "pool": "interpreter start, imports once, the Pool's start, the map, exit",
    "snakemake": (
        "Snakemake's start-up and DAG build, every plot job (its process, "
        "hand-over or imports, plotting), Snakemake's handling, exit"
    ),
}


def command_words(
    method: str, workers: int, start_method: str | None = None
) -> tuple[str, str]:
    """The exercise command ``method`` with ``workers``, and what its time includes;
    a Pool not started by fork has its workers import NumPy and Matplotlib."""
    includes = INCLUDES[method]
    if method == "pool" and start_method not in (None, "fork"):
        includes = includes.replace(
            "the Pool's start",
            f"the Pool's start ({start_method}: every worker imports NumPy and "
            "Matplotlib itself)",
        )
    return COMMANDS[method].format(workers=workers), includes


def miss_note(v: Mapping) -> str:
    """The answers table's last cell: a big miss flagged, with its measured reason."""
    m = v.get("miss")
    if not m:
        return ""
    how = "slower" if m["slower"] else "faster"
    reason = m["reason"] or "these measurements give no reason; rerun to check"
    return f"BIG MISS, {m['factor']:.2f}x {how} than predicted: {reason}"


def _interpreter(env: Mapping) -> str:
    gil = (
        "free-threaded build, GIL " + ("enabled" if env["gil_enabled"] else "disabled")
        if env["free_threaded_build"]
        else "standard build with the GIL"
    )
    return f"{env['python']} ({env['implementation']}, {gil})"


def _when(run: Mapping) -> str:
    """When the timings were taken: their first start to their last end."""
    if run["timed_from"] is None:
        return "no timing records yet"
    if run["timed_from"][:10] == run["timed_to"][:10]:
        return f"{run['timed_from'][:-4]} to {run['timed_to'][11:]}"
    return f"{run['timed_from']} to {run['timed_to']}"


def _start_method(run: Mapping) -> str:
    """How the demos started processes, against their interpreter's default."""
    if not run["start_methods_used"]:
        return "no demo records"
    used = ", ".join(run["start_methods_used"])
    defaults = run["start_method_defaults"]
    if not defaults:
        return f"{used} (processes.start_method)"
    if defaults == run["start_methods_used"]:
        return f"{used}, this Python's default (processes.start_method)"
    return (
        f"{used} (processes.start_method; this Python's default: {', '.join(defaults)})"
    )


#: Thumbnails shown of the station plots; further stations are counted, not drawn
#: (a 10,000-station run would otherwise load 10,000 images).
MAX_THUMBNAILS = 60


def _context(
    figures: Mapping, pngs: Mapping[str, bytes], fmt: str, links: Mapping | None
) -> dict:
    links = links or {}
    stations = figures.get("stations") or (figures.get("fanout") or {}).get(
        "stations_covered", []
    )
    names = figures.get("station_names") or {}
    return {
        "figures": figures,
        "pngs": pngs,
        "alt": CHART_ALT,
        "fmt": fmt,
        "miss_factor": MISS_FACTOR,
        # Relative hrefs: the charts' directory (Markdown) and the station plots'.
        "charts_href": links.get("charts"),
        "plots_href": links.get("plots"),
        "stations": [{"id": s, "name": names.get(s)} for s in stations],
        "max_thumbnails": MAX_THUMBNAILS,
    }


def slug(text: str, used: dict[str, int]) -> str:
    """A heading's anchor as GitHub makes it for a Markdown file (a repeat gets
    ``-1``, ``-2``, ...: ``used`` counts them); the HTML page's ids are the same."""
    base = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    used[base] = used.get(base, 0) + 1
    return base if used[base] == 1 else f"{base}-{used[base] - 1}"


def _render(
    fmt: str, figures: Mapping, pngs: Mapping[str, bytes], links: Mapping | None
) -> str:
    """report.j2 with the building blocks of ``fmt`` (markdown.j2 or html.j2), the
    contents (links to the ## and ### headings) before the first ##."""
    html = fmt == "html.j2"
    env = _environment(html)
    headings: list[tuple[int, str, str]] = []
    used: dict[str, int] = {}

    def anchor(level: int, text: str) -> str:
        headings.append((level, slug(text, used), text))
        return headings[-1][1]

    text = env.get_template("report.j2").render(
        _context(figures, pngs, fmt, links), anchor=anchor
    )
    if html:
        text = "\n".join(line for line in text.splitlines() if line.strip())
        first = text.index("<h2 ")
    else:
        # One blank line between blocks, whatever the template's conditionals left.
        blocks = [b.strip("\n") for b in text.split("\n\n") if b.strip()]
        text = "\n\n".join(blocks) + "\n"
        first = re.search(r"^## ", text, re.M).start()
    contents = str(env.get_template(fmt).module.contents(headings))
    return text[:first] + contents + text[first:]


def render_markdown(
    figures: Mapping, pngs: Mapping[str, bytes], links: Mapping | None = None
) -> str:
    """The report as Markdown; ``links``: the directories of the charts (as
    ``<key>.png``) and of the station plots, relative to the Markdown file."""
    return _render("markdown.j2", figures, pngs, links)


def render_html(
    figures: Mapping, pngs: Mapping[str, bytes], links: Mapping | None = None
) -> str:
    """The report as one HTML page, charts embedded; ``links["plots"]``: the station
    plots' directory, relative to the page."""
    body = Markup(_render("html.j2", figures, pngs, links))
    return _environment(html=True).get_template("page.html.j2").render(body=body)
