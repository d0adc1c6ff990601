"""The two CPython builds side by side: every demo and the exercise on the build
with the GIL and on the free-threaded one (PEP 703), each against its own
prediction, and the figures the report's conclusion quotes.

Reads the GIL build's demo records (``results/timings/demos/``), the free-threaded
build's (``results/timings/free-threaded/demos/``) and the exercise on both builds
(``results/timings/free-threaded/exercise.json``, :mod:`weatherplot.exercise`). A
free-threaded figure is *marked* when the GIL was on after all when it was taken (an
extension without free-threading support turned it back on at import; its
interpreter record names it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping

from .lesson import analyse_demo
from .metrics import amdahl_speedup, effective_workers, ratio, speedup

BUILDS = ("gil", "free-threaded")


#: The points this section makes, each with a demo's figures (``Demo.both_builds``).
POINTS = ("gil_threads", "lost_updates", "library_lock")


def showing(point: str) -> str:
    """The demo whose figures make ``point`` of this section, as the registry
    (``Demo.both_builds``) says: ``gil_threads`` (pure-Python threads), ``lost_updates``
    (a contended counter) or ``library_lock`` (a library's own lock)."""
    from weatherplot.demos import DEMOS

    return next((d.name for d in DEMOS.values() if d.both_builds == point), point)


def _interpreter(record: Mapping | None) -> dict | None:
    return None if record is None else record.get("interpreter")


def gil_was_on(interpreter: Mapping | None) -> bool:
    """A free-threaded figure taken with the GIL on (re-enabled by an extension)."""
    if not interpreter:
        return False
    return bool(interpreter.get("gil_enabled") or interpreter.get("gil_reenabled_by"))


def _by_name(demo: Mapping) -> dict:
    return {v["name"]: v for v in demo["variants"]}


def _pure_python(demos: Mapping[str, Mapping]) -> dict | None:
    """One thread's cost and the threads' speedup over the loop, per build."""
    out = {}
    for build, demo in demos.items():
        by = _by_name(demo)
        loop, threads = by.get("loop"), by.get("threads")
        if not loop or not threads:
            continue
        out[build] = {
            "single": demo["single_call"],
            "threads_speedup": speedup(loop["measured"], threads["measured"]),
            "threads_predicted_speedup": speedup(
                loop["predicted"], threads["predicted"]
            ),
            "processes_speedup": speedup(loop["measured"], by["processes"]["measured"])
            if "processes" in by
            else None,
        }
    if not out:
        return None
    if {"gil", "free-threaded"} <= out.keys():
        out["single_thread_cost"] = ratio(
            out["free-threaded"]["single"], out["gil"]["single"]
        )
    return out


def _contended(demos: Mapping[str, Mapping]) -> dict | None:
    out = {}
    for build, demo in demos.items():
        res = demo["results"]
        times = {v["name"]: v["measured"] for v in demo["variants"]}
        out[build] = {
            "expected": res["expected"],
            **{
                name: {**res[name], "time": times.get(name)}
                for name in (
                    "list_unlocked",
                    "list_locked",
                    "attr_unlocked",
                    "attr_locked",
                )
                if name in res
            },
            "seed": res.get("seed"),
        }
    return out or None


def _numpy(demos: Mapping[str, Mapping]) -> dict | None:
    out = {}
    for build, demo in demos.items():
        by = _by_name(demo)
        if "loop" not in by:
            continue
        out[build] = {
            name: speedup(by["loop"]["measured"], by[name]["measured"])
            for name in ("threads", "threads_generator", "processes")
            if name in by
        }
    return out or None


def _median(runs, key="wall"):
    return statistics.median(r[key] for r in runs) if runs else None


def _exercise(record: Mapping | None, cpus: int) -> dict | None:
    """Per build: each command's median wall time and speedup over the loop, and the
    threads' result against Amdahl's bound from the measured Figure.draw share."""
    if record is None:
        return None
    out = {}
    for build, data in record["builds"].items():
        methods = data["methods"]
        wall = {m: _median(v["runs"]) for m, v in methods.items()}
        inside = {m: _median(v["runs"], "loop_seconds") for m, v in methods.items()}
        workers = methods["threads"]["workers"]
        n = effective_workers(workers, cpus)
        draw = data["draw"]["share"]
        # Amdahl: the serialised share is the draw's (one figure draws at a time),
        # p = 1 - draw the share that threads can run at once.
        parallel = None if draw is None else 1.0 - draw
        bound = None if draw is None else amdahl_speedup(draw, n)
        got = speedup(inside["serial"], inside["threads"])
        out[build] = {
            "interpreter": data["interpreter"],
            "marked": build != "gil" and gil_was_on(data["interpreter"]),
            "wall": wall,
            "inside": inside,
            "speedup": {m: speedup(wall["serial"], wall[m]) for m in wall},
            "workers": workers,
            "effective_workers": n,
            "draw_share": draw,
            "parallel_share": parallel,
            "amdahl_threads": bound,
            "threads_work_speedup": got,
            "threads_vs_amdahl": ratio(got, bound),
            "threads_png_identical": data["threads_png_identical"],
        }
    # As for the exercise: a serial loop that got under 90 % of a CPU shared it.
    loop_share = [
        r["cpu"] / r["wall"]
        for data in record["builds"].values()
        for r in data["methods"]["serial"]["runs"]
        if r.get("cpu") is not None and r["wall"] > 0
    ]
    return {
        "stations": record["stations"],
        "repeats": record["repeats"],
        "loadavg": record["loadavg"],
        "loop_cpu_share": min(loop_share) if loop_share else None,
        "busy": bool(loop_share) and min(loop_share) < 0.9,
        "builds": out,
        "png_identical_across_builds": record.get("png_identical_across_builds"),
    }


def _cell_s(x):
    return "n/a" if x is None else f"{x:.2f} s"


def _cell_x(x):
    return "n/a" if x is None or math.isinf(x) else f"{x:.2f}x"


def _variant_cell(v: Mapping | None, mark: str = "") -> str:
    if v is None:
        return "-"
    text = _cell_s(v["measured"])
    if v.get("predicted") is not None:
        text += f" (predicted {_cell_s(v['predicted'])}, {_cell_x(v['ratio'])})"
    return text + mark


def _count_cell(entry: Mapping | None, expected: int, mark: str = "") -> str:
    if not entry:
        return "-"
    final = entry["final"][-1]
    exact = "exact" if entry["lost_max"] == 0 else f"{entry['lost_max']:,} lost"
    return f"{final:,} of {expected:,}, {exact} ({_cell_s(entry['time'])}){mark}"


def side_by_side(fig: Mapping) -> list[list[str]]:
    """The table: one row per measurement, a column per build (strings)."""
    demos, marks = fig["demos"], fig["marks"]
    rows: list[list[str]] = []

    def add(label: str, cell: Callable[[str], str]) -> None:
        rows.append([label, *(cell(b) for b in BUILDS)])

    def variant(demo: str, name: str) -> Callable[[str], str]:
        def cell(build: str) -> str:
            d = demos.get(demo, {}).get(build)
            return _variant_cell(
                _by_name(d).get(name) if d else None, marks.get((demo, build), "")
            )

        return cell

    gil_threads, lost, lock = (fig["showing"][p] for p in POINTS)
    pp = demos.get(gil_threads, {})
    if pp:
        any_demo = next(iter(pp.values()))
        k = any_demo["calls"]
        add(
            "pure Python, `count_up(n)` once",
            lambda b: (
                _cell_s(pp[b]["single_call"]) + marks.get((gil_threads, b), "")
                if b in pp
                else "-"
            ),
        )
        add(f"... {k} calls in a loop", variant(gil_threads, "loop"))
        add(f"... {k} calls in {k} threads", variant(gil_threads, "threads"))
        methods = ", ".join(sorted({d["start_method"] for d in pp.values()}))
        add(
            f"... {k} calls in {k} processes (start method {methods})",
            variant(gil_threads, "processes"),
        )
    ct = fig[lost] or {}
    if ct:
        first = next(iter(demos[lost].values()))["params"]
        each = f"{first['threads']} threads x {first['increments']:,}, started together"
        for name, text in (
            ("list_unlocked", f"`a[0] += 1`, {each}, no lock"),
            ("list_locked", "... with a `threading.Lock`"),
            ("attr_unlocked", f"`c.x += 1`, {each}, no lock"),
            ("attr_locked", "... with a `threading.Lock`"),
        ):
            add(
                text,
                lambda b, name=name: (
                    _count_cell(
                        ct[b].get(name),
                        ct[b]["expected"],
                        marks.get((lost, b), ""),
                    )
                    if b in ct
                    else "-"
                ),
            )
        add(
            f"the seed's {first['seed_threads']} threads x 1 increment",
            lambda b: (
                str(ct[b]["seed"]["result"]) if b in ct and ct[b]["seed"] else "-"
            ),
        )
    if demos.get(lock):
        add(
            "`np.random.rand(n)` in threads (one global RandomState lock)",
            variant(lock, "threads"),
        )
        add(
            "... a `default_rng()` Generator per thread",
            variant(lock, "threads_generator"),
        )
    ex = fig["exercise"]
    if ex:
        n = len(ex["stations"])
        labels = {
            "serial": f"{n} stations, `plot_station`, serial loop",
            "threads": "... `ThreadPoolExecutor({w})` in one process",
            "pool": "... `multiprocessing.Pool({w})`",
        }
        for method in ("serial", "threads", "pool"):

            def cell(b, method=method):
                e = ex["builds"].get(b)
                if not e:
                    return "-"
                text = _cell_s(e["wall"][method])
                if method != "serial":
                    text += f" ({_cell_x(e['speedup'][method])})"
                return text + ("†" if e["marked"] else "")

            w = next(iter(ex["builds"].values()))["workers"]
            add(labels[method].format(w=w), cell)

        def share(b):
            e = ex["builds"].get(b)
            if not e or e["draw_share"] is None:
                return "-"
            bound, got = e["amdahl_threads"], e["threads_work_speedup"]
            return (
                f"{100 * e['draw_share']:.0f}% in `Figure.draw`: threads at most "
                f"{_cell_x(bound)}, got {_cell_x(got)}"
            )

        add("a plot's share inside `Figure.draw` (one lock for all figures)", share)
    return rows


def free_threading_figures(
    demos_gil: Mapping[str, Mapping],
    demos_ft: Mapping[str, Mapping],
    exercise_builds: Mapping | None,
    cpus: int,
    predictors: Mapping[str, Callable],
) -> dict:
    """Every figure of the report's section on the two builds."""
    from weatherplot.freethreading import HOW_TO_GET_ONE

    available = bool(demos_ft) or exercise_builds is not None
    demos: dict[str, dict] = {}
    marks: dict[tuple[str, str], str] = {}
    for name in dict.fromkeys([*demos_gil, *demos_ft]):
        if name not in predictors:
            continue
        for build, records in (("gil", demos_gil), ("free-threaded", demos_ft)):
            if name in records:
                demos.setdefault(name, {})[build] = {
                    **analyse_demo(records[name], predictors[name], cpus),
                    "interpreter": _interpreter(records[name]),
                }
                if build != "gil" and gil_was_on(_interpreter(records[name])):
                    marks[(name, build)] = "†"
    ex = _exercise(exercise_builds, cpus)
    interpreters = {
        b: next(
            (
                d[b]["interpreter"]
                for d in demos.values()
                if d.get(b, {}).get("interpreter")
            ),
            None,
        )
        for b in BUILDS
    }
    reenabled = sorted(
        {
            module
            for d in demos.values()
            for module in (d.get("free-threaded", {}).get("interpreter") or {}).get(
                "gil_reenabled_by", []
            )
        }
    )
    figures = {
        "available": available,
        "how_to_get_one": HOW_TO_GET_ONE,
        "cpus": cpus,
        "interpreters": interpreters,
        "demos": demos,
        "marks": marks,
        "marked": sorted(
            {name for name, _ in marks}
            | (
                {"exercise"}
                if ex and any(b["marked"] for b in ex["builds"].values())
                else set()
            )
        ),
        "reenabled_by": reenabled,
        # Which demo makes each point, and its figures filed under its name.
        "showing": {p: showing(p) for p in POINTS},
        showing("gil_threads"): _pure_python(demos.get(showing("gil_threads"), {})),
        showing("lost_updates"): _contended(demos.get(showing("lost_updates"), {})),
        showing("library_lock"): _numpy(demos.get(showing("library_lock"), {})),
        "exercise": ex,
    }
    figures["rows"] = side_by_side(figures) if available else []
    # The marks are keyed by tuples for the table; JSON wants strings.
    figures["marks"] = {f"{d}/{b}": m for (d, b), m in marks.items()}
    return figures
