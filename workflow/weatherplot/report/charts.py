"""The report's charts and the scaling study's, drawn with one style table and one
figure-to-PNG helper (Matplotlib's object-oriented API on the Agg canvas: no pyplot,
no global state, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Mapping

from .metrics import amdahl_speedup, effective_workers

#: One look per method, shared by every chart.
STYLE = {
    "serial": {"color": "0.3", "marker": "s", "label": "serial loop"},
    "pool": {"color": "tab:blue", "marker": "^", "label": "multiprocessing.Pool"},
    "snakemake": {
        "color": "tab:orange",
        "marker": "o",
        "label": "snakemake (jobs forked from the warm plot server)",
    },
    "snakemake_fresh": {
        "color": "tab:red",
        "marker": "v",
        "label": "snakemake (fresh process per job)",
    },
}
#: The parts of a command's wall time (analysis' ``parts``), in stacking order.
PARTS = {
    "startup": ("start-up (interpreter, imports; Snakemake: + DAG build)", "0.65"),
    "work": ("plotting work, per worker", "tab:blue"),
    "per_job": ("per-job cost (job start-ups, scheduling)", "tab:orange"),
    "exit": ("exit tail after the last job", "tab:red"),
}
OVERHEAD_COLOR, WORK_COLOR = "tab:orange", "tab:blue"


def label(method: str) -> str:
    return STYLE.get(method, {}).get("label", method)


def figure(width: float = 7.5, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": "weatherplot"})
    return buffer.getvalue()


def chart_wall(exercise: Mapping) -> bytes:
    """The headline: each command's wall time as one stacked bar of its parts."""
    methods = exercise["methods"]
    names = {
        "serial": "serial loop\n(python)",
        "pool": f"Pool({methods['pool']['workers']})\n(python)",
        "snakemake": f"snakemake\n--cores {methods['snakemake']['workers']}",
    }
    fig = figure(7.5, 3.6)
    ax = fig.add_subplot()
    for y, m in enumerate(methods):
        left = 0.0
        for part, (text, color) in PARTS.items():
            width = methods[m]["parts"][part]
            ax.barh(y, width, left=left, color=color, label=text if y == 0 else None)
            left += width
        v = methods[m]
        ax.text(left, y, f" {v['time']:.2f} s ({v['speedup']:.2f}x)", va="center")
    ax.set_yticks(range(len(methods)), [names[m] for m in methods])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.3 * max(v["time"] for v in methods.values()))
    ax.set_xlabel("wall time of the whole command, timed from outside (s)")
    ax.set_title(
        f"Plotting the same {exercise['n_stations']} stations three ways "
        "(speedup over the serial loop)",
        fontsize=10,
    )
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return to_png(fig)


def demos_figure(demos: Mapping):
    """Grouped bars, measured vs predicted seconds per demo variant (None: no
    variant has both). One panel per demo, each on its own seconds axis: on one axis
    the sleep demo's 20 s left the NumPy bars a tenth of the height."""
    panels = [
        (d, rows)
        for d, demo in demos.items()
        if (
            rows := [
                (v["name"], v["measured"], v["predicted"])
                for v in demo["variants"]
                if v["measured"] is not None and v["predicted"] is not None
            ]
        )
    ]
    if not panels:
        return None
    n_bars = sum(len(rows) for _, rows in panels)
    fig = figure(max(7.5, 0.9 * n_bars + 1.0), 4.2)
    axes = fig.subplots(
        1, len(panels), width_ratios=[len(rows) for _, rows in panels], squeeze=False
    )[0]
    w = 0.4
    bars = [(-w / 2, "measured (median)", "tab:blue"), (w / 2, "predicted", "0.7")]
    for ax, (name, rows) in zip(axes, panels, strict=True):
        xs = range(len(rows))
        for i, (shift, text, color) in enumerate(bars, start=1):
            heights = [r[i] for r in rows]
            ax.bar([x + shift for x in xs], heights, w, label=text, color=color)
        ax.set_xticks(
            list(xs), [r[0] for r in rows], fontsize=8, rotation=30, ha="right"
        )
        ax.set_title(f"{name} demo", fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    axes[0].set_ylabel("seconds (each panel its own scale)", fontsize=8)
    fig.suptitle(
        "Demos: measured vs the lesson's prediction on this machine", fontsize=10
    )
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    return fig


#: The job timeline's label sizes, tried in turn until a station's id fits its bar.
GANTT_FONT_SIZES = (7, 6, 5)


def _fit_label(text, width_px: float, renderer) -> None:
    """Shrink, then shorten (to its end), then drop ``text`` until it is no
    wider than ``width_px``: a label wider than its bar would sit on the next one."""
    full = text.get_text().strip()
    for size in GANTT_FONT_SIZES:
        text.set_fontsize(size)
        if text.get_window_extent(renderer).width <= width_px:
            return
    # Ids of one network share their start (USW000...): keep the end, which differs.
    for keep in range(len(full) - 1, 0, -1):
        text.set_text(" \u2026" + full[-keep:])
        if text.get_window_extent(renderer).width <= width_px:
            return
    text.set_text("")


def gantt_figure(fan: Mapping):
    """One row per process: overhead (start to end of start-up) and work segments,
    each job's station written inside its own bar, from its start."""
    t0 = fan["window"][0]
    rows = list(dict.fromkeys(j["row"] for j in fan["jobs"]))
    fig = figure(8, max(2.5, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot()
    labels = []
    for j in fan["jobs"]:
        y = rows.index(j["row"])
        a = j["job_start"] - t0
        ov_end = j["start"] + j["startup"] - t0
        end = j["end"] - t0
        ax.broken_barh([(a, ov_end - a)], (y - 0.4, 0.8), color=OVERHEAD_COLOR)
        ax.broken_barh([(ov_end, end - ov_end)], (y - 0.4, 0.8), color=WORK_COLOR)
        text = ax.text(
            a, y, f" {j['station']}", va="center", ha="left", color="white", fontsize=7
        )
        text.set_gid(f"station:{j['station']}")
        labels.append((text, a, end, y))
    for e in fan["excluded"]:
        ax.axvspan(e["start"] - t0, e["end"] - t0, color="0.85", zorder=0)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since this run's first plot job started")
    ax.set_title("This run's plot jobs: start-up (orange) and work (blue)")
    # Lay the figure out once, fit every label to its bar's width in pixels, then
    # keep that layout: a second layout at saving would move the bars under them.
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for text, a, end, y in labels:
        x0, x1 = ax.transData.transform([(a, y), (end, y)])[:, 0]
        _fit_label(text, x1 - x0, renderer)
    fig.set_layout_engine("none")
    return fig


def chart_scaling(study: Mapping) -> bytes:
    """Speedup against workers per method, the ideal, each Amdahl fit and the
    spread of the repeats (whole-command wall times)."""
    cpus = (study.get("cpus") or {}).get("usable")
    fig = figure(7.5, 4.5)
    ax = fig.add_subplot()
    top = max([p["workers"] for p in study["points"]] + [cpus or 1])
    ps = list(range(1, top + 1))
    ax.plot(ps, ps, "k--", lw=1, label="ideal (p)")
    if cpus:
        ax.plot(ps, [min(p, cpus) for p in ps], "k:", lw=1, label=f"{cpus} usable CPUs")
    ref = study["reference_serial_time"]
    for method, fit in study["fits"].items():
        style = STYLE.get(method, {})
        rows = [r for r in study["points"] if r["method"] == method and r["speedup"]]
        for r in rows:
            if ref:  # the spread of the repeats, as a speedup range
                ax.plot(
                    [r["workers"]] * 2,
                    [ref / r["max"], ref / r["min"]],
                    color=style.get("color"),
                    lw=3,
                    alpha=0.35,
                )
        f = fit["serial_fraction"]
        text = label(method)
        if f is not None:
            text += f" (Amdahl f = {f:.2f})"
            if 0 <= f < 1:
                curve = [amdahl_speedup(f, effective_workers(p, cpus)) for p in ps]
                ax.plot(ps, curve, color=style.get("color"), lw=1, alpha=0.5)
        ax.plot(
            [r["workers"] for r in rows],
            [r["speedup"] for r in rows],
            style.get("marker", "o"),
            color=style.get("color"),
            ms=8,
            label=text,
        )
    ax.set_xlabel("workers (Pool processes, snakemake --cores)")
    ax.set_ylabel("speedup over the serial loop (whole commands)")
    ax.set_xticks(ps)
    ax.set_ylim(0, top + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(
        f"Plotting {len(study['stations'])} stations: median of "
        f"{study['repeats']} repeat(s), bars = min-max",
        fontsize=10,
    )
    return to_png(fig)


def charts(figures: Mapping) -> dict[str, bytes]:
    """Every chart the figures allow, by key."""
    out = {}
    if figures.get("exercise"):
        out["wall"] = chart_wall(figures["exercise"])
    if (demos := demos_figure(figures["demos"])) is not None:
        out["demos"] = to_png(demos)
    if figures.get("fanout"):
        out["gantt"] = to_png(gantt_figure(figures["fanout"]))
    if figures.get("scaling"):
        out["scaling"] = chart_scaling(figures["scaling"])
    return out


CHART_ALT = {
    "wall": "Wall time of each whole command, split into start-up, work, per-job "
    "cost and exit",
    "demos": "Measured vs predicted time per demo variant",
    "gantt": "This run's plot jobs, one row per process",
    "scaling": "Scaling study: speedup over the serial loop against workers",
}
