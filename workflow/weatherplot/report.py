"""The timing report: what parallelism bought, measured against what it should buy.

The report rule reads the timing records the other rules wrote (see
:mod:`weatherplot.timing` and the record formats there and in the demos/baselines
modules) and turns them into three files:

- ``timing_report.md``: plain sentences and tables with the numbers,
- ``timing_report.html``: the same, self-contained (charts as base64 PNG data URIs),
- ``timings.json``: every computed figure, for tests and for other tools.

The arithmetic lives in small pure functions (speedup, efficiency, the lesson's
predictions, Amdahl's law and the Karp-Flatt metric, the fan-out statistics) so it
can be unit-tested on hand-written records without running anything. Rendering
builds one list of blocks (headings, paragraphs, tables, charts) that is written
both as Markdown and as HTML, so the two never disagree.

Matplotlib is imported lazily and only through its object-oriented API with the Agg
canvas (no pyplot, no global state, no display needed).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import platform
import statistics
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from weatherplot.cpus import usable_cpus
from weatherplot.timing import write_bytes_atomic, write_text_atomic

#: The demos that sleep: they need no CPU, so threads overlap them as well as
#: processes do.
SLEEPING_DEMOS = frozenset({"sleep", "pool"})
#: The demo whose work is CPU-bound NumPy.
CPU_DEMOS = frozenset({"numpy"})
#: Phases of a plot job that are the station's plotting work (the rest is overhead).
WORK_PHASES = ("read", "plot", "save")
# Before the work: a fresh process imports NumPy and Matplotlib ("imports"); a worker
# forked from the warm plot server only takes the job over ("handoff").
STARTUP_PHASES = ("imports", "handoff")


# ---------------------------------------------------------------------------
# Small arithmetic
# ---------------------------------------------------------------------------


def speedup(reference: float | None, measured: float | None) -> float | None:
    """``reference / measured``: how many times faster ``measured`` is.

    ``None`` when either time is missing or ``measured`` is not positive.
    """
    if reference is None or measured is None or measured <= 0:
        return None
    return reference / measured


def efficiency(
    speedup_value: float | None, workers: int | float | None
) -> float | None:
    """Parallel efficiency ``S / p``: 1.0 means every worker was fully useful."""
    if speedup_value is None or not workers or workers <= 0:
        return None
    return speedup_value / workers


def ratio(measured: float | None, predicted: float | None) -> float | None:
    """``measured / predicted``: above 1 means slower than the lesson predicts."""
    if measured is None or predicted is None or predicted <= 0:
        return None
    return measured / predicted


def max_expected_speedup(*limits: int | float | None) -> float | None:
    """The hardware/problem limit: the smallest of workers, tasks and usable CPUs.

    ``None`` limits (unknown) are ignored; ``None`` if none is known.
    """
    known = [x for x in limits if x is not None and x > 0]
    return float(min(known)) if known else None


def effective_workers(workers: int | float, cpus: int | float | None) -> float:
    """Workers that can actually run at once: ``min(workers, usable CPUs)``."""
    if cpus is None or cpus <= 0:
        return float(workers)
    return float(min(workers, cpus))


def amdahl_speedup(serial_fraction: float, p: float) -> float:
    """Amdahl's law: ``S(p) = 1 / (f + (1 - f) / p)``."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / p)


def amdahl_limit(serial_fraction: float | None) -> float | None:
    """Amdahl's bound for infinitely many workers: ``1 / f`` (``inf`` when f <= 0)."""
    if serial_fraction is None:
        return None
    # A fitted f within rounding of zero (a perfect speedup) means no bound.
    return math.inf if serial_fraction <= 1e-9 else 1.0 / serial_fraction


def karp_flatt(measured_speedup: float | None, p: float) -> float | None:
    """The Karp-Flatt metric: the serial fraction implied by speedup ``S`` at ``p``.

    ``f = (p / S - 1) / (p - 1)``, Amdahl's law solved for ``f``. Undefined for a
    single worker (``None``).
    """
    if measured_speedup is None or measured_speedup <= 0 or p <= 1:
        return None
    return (p / measured_speedup - 1.0) / (p - 1.0)


def fit_serial_fraction(points: Iterable[tuple[float, float]]) -> float | None:
    """Least-squares serial fraction ``f`` from ``(p, S)`` points.

    Amdahl's law is linear in ``f`` when written for ``1/S``::

        1/S - 1/p = f * (1 - 1/p)

    so ``f = sum(x*y) / sum(x*x)`` with ``x = 1 - 1/p`` and ``y = 1/S - 1/p``. With a
    single point this is exactly the Karp-Flatt metric. Points with ``p <= 1`` carry
    no information and are ignored; ``None`` if nothing is left.
    """
    sxy = sxx = 0.0
    for p, s in points:
        if p is None or s is None or p <= 1 or s <= 0:
            continue
        x = 1.0 - 1.0 / p
        y = 1.0 / s - 1.0 / p
        sxy += x * y
        sxx += x * x
    if sxx == 0:
        return None
    return sxy / sxx


# ---------------------------------------------------------------------------
# Demos: the lesson's predictions on this machine
# ---------------------------------------------------------------------------


def _median(entry: Mapping | None) -> float | None:
    if not entry:
        return None
    if entry.get("median") is not None:
        return float(entry["median"])
    times = entry.get("times") or []
    return float(statistics.median(times)) if times else None


def demo_single_call(record: Mapping) -> float | None:
    """The single-call figure ``s`` of a demo.

    The measured single call when the record has one; for the sleeping demos the
    configured sleep ``t`` (sleeping takes exactly t, that is the point).
    """
    s = _median(record.get("single_call"))
    if s is not None:
        return s
    params = record.get("params") or {}
    for key in ("t", "sleep_seconds", "seconds", "sleep"):
        if params.get(key) is not None:
            return float(params[key])
    return None


def demo_calls(record: Mapping) -> int | None:
    """How many calls every variant makes (``k``): the lesson's workers."""
    params = record.get("params") or {}
    for key in ("calls", "workers"):
        if params.get(key) is not None:
            return int(params[key])
    workers = [v.get("workers") for v in record.get("variants", []) if v.get("workers")]
    return int(max(workers)) if workers else None


def predict_variant(
    demo: str,
    variant: Mapping,
    *,
    single_call: float | None,
    calls: int | None,
    cpus: int | None,
    process_start_cost: float = 0.0,
    items: int | None = None,
) -> tuple[float | None, str]:
    """The time the lesson's reasoning predicts for one variant, and why.

    ``single_call`` is ``s`` (one call, or the sleep ``t``), ``calls`` is ``k``,
    ``cpus`` is ``c`` (usable CPUs), ``items`` is ``m`` for the pool demo.

    - loop: ``k*s`` (one after the other);
    - sleeping threads/processes: ``s`` (sleep needs no CPU), processes add their
      start cost;
    - ``np.random.rand`` in threads: ``k*s`` (every call holds the one global
      RandomState's lock for the whole call, so the threads take turns);
    - per-thread Generators: ``ceil(k/c)*s_gen`` (they release the GIL);
    - CPU-bound processes: ``ceil(k/c)*s`` (+ start cost);
    - pool of ``k`` on ``m`` items that sleep ``t``: ``ceil(m/k)*t`` (+ start cost).

    Returns ``(None, reason)`` when the lesson makes no timing prediction (the
    shared-list demo is about results, not time) or a figure is missing.
    """
    name = str(variant.get("name", ""))
    kind = str(variant.get("kind", ""))
    k = calls or variant.get("workers")
    c = cpus or None
    s = single_call
    if demo not in SLEEPING_DEMOS and demo not in CPU_DEMOS:
        return None, "no timing prediction (this demo is about results)"
    if s is None or not k:
        return None, "single-call figure or worker count missing"
    if demo == "pool":
        m = items if items is not None else k
        if kind == "serial" or name in {"loop", "serial"}:
            return m * s, f"loop of m={m} sleeps: m*t"
        workers = int(variant.get("workers") or k)
        waves = math.ceil(m / workers)
        extra = (
            process_start_cost if kind in {"processes", "pool"} or "pool" in name else 0
        )
        return waves * s + extra, (
            f"pool of {workers} on m={m} items: ceil(m/k)*t = {waves}*t"
            + (" + process start" if extra else "")
        )
    if kind == "serial" or name == "loop":
        return k * s, f"k={k} calls one after the other: k*s"
    if demo in SLEEPING_DEMOS:
        if kind == "processes":
            if process_start_cost:
                return s + process_start_cost, (
                    "sleep needs no CPU: s + process start "
                    f"({process_start_cost:.2f} s)"
                )
            return s, "sleep needs no CPU: s (process start cost not recorded)"
        return s, "sleep needs no CPU and releases the GIL: s"
    # CPU-bound NumPy
    waves = math.ceil(k / c) if c else 1
    if kind == "threads" and ("generator" in name or variant.get("single_call_median")):
        s_gen = variant.get("single_call_median")
        s_gen = float(s_gen) if s_gen is not None else s
        return (
            waves * s_gen,
            f"per-thread Generators release the GIL: ceil(k/c)*s_gen = {waves}*s_gen",
        )
    if kind == "threads":
        return k * s, "threads share the global generator's lock: k*s"
    if kind == "processes":
        return waves * s + process_start_cost, (
            f"one process per call on c={c} CPUs: ceil(k/c)*s = {waves}*s"
            + (" + process start" if process_start_cost else "")
        )
    return None, f"unknown variant kind {kind!r}"


def process_start_cost_of(record: Mapping) -> float:
    """A demo's measured cost of starting a worker process, when it recorded one."""
    for where in (record, record.get("results") or {}, record.get("params") or {}):
        value = where.get("process_start_cost")
        if value is not None:
            return float(value)
    return 0.0


def analyse_demo(record: Mapping, cpus: int | None = None) -> dict:
    """Measured vs predicted for every variant of one demo record."""
    demo = str(record.get("name", ""))
    if cpus is None:
        cpus = (record.get("cpus") or {}).get("usable")
    s = demo_single_call(record)
    k = demo_calls(record)
    results = record.get("results") or {}
    items = len(results["inputs"]) if isinstance(results.get("inputs"), list) else None
    start_cost = process_start_cost_of(record)
    rows = []
    for variant in record.get("variants", []):
        predicted, why = predict_variant(
            demo,
            variant,
            single_call=s,
            calls=k,
            cpus=cpus,
            process_start_cost=start_cost,
            items=items,
        )
        measured = _median(variant)
        rows.append(
            {
                "name": variant.get("name"),
                "label": variant.get("label") or variant.get("name"),
                "kind": variant.get("kind"),
                "workers": variant.get("workers"),
                "measured": measured,
                "min": variant.get("min"),
                "max": variant.get("max"),
                "repeats": len(variant.get("times") or []) or None,
                "predicted": predicted,
                "ratio": ratio(measured, predicted),
                "reasoning": why,
                "cpu_seconds": variant.get("cpu_median"),
            }
        )
    loop = next((r for r in rows if r["name"] == "loop"), None)
    for row in rows:
        row["speedup_vs_loop"] = (
            speedup(loop["measured"], row["measured"])
            if loop and row is not loop
            else None
        )
    return {
        "name": demo,
        "single_call": s,
        "single_call_label": (record.get("single_call") or {}).get("label"),
        "calls": k,
        "cpus": cpus,
        "process_start_cost": start_cost,
        "params": record.get("params") or {},
        "results": results,
        "variants": rows,
    }


# ---------------------------------------------------------------------------
# The plot fan-out
# ---------------------------------------------------------------------------


def job_start(record: Mapping) -> float:
    """When a job began: the OS start of its process if known, else its first line."""
    ps = record.get("process_start")
    return float(ps) if ps is not None else float(record["start"])


def job_overhead(record: Mapping) -> float:
    """Fixed per-job cost: process start to our first line, plus the imports (or the
    hand-over to a forked worker)."""
    ps = record.get("process_start")
    before = float(record["start"]) - float(ps) if ps is not None else 0.0
    return max(before, 0.0) + job_startup(record)


def job_startup(record: Mapping) -> float:
    """The start-up phase after our first line: imports, or the hand-over."""
    phases = record.get("phases") or {}
    return float(sum(phases.get(p, 0.0) for p in STARTUP_PHASES))


def job_worker(record: Mapping) -> str:
    """Either "forked" (from the warm plot server) or "fresh" (own imports)."""
    return str(record.get("worker") or "fresh")


def job_work(record: Mapping) -> float:
    """The station's plotting work: read + plot + save."""
    phases = record.get("phases") or {}
    return float(sum(phases.get(p, 0.0) for p in WORK_PHASES))


def process_label(record: Mapping) -> str:
    """A row of the Gantt chart: the SLURM job id when present, else ``host:pid``."""
    if record.get("slurm_job_id"):
        return f"slurm {record['slurm_job_id']}"
    return f"{record.get('host', '?')}:{record.get('pid', '?')}"


def same_session(a: str | None, b: str | None, tolerance: float = 1.0) -> bool:
    """Whether two session ids name the same ``snakemake`` run.

    A local id is ``host:pid:start``; ``start`` is computed by every job from the
    boot clock and the wall clock, so it differs between jobs of one run in the last
    digits. Same host and pid and starts within ``tolerance`` seconds are one run (a
    pid is not reused within a second); any other id must match exactly.
    """
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        host_a, pid_a, start_a = a.rsplit(":", 2)
        host_b, pid_b, start_b = b.rsplit(":", 2)
        return (
            host_a == host_b
            and pid_a == pid_b
            and abs(float(start_a) - float(start_b)) <= tolerance
        )
    except ValueError:
        return False


def latest_session(records: Sequence[Mapping]) -> tuple[str | None, list[Mapping]]:
    """The records of the latest ``snakemake`` run only.

    The latest session is the one of the record that ended last; a rerun that
    replotted a single station would otherwise be mixed with the full run before it.
    """
    if not records:
        return None, []
    last = max(records, key=lambda r: float(r["end"]))
    session = last.get("session")
    return session, [r for r in records if same_session(r.get("session"), session)]


def count_sessions(records: Sequence[Mapping]) -> int:
    """How many distinct runs (by :func:`same_session`) the records come from."""
    seen: list = []
    for r in records:
        s = r.get("session")
        if not any(same_session(s, x) for x in seen):
            seen.append(s)
    return len(seen)


def merge_intervals(
    intervals: Iterable[tuple[float, float]],
) -> list[tuple[float, float]]:
    """Union of closed intervals, sorted and non-overlapping."""
    merged: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def exclusive_overlaps(
    window: tuple[float, float], records: Iterable[Mapping]
) -> list[dict]:
    """The parts of ``window`` during which an exclusive timing job ran.

    Demos and baselines have the machine to themselves; if Snakemake scheduled one
    between two plot jobs, the fan-out's makespan contains that stretch, which is not
    the fan-out's time.
    """
    lo, hi = window
    clipped = []
    names = []
    for r in records:
        if r.get("start") is None or r.get("end") is None:
            continue
        a, b = max(float(r["start"]), lo), min(float(r["end"]), hi)
        if b > a:
            clipped.append((a, b))
            names.append(f"{r.get('kind', '?')} {r.get('name', '?')}")
    merged = merge_intervals(clipped)
    return [
        {
            "start": a,
            "end": b,
            "seconds": b - a,
            "jobs": sorted(
                n for n, (x, y) in zip(names, clipped, strict=True) if x < b and y > a
            ),
        }
        for a, b in merged
    ]


def fanout_stats(
    plot_records: Sequence[Mapping],
    exclusive_records: Sequence[Mapping] = (),
    stations: Sequence[str] | None = None,
) -> dict | None:
    """Makespan, summed job time, parallelism and overhead of the latest fan-out."""
    session, records = latest_session(plot_records)
    if not records:
        return None
    first = min(job_start(r) for r in records)
    last = max(float(r["end"]) for r in records)
    raw_makespan = last - first
    excluded = exclusive_overlaps((first, last), exclusive_records)
    excluded_total = sum(e["seconds"] for e in excluded)
    makespan = raw_makespan - excluded_total
    jobs = []
    for r in sorted(records, key=job_start):
        overhead = job_overhead(r)
        work = job_work(r)
        jobs.append(
            {
                "station": r.get("name"),
                "row": process_label(r),
                "process_start": r.get("process_start"),
                "start": float(r["start"]),
                "job_start": job_start(r),
                "end": float(r["end"]),
                "duration": float(r["end"]) - job_start(r),
                "overhead": overhead,
                "work": work,
                "startup": job_startup(r),
                "worker": job_worker(r),
            }
        )
    summed = sum(j["duration"] for j in jobs)
    # How many jobs really ran at once: the run's --cores is not recorded by the
    # jobs, and the report may be made by a later run with other --cores.
    events = sorted(
        [(j["job_start"], 1) for j in jobs] + [(j["end"], -1) for j in jobs]
    )
    running = max_concurrent = 0
    for _, step in events:
        running += step
        max_concurrent = max(max_concurrent, running)
    overheads = [j["overhead"] for j in jobs]
    works = [j["work"] for j in jobs]
    covered = sorted({str(j["station"]) for j in jobs})
    configured = list(stations) if stations is not None else None
    missing = sorted(set(configured) - set(covered)) if configured is not None else []
    return {
        "session": session,
        "sessions_seen": count_sessions(plot_records),
        "records_ignored": len(plot_records) - len(records),
        "jobs": jobs,
        "n_jobs": len(jobs),
        "window": [first, last],
        "raw_makespan": raw_makespan,
        "excluded": excluded,
        "excluded_seconds": excluded_total,
        "makespan": makespan,
        "summed_job_time": summed,
        "effective_parallelism": summed / makespan if makespan > 0 else None,
        "max_concurrent": max_concurrent,
        "workers": dict(Counter(j["worker"] for j in jobs)),
        "overhead_total": sum(overheads),
        "overhead_mean": statistics.fmean(overheads),
        "overhead_median": statistics.median(overheads),
        "overhead_max": max(overheads),
        "work_total": sum(works),
        "work_mean": statistics.fmean(works),
        "work_median": statistics.median(works),
        "overhead_share_of_work": (
            statistics.median(overheads) / statistics.median(works)
            if statistics.median(works) > 0
            else None
        ),
        "stations_covered": covered,
        "stations_configured": configured,
        "stations_missing": missing,
    }


# ---------------------------------------------------------------------------
# The exercise: serial vs Pool vs Snakemake
# ---------------------------------------------------------------------------


def exercise_comparison(
    serial: Mapping | None,
    pool: Mapping | None,
    fanout: Mapping | None,
    *,
    cores: int | None,
    cpus: int | None,
    n_stations: int | None,
) -> dict:
    """Speedups of the Pool and the Snakemake fan-out over the serial loop."""
    serial_time = _median(serial) if serial else None
    serial_stations = len(serial.get("stations") or []) if serial else 0
    out: dict = {"serial": None, "pool": None, "snakemake": None, "notes": []}
    if serial_time is not None:
        out["serial"] = {
            "time": serial_time,
            "workers": 1,
            "stations": serial_stations or n_stations,
            "speedup": 1.0,
            "min": serial.get("min"),
            "max": serial.get("max"),
            "repeats": serial.get("repeats") or len(serial.get("times") or []),
        }
    if pool:
        p = int(pool.get("workers") or 1)
        t = _median(pool)
        s = speedup(serial_time, t)
        p_eff = effective_workers(p, cpus)
        out["pool"] = {
            "time": t,
            "workers": p,
            "effective_workers": p_eff,
            "min": pool.get("min"),
            "max": pool.get("max"),
            "repeats": pool.get("repeats") or len(pool.get("times") or []),
            "speedup": s,
            "efficiency": efficiency(s, p_eff),
            "max_expected": max_expected_speedup(p, n_stations, cpus),
            "karp_flatt": karp_flatt(s, p_eff),
        }
    if fanout:
        covered = fanout["n_jobs"]
        reference = serial_time
        if serial_time is not None and serial_stations and covered != serial_stations:
            reference = serial_time * covered / serial_stations
            out["notes"].append(
                f"The fan-out session plotted {covered} stations, the serial loop "
                f"{serial_stations}; its speedup is against the serial time scaled to "
                f"{covered} stations ({reference:.2f} s)."
            )
        p = int(cores) if cores else covered
        p_eff = effective_workers(min(p, covered), cpus)
        s = speedup(reference, fanout["makespan"])
        out["snakemake"] = {
            "time": fanout["makespan"],
            "workers": p,
            "effective_workers": p_eff,
            "speedup": s,
            "efficiency": efficiency(s, p_eff),
            "max_expected": max_expected_speedup(p, covered, cpus),
            "karp_flatt": karp_flatt(s, p_eff),
            "reference_serial_time": reference,
        }
        if pool and out["pool"]["time"]:
            out["snakemake"]["vs_pool"] = fanout["makespan"] / out["pool"]["time"]
    # Amdahl's law per method: the Pool and the fan-out do the same work with
    # different overheads, so one serial fraction fitted across both would describe
    # neither. The Pool's is the headline: it is the lesson's parallel version.
    for v in (out["pool"], out["snakemake"]):
        if v and v.get("speedup"):
            f = fit_serial_fraction([(v["effective_workers"], v["speedup"])])
            v["serial_fraction"] = f
            v["amdahl_limit"] = amdahl_limit(f) if f is not None and f <= 1 else None
            v["amdahl_at_cpus"] = (
                amdahl_speedup(min(max(f, 0.0), 1.0), cpus)
                if f is not None and f <= 1 and cpus
                else None
            )
    headline = out["pool"] or out["snakemake"] or {}
    out["serial_fraction"] = headline.get("serial_fraction")
    out["amdahl_limit"] = headline.get("amdahl_limit")
    out["amdahl_at_cpus"] = headline.get("amdahl_at_cpus")
    return out


# ---------------------------------------------------------------------------
# The scaling study (issue 6), optional
# ---------------------------------------------------------------------------

#: How the scaling study's methods read in tables and legends.
SCALING_LABELS = {
    "serial": "serial loop",
    "pool": "multiprocessing.Pool",
    "snakemake": "Snakemake fan-out (forked from the warm server)",
    "snakemake_fresh": "Snakemake fan-out (fresh processes)",
}


def scaling_label(method: str) -> str:
    return SCALING_LABELS.get(method, method)


def _first(d: Mapping, *keys):
    for k in keys:
        if d.get(k) is not None:
            return d[k]
    return None


def scaling_points(data: Mapping | Sequence) -> list[dict]:
    """Normalise a scaling.json into ``{method, workers, time}`` points.

    Accepts a list of points, or a mapping with a ``points``/``runs``/``results``
    list, or a mapping ``{method: [points]}``/``{method: {workers: time}}``. Each
    point needs a method (``method``/``kind``/``name``), a worker count
    (``workers``/``p``/``cores``) and a time (``median``/``time``/``seconds``/``wall``).
    """
    raw: list = []
    if isinstance(data, Sequence) and not isinstance(data, str):
        raw = list(data)
    elif isinstance(data, Mapping):
        for key in ("points", "runs", "results", "measurements"):
            if isinstance(data.get(key), list):
                raw = list(data[key])
                break
        else:
            for method, value in data.items():
                if isinstance(value, list):
                    raw += [
                        {"method": method, **v} for v in value if isinstance(v, Mapping)
                    ]
                elif isinstance(value, Mapping) and all(
                    str(k).isdigit() for k in value
                ):
                    raw += [
                        {"method": method, "workers": int(k), "time": v}
                        for k, v in value.items()
                    ]
    points = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        method = _first(item, "method", "kind", "name")
        workers = _first(item, "workers", "p", "cores", "processes")
        time_ = _first(item, "median", "time", "seconds", "wall", "makespan")
        if time_ is None and item.get("times"):
            time_ = statistics.median(item["times"])
        if method is None or workers is None or time_ is None:
            continue
        points.append(
            {
                "method": str(method),
                "workers": int(workers),
                "time": float(time_),
                "min": item.get("min"),
                "max": item.get("max"),
            }
        )
    return points


def analyse_scaling(data, cpus: int | None) -> dict | None:
    """Speedup, efficiency and Karp-Flatt per point, and an Amdahl fit per method.

    The reference is the serial loop at one worker when present, otherwise each
    method's own one-worker point. ``p`` in Karp-Flatt and the fit is the number of
    workers that can run at once, ``min(workers, usable CPUs)``.
    """
    points = scaling_points(data)
    if not points:
        return None
    serial_ref = [
        p["time"] for p in points if p["method"] == "serial" and p["workers"] == 1
    ]
    methods: dict[str, list[dict]] = {}
    for pt in points:
        methods.setdefault(pt["method"], []).append(pt)
    out = {"methods": {}}
    for method, pts in methods.items():
        own = [p["time"] for p in pts if p["workers"] == 1]
        ref = serial_ref[0] if serial_ref else (own[0] if own else None)
        rows = []
        for pt in sorted(pts, key=lambda p: p["workers"]):
            s = speedup(ref, pt["time"])
            p_eff = effective_workers(pt["workers"], cpus)
            rows.append(
                {
                    **pt,
                    "effective_workers": p_eff,
                    "speedup": s,
                    "efficiency": efficiency(s, p_eff),
                    "karp_flatt": karp_flatt(s, p_eff),
                }
            )
        f = fit_serial_fraction((r["effective_workers"], r["speedup"]) for r in rows)
        out["methods"][method] = {
            "points": rows,
            "serial_fraction": f,
            "amdahl_limit": amdahl_limit(f),
        }
    return out


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(dist)
        return getattr(module, "__version__", None)


def collect_environment(
    cpus: int | None = None,
    cores: int | None = None,
    snakemake_version: str | None = None,
) -> dict:
    """Python version and build, GIL status, NumPy, Snakemake, usable CPUs, --cores."""
    gil_disabled_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "python": sys.version.split()[0],
        "python_build": sys.version,
        "implementation": platform.python_implementation(),
        "free_threaded_build": gil_disabled_build,
        "gil_enabled": is_gil_enabled() if callable(is_gil_enabled) else True,
        "numpy": _version("numpy"),
        "matplotlib": _version("matplotlib"),
        "snakemake": snakemake_version or _version("snakemake"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "os_cpu_count": os.cpu_count(),
        "usable_cpus": cpus if cpus is not None else usable_cpus()["usable"],
        "cores": cores,
    }


# ---------------------------------------------------------------------------
# Putting it together
# ---------------------------------------------------------------------------


def _load(path) -> dict | None:
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        return None
    return json.loads(path.read_text())


@dataclass
class Inputs:
    """Everything the report reads; every piece but the plot records is optional."""

    plots: list[dict] = field(default_factory=list)
    demos: dict[str, dict] = field(default_factory=dict)
    baselines: dict[str, dict] = field(default_factory=dict)
    scaling: dict | list | None = None
    stations: list[str] | None = None
    cores: int | None = None
    cpus: int | None = None
    snakemake_version: str | None = None


def load_inputs(
    plots: Iterable = (),
    demos: Iterable = (),
    baselines: Iterable = (),
    scaling=None,
    stations: Sequence[str] | None = None,
    cores: int | None = None,
    cpus: int | None = None,
    snakemake_version: str | None = None,
) -> Inputs:
    """Read the record files (missing files are skipped, so are unreadable ones)."""

    def read_all(paths):
        out = []
        for p in paths:
            rec = _load(p)
            if rec is not None:
                out.append(rec)
        return out

    demo_records = read_all(demos)
    baseline_records = read_all(baselines)
    return Inputs(
        plots=read_all(plots),
        demos={r.get("name", Path(str(i)).stem): r for i, r in enumerate(demo_records)},
        baselines={r.get("name", str(i)): r for i, r in enumerate(baseline_records)},
        scaling=_load(scaling),
        stations=list(stations) if stations is not None else None,
        cores=int(cores) if cores else None,
        cpus=cpus,
        snakemake_version=snakemake_version,
    )


def recorded_cpus(inputs: Inputs) -> int | None:
    """Usable CPUs as the timing jobs measured them (they ran with the machine)."""
    for rec in [*inputs.demos.values(), *inputs.baselines.values()]:
        usable = (rec.get("cpus") or {}).get("usable")
        if usable:
            return int(usable)
    return None


def compute(inputs: Inputs) -> dict:
    """Every figure of the report, as plain JSON-able data."""
    if inputs.cpus:
        cpus, cpus_source = inputs.cpus, "given to the report"
    elif recorded_cpus(inputs):
        cpus, cpus_source = recorded_cpus(inputs), "as the timing jobs measured them"
    else:
        cpus, cpus_source = (
            usable_cpus()["usable"],
            "as the report's own process found them",
        )
    env = collect_environment(cpus, inputs.cores, inputs.snakemake_version)
    recorded_envs = {}
    for name, rec in {**inputs.demos, **inputs.baselines}.items():
        seen = (
            dict(rec["environment"])
            if isinstance(rec.get("environment"), Mapping)
            else {}
        )
        for key in ("python", "start_method"):
            if rec.get(key) is not None:
                seen.setdefault(key, rec[key])
        numpy_version = (rec.get("results") or {}).get("numpy_version")
        if numpy_version:
            seen.setdefault("numpy", numpy_version)
        if seen:
            recorded_envs[name] = seen
    demos = {name: analyse_demo(rec, cpus) for name, rec in inputs.demos.items()}
    exclusive = [*inputs.demos.values(), *inputs.baselines.values()]
    fanout = fanout_stats(inputs.plots, exclusive, inputs.stations)
    n_stations = len(inputs.stations) if inputs.stations is not None else None
    exercise = exercise_comparison(
        inputs.baselines.get("serial"),
        inputs.baselines.get("pool"),
        fanout,
        cores=inputs.cores,
        cpus=cpus,
        n_stations=n_stations,
    )
    scaling = analyse_scaling(inputs.scaling, cpus) if inputs.scaling else None
    return {
        "environment": env,
        "recorded_environments": recorded_envs,
        "cpus": cpus,
        "cpus_source": cpus_source,
        "cores": inputs.cores,
        "stations": inputs.stations,
        "demos": demos,
        "fanout": fanout,
        "exercise": exercise,
        "scaling": scaling,
        "scaling_present": inputs.scaling is not None,
    }


# ---------------------------------------------------------------------------
# Charts (matplotlib OO API on the Agg canvas)
# ---------------------------------------------------------------------------


def _figure(width=7.5, height=4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def chart_demos(figures: Mapping) -> bytes | None:
    """Grouped bars: measured vs predicted seconds per demo variant."""
    rows = [
        (f"{d}: {v['name']}", v["measured"], v["predicted"])
        for d, demo in figures["demos"].items()
        for v in demo["variants"]
        if v["measured"] is not None and v["predicted"] is not None
    ]
    if not rows:
        return None
    fig = _figure(max(7.5, 0.9 * len(rows)), 4.2)
    ax = fig.add_subplot()
    xs = range(len(rows))
    w = 0.4
    ax.bar([x - w / 2 for x in xs], [r[1] for r in rows], w, label="measured (median)")
    ax.bar(
        [x + w / 2 for x in xs],
        [r[2] if r[2] is not None else 0 for r in rows],
        w,
        label="predicted",
        color="0.7",
    )
    ax.set_xticks(list(xs), [r[0] for r in rows], fontsize=8, rotation=30, ha="right")
    ax.set_ylabel("seconds")
    ax.set_title("Demos: measured vs the lesson's prediction on this machine")
    ax.legend()
    return _png(fig)


def chart_gantt(figures: Mapping) -> bytes | None:
    """One row per process: overhead (start to end of start-up) and work segments."""
    fan = figures.get("fanout")
    if not fan:
        return None
    t0 = fan["window"][0]
    rows = []
    for j in fan["jobs"]:
        if j["row"] not in rows:
            rows.append(j["row"])
    fig = _figure(8, max(2.5, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot()
    for j in fan["jobs"]:
        y = rows.index(j["row"])
        a = j["job_start"] - t0
        ov_end = j["start"] + j["startup"] - t0
        end = j["end"] - t0
        ax.broken_barh([(a, ov_end - a)], (y - 0.4, 0.8), color="tab:orange")
        ax.broken_barh([(ov_end, end - ov_end)], (y - 0.4, 0.8), color="tab:blue")
        ax.text(end, y, f" {j['station']}", va="center", fontsize=7)
    for e in fan["excluded"]:
        ax.axvspan(e["start"] - t0, e["end"] - t0, color="0.85", zorder=0)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first plot job started")
    ax.set_title("Plot jobs: overhead (orange) and work (blue)")
    return _png(fig)


def chart_speedup(figures: Mapping) -> bytes | None:
    """Serial, Pool and Snakemake speedups against the ideal line."""
    ex = figures["exercise"]
    pts = [
        (name, ex[name]["workers"], ex[name]["speedup"])
        for name in ("serial", "pool", "snakemake")
        if ex.get(name) and ex[name].get("speedup") is not None
    ]
    scaling = figures.get("scaling") or {}
    if not pts and not scaling:
        return None
    cpus = figures["cpus"]
    pmax = max(
        [p for _, p, _ in pts]
        + [cpus or 1]
        + [
            r["workers"]
            for m in scaling.get("methods", {}).values()
            for r in m["points"]
        ]
    )
    fig = _figure(6.5, 4.2)
    ax = fig.add_subplot()
    ps = list(range(1, pmax + 1))
    ax.plot(ps, ps, "k--", lw=1, label="ideal (p)")
    if cpus:
        ax.plot(
            ps, [min(p, cpus) for p in ps], "k:", lw=1, label=f"ideal on {cpus} CPUs"
        )
    for method, m in scaling.get("methods", {}).items():
        rs = [r for r in m["points"] if r["speedup"] is not None]
        ax.plot(
            [r["workers"] for r in rs],
            [r["speedup"] for r in rs],
            "-o",
            alpha=0.5,
            label=f"scaling: {scaling_label(method)}",
        )
    f = figures["exercise"].get("serial_fraction")
    if f is not None and 0 <= f < 1:
        ax.plot(
            ps,
            [amdahl_speedup(f, min(p, cpus or p)) for p in ps],
            color="tab:red",
            lw=1,
            alpha=0.6,
            label=f"Amdahl, Pool's f = {f:.2f}",
        )
    markers = {"serial": "s", "pool": "^", "snakemake": "o"}
    for name, p, s in pts:
        ax.plot([p], [s], markers[name], ms=10, label=f"{name}: {s:.2f}x")
    ax.set_xticks(ps)
    ax.set_xlabel("workers (--cores for Snakemake)")
    ax.set_ylabel("speedup over the serial loop")
    ax.set_title("Serial vs Pool vs Snakemake")
    ax.legend(fontsize=8)
    return _png(fig)


def charts(figures: Mapping) -> dict[str, bytes]:
    out = {}
    for key, fn in (
        ("demos", chart_demos),
        ("gantt", chart_gantt),
        ("speedup", chart_speedup),
    ):
        png = fn(figures)
        if png is not None:
            out[key] = png
    return out


# ---------------------------------------------------------------------------
# Text: one list of blocks rendered as Markdown and as HTML
# ---------------------------------------------------------------------------


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


CHART_ALT = {
    "demos": "Measured vs predicted time per demo variant",
    "gantt": "Timeline of the plot jobs, one row per process",
    "speedup": "Serial vs Pool vs Snakemake speedup against the ideal",
}

WHY_GIL = (
    "Why the legacy global generator does not scale with threads while per-thread "
    "Generators do: `np.random.rand` draws from one hidden, global `RandomState`, "
    "shared by every thread. NumPy guards a generator's state with a lock and holds "
    "it while it fills the whole array, so a second thread waits for the first "
    "call to finish: four threads take about as long as four calls in a loop. The "
    "GIL is not what serialises them (NumPy releases the GIL while it fills the "
    "array); the single shared lock is. A `np.random.default_rng()` Generator per "
    "thread has its own state and its own lock and also releases the GIL while it "
    "fills the array, so the threads really run at the same time, as many at once "
    "as there are usable CPUs. Processes scale either way because each has its own "
    "interpreter, GIL and generator, at the price of starting them."
)


def _demo_blocks(figures: Mapping) -> list:
    blocks: list = [("h2", "How long does each variant take?")]
    demos = figures["demos"]
    cpus = figures["cpus"]
    if not demos:
        blocks.append(
            ("p", "No demo records were found, so there is nothing to compare.")
        )
        return blocks
    blocks.append(
        (
            "p",
            f"Predictions use the lesson's reasoning on this machine: the single-call "
            f"figure s, k workers and c = {cpus} usable CPUs. A ratio above 1 means "
            f"slower than predicted.",
        )
    )
    for name, demo in demos.items():
        blocks.append(("h3", f"Demo: {name}"))
        if demo["single_call"] is not None:
            label = demo.get("single_call_label") or (
                "the sleep t" if name in SLEEPING_DEMOS else "one call"
            )
            blocks.append(
                (
                    "p",
                    f"Single-call figure s ({label}): {fmt_s(demo['single_call'])}; "
                    f"k = {demo['calls']} calls.",
                )
            )
        rows = [
            [
                v["label"],
                str(v["workers"] if v["workers"] is not None else ""),
                fmt_s(v["measured"]),
                _spread(v),
                fmt_s(v["predicted"]),
                fmt_x(v["ratio"]),
                v["reasoning"],
            ]
            for v in demo["variants"]
        ]
        if rows:
            blocks.append(
                (
                    "table",
                    [
                        "variant",
                        "workers",
                        "measured",
                        "min-max",
                        "predicted",
                        "ratio",
                        "why",
                    ],
                    rows,
                )
            )
        for v in demo["variants"]:
            if v["measured"] is None:
                continue
            sentence = f"{v['label']} took {fmt_s(v['measured'])}"
            if v["predicted"] is not None:
                sentence += (
                    f"; the lesson predicts {fmt_s(v['predicted'])} "
                    f"(measured/predicted {fmt_x(v['ratio'])})"
                )
            if v.get("speedup_vs_loop"):
                sentence += (
                    f", a speedup of {fmt_x(v['speedup_vs_loop'])} over the loop"
                )
            sentence += "."
            extra_cpu = _extra_cpu_sentence(v, demo)
            if extra_cpu:
                sentence += " " + extra_cpu
            blocks.append(("p", sentence))
        blocks += _demo_results_blocks(name, demo)
    return blocks


def _extra_cpu_sentence(variant: Mapping, demo: Mapping) -> str | None:
    """Where the time went when a variant is much slower than predicted and did
    more CPU work than the loop for the same result (measured, not guessed)."""
    loop = next((r for r in demo["variants"] if r["name"] == "loop"), None)
    if (
        not loop
        or variant is loop
        or (variant.get("ratio") or 0) < 1.25
        or not variant.get("cpu_seconds")
        or not loop.get("cpu_seconds")
        or variant["cpu_seconds"] < 1.25 * loop["cpu_seconds"]
    ):
        return None
    times = variant["cpu_seconds"] / loop["cpu_seconds"]
    cpus = demo.get("cpus") or 1
    return (
        f"Where the difference went: it used {variant['cpu_seconds']:.2f} CPU-seconds "
        f"where the loop used {loop['cpu_seconds']:.2f} for the same work, "
        f"{times:.1f}x the CPU work; spread over {cpus} CPUs that alone takes "
        f"{fmt_s(variant['cpu_seconds'] / cpus)}, not "
        f"{fmt_s(loop['cpu_seconds'] / cpus)}."
    )


def _demo_results_blocks(name: str, demo: Mapping) -> list:
    res = demo.get("results") or {}
    blocks = []
    if name == "numpy":
        blocks.append(("p", WHY_GIL))
    if name == "shared_list" and res:
        text = []
        if "threads" in res:
            text.append(
                f"Ten threads doing `a[0] += 1` on `[1, 2, 3]` leave {res['threads']}: "
                "threads share the list."
            )
        if "processes" in res:
            text.append(
                f"With processes the parent still sees {res['processes']}: "
                "each process changed its own copy."
            )
        if "unlocked_lost_updates" in res:
            expected = res.get("expected")
            text.append(
                f"A read-modify-write that spans a thread switch lost "
                f"{res['unlocked_lost_updates']} updates"
                + (f" out of {expected}" if expected is not None else "")
                + " even with the GIL (the GIL makes single bytecodes atomic, not "
                "whole read-modify-write sequences)"
                + (
                    f"; with a `threading.Lock` it lost {res['locked_lost_updates']}."
                    if "locked_lost_updates" in res
                    else "."
                )
            )
        blocks.append(("p", " ".join(text) or f"Results: {res}."))
    if name == "pool" and res:
        blocks.append(
            (
                "p",
                f"`Pool.map(func, {res.get('inputs')})` returned {res.get('result')}, "
                "in input order, each worker sleeping in parallel.",
            )
        )
    return blocks


def _exercise_blocks(figures: Mapping) -> list:
    ex = figures["exercise"]
    fan = figures["fanout"]
    cpus = figures["cpus"]
    cores = figures["cores"]
    n_st = len(figures["stations"]) if figures["stations"] is not None else None
    blocks: list = [("h2", "The exercise: serial vs Pool vs Snakemake")]
    rows = []
    for name, label in (
        ("serial", "serial loop (one process)"),
        ("pool", "multiprocessing.Pool"),
        ("snakemake", "Snakemake fan-out (makespan)"),
    ):
        v = ex.get(name)
        if not v:
            continue
        rows.append(
            [
                label,
                str(v["workers"]),
                fmt_s(v["time"]),
                fmt_x(v.get("speedup")),
                fmt_pct(v.get("efficiency")) if name != "serial" else "",
                fmt_x(v.get("max_expected")) if name != "serial" else "",
                (f"{v['karp_flatt']:.3f}" if v.get("karp_flatt") is not None else ""),
            ]
        )
    if rows:
        blocks.append(
            (
                "table",
                [
                    "method",
                    "workers",
                    "time",
                    "speedup",
                    "efficiency",
                    "max expected",
                    "Karp-Flatt f",
                ],
                rows,
            )
        )
    if not ex.get("serial"):
        blocks.append(
            ("p", "No serial baseline was found, so no speedup can be computed yet.")
        )
    if not ex.get("pool"):
        blocks.append(("p", "No Pool baseline was found."))
    if not fan:
        blocks.append(
            ("p", "No plot-job records were found, so the fan-out is not measured.")
        )
    blocks.append(("h3", "What is the maximum speedup you can expect?"))
    limits = []
    if ex.get("pool"):
        limits.append(
            f"For the Pool of {ex['pool']['workers']} workers it is "
            f"{fmt_x(ex['pool']['max_expected'])}"
        )
    if ex.get("snakemake"):
        limits.append(
            f"for Snakemake with --cores {ex['snakemake']['workers']} it is "
            f"{fmt_x(ex['snakemake']['max_expected'])}"
        )
    blocks.append(
        (
            "p",
            f"No more than the smallest of the workers, the stations"
            f" ({n_st if n_st is not None else 'n/a'}) and the usable CPUs ({cpus}). "
            + ("; ".join(limits) + "." if limits else ""),
        )
    )
    amdahl = []
    for name, label in (("pool", "the Pool"), ("snakemake", "the Snakemake fan-out")):
        v = ex.get(name) or {}
        f = v.get("serial_fraction")
        if f is None:
            continue
        if f <= 1:
            limit = v["amdahl_limit"]
            amdahl.append(
                f"For {label}, f = {f:.3f}: that caps its speedup at {fmt_x(limit)}"
                " however many CPUs there are, and predicts "
                f"{fmt_x(v['amdahl_at_cpus'])} on the {cpus} usable CPUs here."
            )
        else:
            amdahl.append(
                f"For {label}, f = {f:.3f}, above 1: it ran slower than the loop. Its "
                "cost is not a fixed serial part but an overhead paid by every job "
                "(starting its process, and importing NumPy and Matplotlib unless it "
                "was forked from the warm plot server), which grows "
                "with the number of stations instead of shrinking with the number of "
                "CPUs; Amdahl's law, which assumes a fixed serial part, cannot "
                "describe it."
            )
    if amdahl:
        blocks.append(
            (
                "p",
                "Amdahl's law, S(p) = 1/(f + (1-f)/p), with the serial fraction f "
                "measured for each method (the Karp-Flatt metric at p = the workers "
                "that can run at once). " + " ".join(amdahl),
            )
        )
    blocks.append(("h3", "What do you actually get?"))
    got = []
    if ex.get("pool") and ex["pool"].get("speedup") is not None:
        got.append(
            f"The Pool of {ex['pool']['workers']} took {fmt_s(ex['pool']['time'])} "
            f"against {fmt_s(ex['serial']['time'])} for the serial loop: a speedup of "
            f"{fmt_x(ex['pool']['speedup'])} ({fmt_pct(ex['pool']['efficiency'])} "
            f"efficiency)."
        )
    if ex.get("snakemake") and ex["snakemake"].get("speedup") is not None:
        sm = ex["snakemake"]
        got.append(
            f"The Snakemake fan-out with --cores {sm['workers']} had a makespan of "
            f"{fmt_s(sm['time'])}: a speedup of {fmt_x(sm['speedup'])} "
            f"({fmt_pct(sm['efficiency'])} efficiency)."
        )
        if sm.get("vs_pool") is not None:
            got.append(f"That is {sm['vs_pool']:.2f} times the Pool's wall time.")
    blocks.append(("p", " ".join(got) or "No speedup could be measured yet."))
    blocks += [("p", n) for n in ex.get("notes", [])]
    if fan:
        blocks += _fanout_blocks(fan, ex, cpus, cores)
    return blocks


def _overhead_text(fan: Mapping) -> str:
    """What each plot job paid before plotting, in the words of its kind of worker."""
    workers = fan.get("workers") or {}
    forked = workers.get("forked", 0)
    if forked and forked == fan["n_jobs"]:
        what = (
            "Each job ran in a process forked from the run's warm plot server, which "
            "had imported NumPy and Matplotlib once (the first job waited for that). "
            "A job's fixed overhead is its small process starting and handing the "
            "job over"
        )
    elif forked:
        what = (
            f"{forked} of the {fan['n_jobs']} jobs ran in processes forked from the "
            "warm plot server, the others in fresh processes that imported NumPy and "
            "Matplotlib themselves. A job's fixed overhead is its process start plus "
            "the imports or the hand-over"
        )
    else:
        what = (
            "Each job ran in a fresh Python process. A job's fixed overhead is the "
            "process and interpreter start and the imports of NumPy and Matplotlib, "
            "paid again by every job"
        )
    return (
        f"{what}: median {fmt_s(fan['overhead_median'])}, at most "
        f"{fmt_s(fan['overhead_max'])}, against a median plotting work (read + plot "
        f"+ save) of {fmt_s(fan['work_median'])}, i.e. overhead is "
        f"{fmt_pct(fan['overhead_share_of_work'])} of the work."
    )


def _fanout_blocks(fan: Mapping, ex: Mapping, cpus, cores) -> list:
    blocks: list = [("h3", "The plot fan-out, job by job")]
    text = (
        f"The latest Snakemake run ran {fan['n_jobs']} plot jobs. From the first job's "
        f"process start to the last job's end took {fmt_s(fan['raw_makespan'])}"
    )
    if fan["excluded"]:
        jobs = sorted({j for e in fan["excluded"] for j in e["jobs"]})
        text += (
            f"; {fmt_s(fan['excluded_seconds'])} of that belonged to exclusive timing "
            f"jobs that ran inside the window ({', '.join(jobs)}) and is subtracted, "
            f"leaving a makespan of {fmt_s(fan['makespan'])}"
        )
    text += (
        f". The jobs' durations sum to {fmt_s(fan['summed_job_time'])}, an effective "
        f"parallelism of {fan['effective_parallelism']:.2f} "
        f"(sum of job times / makespan)."
        if fan["effective_parallelism"] is not None
        else "."
    )
    blocks.append(("p", text))
    blocks.append(("p", _overhead_text(fan)))
    if fan["records_ignored"]:
        blocks.append(
            (
                "p",
                f"{fan['records_ignored']} older plot records from "
                f"{fan['sessions_seen'] - 1} earlier run(s) were left out: only the "
                "latest run measures the fan-out.",
            )
        )
    if fan["stations_missing"]:
        blocks.append(
            (
                "p",
                f"Note: this run plotted {len(fan['stations_covered'])} of the "
                f"{len(fan['stations_configured'])} configured stations (the others "
                "were "
                f"not run in it: {', '.join(fan['stations_missing'])}).",
            )
        )
    blocks.append(("h3", "Where did the difference go?"))
    p_eff = ex["snakemake"]["effective_workers"] if ex.get("snakemake") else None
    parts = []
    concurrent = fan.get("max_concurrent") or 0
    if cpus and concurrent > cpus:
        parts.append(
            f"Up to {concurrent} jobs ran at once on {cpus} usable CPUs (--cores "
            f"above the CPU count), so they shared {cpus} CPUs "
            f"and each job's duration includes time spent waiting for a "
            f"CPU: the durations sum to {fmt_s(fan['summed_job_time'])}, against "
            f"the {fmt_s(cpus * fan['makespan'])} of CPU time the makespan holds. "
            f"More cores than CPUs cannot add speed; it only stretches every job."
        )
    elif p_eff:
        capacity = p_eff * fan["makespan"]
        idle = capacity - fan["summed_job_time"]
        parts.append(
            f"With {p_eff:g} CPUs busy for the {fmt_s(fan['makespan'])} makespan there "
            f"were {fmt_s(capacity)} of CPU time; the jobs used "
            f"{fmt_s(fan['summed_job_time'])} of it, so {fmt_s(max(idle, 0.0))} "
            "went to "
            "gaps between jobs (Snakemake's scheduling and bookkeeping, and the tail "
            "where fewer jobs than CPUs are left)."
        )
    parts.append(
        f"Of the jobs' time, {fmt_s(fan['overhead_total'])} was per-job overhead, "
        "which "
        f"the serial loop pays once, and {fmt_s(fan['work_total'])} was plotting work."
    )
    if ex.get("serial"):
        parts.append(
            f"The serial loop did all of it in {fmt_s(ex['serial']['time'])}; work "
            "that "
            "takes longer in parallel than in the loop points at contention for the "
            "CPUs, memory bandwidth and disk, which the shared machine adds on top."
        )
    blocks.append(("p", " ".join(parts)))
    return blocks


def _scaling_blocks(figures: Mapping) -> list:
    blocks: list = [("h2", "Scaling study")]
    sc = figures.get("scaling")
    if sc is None:
        blocks.append(
            (
                "p",
                "scaling.json exists but holds no recognisable points."
                if figures.get("scaling_present")
                else "No scaling study was run (results/report/scaling.json is absent; "
                "run the scaling target to add this section).",
            )
        )
        return blocks
    rows = []
    for method, m in sc["methods"].items():
        for r in m["points"]:
            rows.append(
                [
                    scaling_label(method),
                    str(r["workers"]),
                    fmt_s(r["time"]),
                    fmt_x(r["speedup"]),
                    fmt_pct(r["efficiency"]),
                    f"{r['karp_flatt']:.3f}" if r["karp_flatt"] is not None else "",
                ]
            )
    blocks.append(
        (
            "table",
            ["method", "workers", "time", "speedup", "efficiency", "Karp-Flatt f"],
            rows,
        )
    )
    for method, m in sc["methods"].items():
        if m["serial_fraction"] is not None:
            blocks.append(
                (
                    "p",
                    f"{scaling_label(method)}: Amdahl fit over all points gives a "
                    f"serial fraction f = {m['serial_fraction']:.3f}, a limit of "
                    f"{fmt_x(m['amdahl_limit'])}.",
                )
            )
    return blocks


def _environment_blocks(figures: Mapping) -> list:
    env = figures["environment"]
    gil = (
        "free-threaded build, GIL " + ("enabled" if env["gil_enabled"] else "disabled")
        if env["free_threaded_build"]
        else "standard build with the GIL"
    )
    rows = [
        ["Python", f"{env['python']} ({env['implementation']}, {gil})"],
        ["Python build", env["python_build"]],
        ["NumPy", str(env["numpy"])],
        ["Snakemake", str(env["snakemake"])],
        ["Platform", env["platform"]],
        ["Usable CPUs", str(env["usable_cpus"])],
        ["os.cpu_count()", str(env["os_cpu_count"])],
        ["--cores", str(env["cores"])],
    ]
    blocks: list = [("h2", "Environment"), ("table", ["", ""], rows)]
    blocks.append(
        (
            "p",
            "Versions are those of the report's own process; usable CPUs (affinity "
            f"and cgroup quota) are {figures.get('cpus_source', 'recorded')}.",
        )
    )
    for name, e in figures.get("recorded_environments", {}).items():
        said = ", ".join(f"{k} {v}" for k, v in sorted(e.items()))
        blocks.append(("p", f"The {name} timing job recorded: {said}."))
    return blocks


def blocks(figures: Mapping, chart_keys: Iterable[str]) -> list:
    """The report as a list of ``(kind, ...)`` blocks, charts placed by key."""
    keys = set(chart_keys)
    out: list = [("h1", "Timing report: what parallelism bought")]
    fan = figures.get("fanout")
    ex = figures["exercise"]
    summary = []
    if ex.get("snakemake") and ex["snakemake"].get("speedup") is not None:
        sm = ex["snakemake"]
        summary.append(
            f"Snakemake's fan-out got a speedup of {fmt_x(sm['speedup'])} over the "
            f"serial loop{' (it was slower)' if sm['speedup'] < 1 else ''}, out of a "
            f"possible {fmt_x(sm['max_expected'])}."
        )
    if ex.get("pool") and ex["pool"].get("speedup") is not None:
        summary.append(f"The Pool got {fmt_x(ex['pool']['speedup'])}.")
    if summary:
        out.append(("p", " ".join(summary)))
    out += _environment_blocks(figures)
    out += _demo_blocks(figures)
    if "demos" in keys:
        out.append(("img", "demos"))
    out += _exercise_blocks(figures)
    if "speedup" in keys:
        out.append(("img", "speedup"))
    if fan and "gantt" in keys:
        out.append(("img", "gantt"))
    out += _scaling_blocks(figures)
    return out


def _md_cell(x: str) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_markdown(report_blocks: Sequence) -> str:
    lines: list[str] = []
    for b in report_blocks:
        kind = b[0]
        if kind in {"h1", "h2", "h3"}:
            lines += ["#" * int(kind[1]) + " " + b[1], ""]
        elif kind == "p":
            lines += [b[1], ""]
        elif kind == "table":
            header, rows = b[1], b[2]
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
            lines.append("")
        elif kind == "img":
            lines += [
                f"*Chart: {CHART_ALT[b[1]]} (embedded in timing_report.html).*",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _inline_code(text: str) -> str:
    """HTML-escape and turn `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;font-size:.9rem}
th{background:#f3f3f3}
img{max-width:100%;height:auto;display:block;margin:1rem 0}
code{background:#f3f3f3;padding:0 .2rem}
"""


def render_html(report_blocks: Sequence, pngs: Mapping[str, bytes]) -> str:
    body: list[str] = []
    for b in report_blocks:
        kind = b[0]
        if kind in {"h1", "h2", "h3"}:
            body.append(f"<{kind}>{_inline_code(b[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline_code(b[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{_inline_code(h)}</th>" for h in b[1])
            rows = "".join(
                "<tr>"
                + "".join(f"<td>{_inline_code(str(c))}</td>" for c in r)
                + "</tr>"
                for r in b[2]
            )
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif kind == "img" and b[1] in pngs:
            data = base64.b64encode(pngs[b[1]]).decode("ascii")
            alt = html.escape(CHART_ALT[b[1]])
            body.append(
                f'<figure><img id="chart-{b[1]}" alt="{alt}" '
                f'src="data:image/png;base64,{data}"><figcaption>{alt}</figcaption>'
                "</figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Timing report</title>"
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


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
    figures = compute(inputs)
    pngs = charts(figures)
    report_blocks = blocks(figures, pngs)
    md = render_markdown(report_blocks)
    page = render_html(report_blocks, pngs)
    data = json.dumps(_jsonable(figures), indent=2, sort_keys=True) + "\n"
    write_text_atomic(json_path, data)
    write_text_atomic(markdown_path, md)
    write_bytes_atomic(html_path, page.encode("utf-8"))
    return figures
