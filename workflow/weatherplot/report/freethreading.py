"""The report's section on the two CPython builds: every demo and the exercise on the
GIL build and on the free-threaded one (PEP 703), each against its own prediction. A
free-threaded figure is *marked* when an extension turned the GIL back on at import
(its interpreter record names it).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping

from .lesson import analyse_record, by_name
from .metrics import amdahl_speedup, effective_workers, ratio, speedup

BUILDS = ("gil", "free-threaded")
HOW_TO_GET_ONE = (
    "No free-threaded Python (no GIL) found, so the demos ran on the GIL build only. "
    "To compare both: `uv python install 3.14t`, the python.org installer's "
    "free-threaded option, conda-forge `python-freethreading`, Fedora "
    "`python3.14-freethreading`, deadsnakes `python3.14-nogil`, or "
    "`snakemake --cores 2 free_threaded_python`; then set free_threading.python "
    "(config/config.yaml) or leave it `auto`."
)


def gil_was_on(interpreter: Mapping | None) -> bool:
    """A free-threaded figure taken with the GIL on (re-enabled by an extension)."""
    if not interpreter:
        return False
    return bool(interpreter.get("gil_enabled") or interpreter.get("gil_reenabled_by"))


def _pure_python(demos: Mapping[str, Mapping]) -> dict | None:
    """One thread's cost and the threads' speedup over the loop, per build."""
    out = {}
    for build, demo in demos.items():
        by = by_name(demo)
        loop, threads = by.get("loop"), by.get("threads")
        if not loop or not threads:
            continue
        out[build] = {
            "single": demo["single_call"],
            "threads_speedup": threads["speedup_vs_loop"],
            "threads_predicted_speedup": speedup(
                loop["predicted"], threads["predicted"]
            ),
            "processes_speedup": by.get("processes", {}).get("speedup_vs_loop"),
        }
    if not out:
        return None
    if {"gil", "free-threaded"} <= out.keys():
        out["single_thread_cost"] = ratio(
            out["free-threaded"]["single"], out["gil"]["single"]
        )
    return out


#: The contended demo's counters, each without and with a lock.
COUNTERS = ("list_unlocked", "list_locked", "attr_unlocked", "attr_locked")


def _contended(demos: Mapping[str, Mapping]) -> dict | None:
    out = {}
    for build, demo in demos.items():
        res, by = demo["results"], by_name(demo)
        out[build] = {
            "expected": res["expected"],
            **{
                name: {
                    **res[name],
                    "time": by[name]["measured"] if name in by else None,
                }
                for name in COUNTERS
                if name in res
            },
            "seed": res.get("seed"),
        }
    return out or None


def _numpy(demos: Mapping[str, Mapping]) -> dict | None:
    out = {}
    for build, demo in demos.items():
        by = by_name(demo)
        if "loop" in by:
            out[build] = {
                name: by[name]["speedup_vs_loop"]
                for name in ("threads", "threads_generator", "processes")
                if name in by
            }
    return out or None


#: The points this section makes, each with a demo's figures (``Demo.both_builds``),
#: and what it computes from them.
POINTS = {
    "gil_threads": _pure_python,
    "lost_updates": _contended,
    "library_lock": _numpy,
}


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


def free_threading_figures(
    demos_gil: Mapping[str, Mapping],
    demos_ft: Mapping[str, Mapping],
    exercise_builds: Mapping | None,
    cpus: int,
) -> dict:
    """Every figure of the report's section on the two builds."""
    from weatherplot.demos import DEMOS

    demos: dict[str, dict] = {}
    reenabled: set[str] = set()
    for build, records in zip(BUILDS, (demos_gil, demos_ft), strict=True):
        for name, record in records.items():
            if name not in DEMOS:
                continue
            interpreter = record.get("interpreter")
            demos.setdefault(name, {})[build] = {
                **analyse_record(record, cpus),
                "interpreter": interpreter,
                "marked": build != "gil" and gil_was_on(interpreter),
            }
            if build != "gil":
                reenabled.update((interpreter or {}).get("gil_reenabled_by", []))
    ex = _exercise(exercise_builds, cpus)
    # Each build's interpreter as its first demo (in the rules' order) recorded it.
    interpreters = dict.fromkeys(BUILDS)
    for figures in demos.values():
        for b, fig in figures.items():
            if fig["interpreter"] and not interpreters[b]:
                interpreters[b] = fig["interpreter"]
    # Which demo makes each point (its registry entry's both_builds; the point's own
    # name if none does), and the point's figures filed under that demo's name.
    shown = {
        p: next((d.name for d in DEMOS.values() if d.both_builds == p), p)
        for p in POINTS
    }
    marked = {name for name, d in demos.items() if any(f["marked"] for f in d.values())}
    if ex and any(b["marked"] for b in ex["builds"].values()):
        marked.add("exercise")
    return {
        "available": bool(demos_ft) or exercise_builds is not None,
        "how_to_get_one": HOW_TO_GET_ONE,
        "cpus": cpus,
        "interpreters": interpreters,
        "demos": demos,
        "marked": sorted(marked),
        "reenabled_by": sorted(reenabled),
        "showing": shown,
        **{shown[p]: f(demos.get(shown[p], {})) for p, f in POINTS.items()},
        "exercise": ex,
    }
