"""The lesson's predictions for the threads-vs-processes demos, on this machine.

For each variant of a demo record (see :mod:`weatherplot.demos`): the time the
lesson's reasoning predicts from the single-call figure ``s``, the calls ``k`` and the
usable CPUs ``c``, and the measured time against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .metrics import median_time, ratio, speedup

#: The demos that sleep: they need no CPU, so threads overlap them as well as
#: processes do.
SLEEPING_DEMOS = frozenset({"sleep", "pool"})
#: The demo whose work is CPU-bound NumPy.
CPU_DEMOS = frozenset({"numpy"})


def demo_single_call(record: Mapping) -> float | None:
    """The single-call figure ``s`` of a demo.

    The measured single call when the record has one; for the sleeping demos the
    configured sleep ``t`` (sleeping takes exactly t, that is the point).
    """
    s = median_time(record.get("single_call"))
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
        measured = median_time(variant)
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
        row["extra_cpu"] = extra_cpu(row, loop, cpus)
    return {
        "has_predictions": any(r["predicted"] is not None for r in rows),
        "name": demo,
        "single_call": s,
        "single_call_label": (record.get("single_call") or {}).get("label")
        or ("the sleep t" if demo in SLEEPING_DEMOS else "one call"),
        "calls": k,
        "cpus": cpus,
        "process_start_cost": start_cost,
        "params": record.get("params") or {},
        "results": results,
        "variants": rows,
    }


def extra_cpu(variant: Mapping, loop: Mapping | None, cpus: int | None) -> dict | None:
    """Where the time went when a variant is much slower than predicted and did
    more CPU work than the loop for the same result (measured, not guessed)."""
    if (
        not loop
        or variant is loop
        or (variant.get("ratio") or 0) < 1.25
        or not variant.get("cpu_seconds")
        or not loop.get("cpu_seconds")
        or variant["cpu_seconds"] < 1.25 * loop["cpu_seconds"]
    ):
        return None
    cpus = cpus or 1
    return {
        "loop_cpu": loop["cpu_seconds"],
        "times": variant["cpu_seconds"] / loop["cpu_seconds"],
        "spread": variant["cpu_seconds"] / cpus,
        "loop_spread": loop["cpu_seconds"] / cpus,
    }
