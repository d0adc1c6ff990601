"""The lesson's predictions for each variant of a demo record, from the single-call
figure ``s``, the calls ``k`` and the usable CPUs ``c``, against the measured time."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .metrics import ratio, speedup

if TYPE_CHECKING:
    from weatherplot.records import DemoRecord, Variant

#: What a prediction function returns: the predicted seconds (None: the lesson
#: makes no timing prediction) and the reasoning, in words.
Prediction = tuple[float | None, str]


def _sk(record: DemoRecord) -> tuple[float, int]:
    """The single-call figure ``s`` and the calls ``k`` (the lesson's workers)."""
    return record["single_call"]["median"], record["params"]["workers"]


def _start_cost(record: DemoRecord) -> tuple[float, str]:
    """The process start cost measured under the record's start method, in words."""
    cost = record["results"]["process_start_cost"]
    return cost, f"process start ({record['start_method']}: {cost:.2f} s)"


def _loop(record: DemoRecord) -> Prediction:
    s, k = _sk(record)
    return k * s, f"k={k} calls one after the other: k*s"


def _processes(record: DemoRecord, cpus: int) -> Prediction:
    """One process per call, in waves of ``c``, plus their start cost."""
    s, k = _sk(record)
    waves = math.ceil(k / cpus)
    cost, start = _start_cost(record)
    return waves * s + cost, (
        f"one process per call on c={cpus} CPUs: ceil(k/c)*s = {waves}*s + {start}"
    )


def predict_sleep(variant: Variant, record: DemoRecord, cpus: int) -> Prediction:
    """Sleeping needs no CPU: threads and processes all take ``s`` (processes add
    their measured start cost); the loop ``k*s``."""
    s = record["single_call"]["median"]
    if variant["kind"] == "serial":
        return _loop(record)
    if variant["kind"] == "processes":
        cost, start = _start_cost(record)
        return s + cost, f"sleep needs no CPU: s + {start}"
    return s, "sleep needs no CPU and releases the GIL: s"


def predict_numpy(variant: Variant, record: DemoRecord, cpus: int) -> Prediction:
    """CPU-bound NumPy: ``np.random.rand`` holds the one global RandomState's lock
    for a whole call, so threads take turns; per-thread Generators run at once."""
    s, k = _sk(record)
    waves = math.ceil(k / cpus)
    if variant["kind"] == "serial":
        return _loop(record)
    if variant["name"] == "threads_generator":
        return waves * variant["single_call_median"], (
            f"per-thread Generators release the GIL: ceil(k/c)*s_gen = {waves}*s_gen"
        )
    if variant["kind"] == "threads":
        return k * s, "threads share the global generator's lock: k*s"
    return _processes(record, cpus)


def predict_pure_python(variant: Variant, record: DemoRecord, cpus: int) -> Prediction:
    """Pure-Python CPU work: the GIL runs one thread's Python at a time; without it
    (the free-threaded build) threads run at once, as processes do on either build."""
    s, k = _sk(record)
    waves = math.ceil(k / cpus)
    if variant["kind"] == "serial":
        return _loop(record)
    if variant["kind"] != "threads":
        return _processes(record, cpus)
    # Records from before the interpreter was recorded ran on the GIL build.
    if (record.get("interpreter") or {}).get("gil_enabled", True):
        return k * s, "the GIL runs one thread's Python at a time: k*s (1x)"
    return waves * s, (
        f"no GIL: threads run Python at once on c={cpus} CPUs: "
        f"ceil(k/c)*s = {waves}*s ({min(k, cpus)}x)"
    )


def predict_pool(variant: Variant, record: DemoRecord, cpus: int) -> Prediction:
    """A pool of ``k`` on ``m`` items that each sleep ``t``: ``ceil(m/k)*t`` + the
    pool's start cost."""
    t = record["single_call"]["median"]
    m = len(record["results"]["inputs"])
    k = variant["workers"]
    waves = math.ceil(m / k)
    cost, start = _start_cost(record)
    return waves * t + cost, (
        f"pool of {k} on m={m} items: ceil(m/k)*t = {waves}*t + {start}"
    )


def no_prediction(variant: Variant, record: DemoRecord, cpus: int) -> Prediction:
    """The shared-list demo is about results, not time."""
    return None, "no timing prediction (this demo is about results)"


def predictor(name: str | None) -> Callable[[Variant, DemoRecord, int], Prediction]:
    """The prediction a demo's registry entry names (``Demo.predict``)."""
    return _PREDICTIONS[name] if name else no_prediction


_PREDICTIONS = {
    f.__name__: f
    for f in (predict_sleep, predict_numpy, predict_pure_python, predict_pool)
}


def by_name(demo: Mapping) -> dict:
    """A demo's variants (as recorded or analysed) by name."""
    return {v["name"]: v for v in demo["variants"]}


def analyse_record(record: DemoRecord, cpus: int | None = None) -> dict:
    """:func:`analyse_demo` with the prediction its registry entry names, and the
    template explaining its results (``Demo.predict``, ``Demo.explain``)."""
    from weatherplot.demos import DEMOS

    demo = DEMOS[record["name"]]
    return {
        **analyse_demo(record, predictor(demo.predict), cpus),
        "explain": demo.explain,
    }


def analyse_demo(
    record: DemoRecord,
    predict: Callable[[Variant, DemoRecord, int], Prediction],
    cpus: int | None = None,
) -> dict:
    """Measured vs predicted (by the demo's ``predict``) for every variant."""
    cpus = cpus or record["cpus"]["usable"]
    rows = []
    for variant in record["variants"]:
        predicted, why = predict(variant, record, cpus)
        rows.append(
            {
                **{k: variant[k] for k in ("name", "label", "kind", "workers")},
                **{k: variant[k] for k in ("min", "max", "repeats")},
                "measured": variant["median"],
                "predicted": predicted,
                "ratio": ratio(variant["median"], predicted),
                "reasoning": why,
                "cpu_seconds": variant["cpu_median"],
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
        row["miss"] = miss(row, record, cpus)
    single = record["single_call"]
    return {
        "has_predictions": any(r["predicted"] is not None for r in rows),
        "name": record["name"],
        "single_call": single["median"] if single else None,
        "single_call_label": single["label"] if single else None,
        "calls": record["params"].get("workers"),
        "cpus": cpus,
        "params": record["params"],
        "start_method": record["start_method"],
        "results": record["results"],
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


#: A variant this many times slower (or faster) than predicted is a big miss: the
#: report flags it and says what the measurements tell about why. Below it, the
#: shared 2-CPU machines this runs on move medians by 10-30 % from run to run.
MISS_FACTOR = 1.5


def _single_call_cpu(variant: Mapping, record: Mapping) -> float | None:
    """CPU seconds of one call as the variant makes it (its own single call, e.g. a
    per-thread Generator's, else the demo's), if measured."""
    single = variant.get("single_call") or record.get("single_call") or {}
    if single.get("measured") is False:
        return None
    return single.get("cpu_median")


def miss(row: Mapping, record: Mapping, cpus: int | None) -> dict | None:
    """A variant more than :data:`MISS_FACTOR` off its prediction: by how much, and
    the reason the measurements give (None when they give none), first that holds:

    - its fastest repeat was near the prediction: the other repeats were disturbed;
    - it did more CPU work than its calls cost one at a time (``k`` single calls);
    - it did that work but kept fewer CPUs busy than the prediction assumes (CPU time
      / wall time): it waited for CPUs.
    """
    r = row.get("ratio")
    if r is None or 1 / MISS_FACTOR <= r <= MISS_FACTOR:
        return None
    out = {"factor": r if r > 1 else 1 / r, "slower": r > 1, "reason": None}
    predicted, repeats = row["predicted"], row.get("repeats") or 1
    if r > 1 and repeats > 1 and row["min"] <= 1.25 * predicted:
        out["reason"] = (
            f"its fastest of {repeats} repeats took {row['min']:.2f} s, near the "
            "prediction: other work on the machine slowed the others"
        )
        return out
    variants = by_name(record)
    variant, loop = variants.get(row["name"], {}), variants.get("loop")
    k = record["params"].get("workers")
    cpu = row.get("cpu_seconds")
    if r < 1 or not k or not cpu:
        return out
    if loop and loop.get("cpu_median") and "single_call" not in variant:
        # The same calls as the loop's: its CPU time is the reference (as in
        # extra_cpu), so the report quotes one figure for it.
        expected_cpu, reference = loop["cpu_median"], "the loop used for the same calls"
    elif one := _single_call_cpu(variant, record):
        expected_cpu, reference = k * one, f"that {k} calls take one at a time"
    else:
        return out
    if cpu >= 1.25 * expected_cpu:
        out["reason"] = (
            f"it used {cpu:.2f} CPU-seconds, {cpu / expected_cpu:.1f}x the "
            f"{expected_cpu:.2f} {reference}: side by side, the same calls cost "
            "more CPU"
        )
        return out
    assumed = expected_cpu / predicted  # CPUs the prediction keeps busy
    busy = cpu / row["measured"]
    if busy < 0.75 * assumed:
        load = (record.get("loadavg") or [None])[0]
        said = f" (1-minute load average {load})" if load is not None else ""
        out["reason"] = (
            f"it did the CPU work predicted ({cpu:.2f} CPU-seconds) but kept "
            f"{busy:.1f} CPUs busy on average, not {assumed:.1f}: it waited for "
            f"CPUs other work held{said}"
        )
    return out
