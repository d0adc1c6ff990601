"""Timing records -> the report's figures (plain JSON-able data): the exercise's
whole commands, the demos (:mod:`.lesson`), the latest run's plot jobs (:mod:`.fanout`)
and the scaling study (:func:`analyse_scaling`, which the study itself uses too)."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from weatherplot.cpus import usable_cpus
from weatherplot.records import (
    DemoRecord,
    ExerciseBuildsRecord,
    ExerciseRecord,
    PlotRecord,
    ScalingStudy,
    Variant,
)

from .fanout import fanout_stats
from .freethreading import free_threading_figures
from .lesson import analyse_record
from .metrics import (
    amdahl_fit,
    effective_workers,
    efficiency,
    karp_flatt,
    max_expected_speedup,
    speedup,
)


def typical_run(runs: Sequence[Mapping]) -> Mapping:
    """The run with the median wall time (the lower one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    return ordered[(len(ordered) - 1) // 2]


def _method_figures(
    method: str, rec: Mapping, n: int, cpus: int | None, serial_work: float
) -> dict:
    """One command's times, and its median run's wall time split into ``parts``:
    ``startup`` (before the first plot), ``work``, ``per_job`` (the rest of the loop
    or fan-out) and ``exit`` (Snakemake's, after its last job). The work is the serial
    loop's plotting (``serial_work``) over the workers that run at once: jobs sharing
    CPUs stretch their own plotting, which would hide the per-job cost inside it.
    """
    walls = [r["wall"] for r in rec["runs"]]
    p = int(rec["workers"])
    p_eff = effective_workers(min(p, n), cpus)
    run = typical_run(rec["runs"])
    fan_out = method == "snakemake"
    # The loop or fan-out against the plotting it spreads: shorter (the loop's
    # plotting slowed by a busy machine) leaves no per-job cost to measure, and the
    # parts show 0 for it, which the text must not read as "none".
    span = (
        run["last_job_end"] - run["first_job_start"] if fan_out else run["loop_seconds"]
    )
    work = serial_work / p_eff
    out = {
        "workers": p,
        "effective_workers": p_eff,
        "time": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "repeats": len(walls),
        "parts": {
            "startup": run["first_job_start"] - run["command_start"]
            if fan_out
            else run["wall"] - run["loop_seconds"],
            "per_job": max(span - work, 0.0),
            "work": min(work, span),
            "exit": run["command_end"] - run["last_job_end"] if fan_out else 0.0,
        },
        "max_expected": max_expected_speedup(p, n, cpus),
        # CPU time of the whole process tree (records from before it was measured
        # have none).
        "cpu": statistics.median(r["cpu"] for r in rec["runs"])
        if all("cpu" in r for r in rec["runs"])
        else None,
        "span": span,
        "plotting_per_cpu": work,
        "per_job_measured": span >= work,
    }
    if fan_out:
        out["jobs"] = run["jobs"]
        out["job_overhead_mean"] = run["overhead_total"] / run["jobs"]
        out["per_job_wall_each"] = out["parts"]["per_job"] * p_eff / run["jobs"]
        # More at once than CPUs (--cores above them): starting jobs share CPUs with
        # plotting ones, and their start-ups stretch and overlap the plotting.
        out["jobs_at_once"] = min(p, n)
        out["job_workers"] = run["workers"]
    return out


def _busy(record: Mapping, serial: Mapping, cpus: int | None) -> bool:
    """Did other work take CPU time from the commands? The serial loop is one process:
    with a CPU to itself its CPU time is its wall time, so a loop that got under 90 %
    of a CPU shared it. (The load average cannot tell: the commands' own processes
    raise it.) Records without CPU times: more runnable work than CPUs."""
    if serial.get("cpu") is not None and serial["time"] > 0:
        return serial["cpu"] / serial["time"] < 0.9
    loads = (record["loadavg"]["before"][0], record["loadavg"]["after"][0])
    return bool(cpus) and max(loads) > cpus


def analyse_exercise(
    record: Mapping | None, stations: Sequence[str] | None, cpus: int | None
) -> dict | None:
    """Every method's whole-command time, speedup over the serial loop, Karp-Flatt
    and Amdahl fit, the split of its wall time, and the best it could do given its
    measured fixed cost (``T_serial / (fixed + serial work / p)``)."""
    if record is None:
        return None
    covered = list(record["stations"])
    n = len(covered)
    # The plotting every method spreads: what the serial loop measured, with no
    # other station's job beside it.
    serial_work = typical_run(record["methods"]["serial"]["runs"])["work_total"]
    # In the lesson's order (the JSON file's keys are sorted).
    methods = {
        m: _method_figures(m, record["methods"][m], n, cpus, serial_work)
        for m in ("serial", "pool", "snakemake")
    }
    serial = methods["serial"]
    serial_loop = serial["time"] - serial["parts"]["startup"]
    for m, v in methods.items():
        v["speedup"] = speedup(serial["time"], v["time"])
        v["efficiency"] = efficiency(v["speedup"], v["effective_workers"])
        v["karp_flatt"] = karp_flatt(v["speedup"], v["effective_workers"])
        v["fixed"] = v["parts"]["startup"] + v["parts"]["exit"]
        v["max_with_fixed"] = speedup(
            serial["time"], v["fixed"] + serial_loop / v["effective_workers"]
        )
        if m != "serial":
            v.update(amdahl_fit([(v["effective_workers"], v["speedup"])], cpus))
    pool = methods["pool"]
    # A Pool whose workers do not inherit NumPy and Matplotlib (spawn, a macOS
    # student's): each pays an interpreter start and the imports (the loop's
    # start-up), in rounds of the CPUs that run at once.
    pool["spawn_estimate"] = pool["time"] + serial["parts"]["startup"] * math.ceil(
        pool["workers"] / pool["effective_workers"]
    )
    # A speedup above the hardware's limit can only mean disturbed runs.
    above = [m for m, v in methods.items() if v["speedup"] > 1.02 * v["max_expected"]]
    configured = sorted(stations) if stations is not None else sorted(covered)
    return {
        "stations": covered,
        "n_stations": n,
        "matches_config": configured == sorted(covered),
        "stations_not_timed": sorted(set(configured) - set(covered)),
        "stations_no_longer_configured": sorted(set(covered) - set(configured)),
        "repeats": record["repeats"],
        "cores": record["cores"],
        "plot_server": record["plot_server"],
        # How the Pool started its workers (records before it was recorded: None).
        "start_method": record.get("start_method"),
        "dry_run_wall": record["dry_run_wall"],
        "loadavg": record["loadavg"],
        "above_limit": above,
        "busy": _busy(record, methods["serial"], cpus),
        "start": record["start"],
        "end": record["end"],
        "methods": methods,
    }


def analyse_scaling(points: Sequence[Mapping], cpus: int | None) -> dict:
    """Speedup over the serial loop, efficiency and Karp-Flatt per point, an Amdahl
    fit per method; also against the method's own one-worker time (``self_*``): a
    fan-out whose jobs each cost more than the loop's iterations has f > 1 against the
    loop yet may scale well. ``p`` is ``min(workers, usable CPUs)``."""
    serial = [
        p["median"] for p in points if p["method"] == "serial" and p["workers"] == 1
    ]
    reference = serial[0] if serial else None
    rows, fits = [], {}
    for method in dict.fromkeys(p["method"] for p in points):
        pts = sorted(
            (p for p in points if p["method"] == method), key=lambda p: p["workers"]
        )
        own = [p["median"] for p in pts if p["workers"] == 1]
        ref = reference if reference is not None else (own[0] if own else None)
        method_rows = []
        for pt in pts:
            s = speedup(ref, pt["median"])
            own_s = speedup(own[0], pt["median"]) if own else None
            p_eff = effective_workers(pt["workers"], cpus)
            method_rows.append(
                {
                    **pt,
                    "effective_workers": p_eff,
                    "speedup": s,
                    "efficiency": efficiency(s, p_eff),
                    "karp_flatt": karp_flatt(s, p_eff),
                    "self_speedup": own_s,
                    "self_karp_flatt": karp_flatt(own_s, p_eff),
                }
            )
        fit = amdahl_fit(
            ((r["effective_workers"], r["speedup"]) for r in method_rows), cpus
        )
        own_fit = amdahl_fit(
            ((r["effective_workers"], r["self_speedup"]) for r in method_rows), cpus
        )
        fits[method] = {**fit, "self_serial_fraction": own_fit["serial_fraction"]}
        rows += method_rows
    return {"reference_serial_time": reference, "points": rows, "fits": fits}


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect_environment(
    cpus: int | None = None,
    cores: int | None = None,
    snakemake_version: str | None = None,
) -> dict:
    """Python version and build, GIL status, NumPy, Snakemake, usable CPUs, --cores."""
    from weatherplot.freethreading import this_interpreter

    me = this_interpreter()
    return {
        "python": me["version"],
        "python_build": sys.version,
        "implementation": platform.python_implementation(),
        "free_threaded_build": me["free_threaded_build"],
        "gil_enabled": me["gil_enabled"],
        "numpy": _version("numpy"),
        "matplotlib": _version("matplotlib"),
        "snakemake": snakemake_version or _version("snakemake"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "os_cpu_count": os.cpu_count(),
        "usable_cpus": cpus if cpus is not None else usable_cpus()["usable"],
        "cores": cores,
    }


@dataclass
class Inputs:
    """Everything the report reads; every piece is optional."""

    plots: list[dict] = field(default_factory=list)
    demos: dict[str, dict] = field(default_factory=dict)
    exercise: dict | None = None
    scaling: dict | None = None
    stations: list[str] | None = None
    cores: int | None = None
    cpus: int | None = None
    snakemake_version: str | None = None
    #: The free-threaded build's demo records, and the exercise on both builds.
    demos_free_threaded: dict[str, dict] = field(default_factory=dict)
    exercise_builds: dict | None = None
    quick_run: bool = False  # config quick_run: the report says it is one
    #: Station names by id, where the config or data/stations.csv gives one (the
    #: thumbnails' captions); a station without is shown by its id.
    station_names: dict[str, str] = field(default_factory=dict)


def _load(path, typed: type) -> dict | None:
    """A record file (None if absent), checked against its typed definition."""
    if path is None or not Path(path).exists():
        return None
    record = json.loads(Path(path).read_text())
    missing = typed.__required_keys__ - record.keys()
    if typed is DemoRecord:
        for variant in record.get("variants") or []:
            missing |= Variant.__required_keys__ - variant.keys()
    if missing:
        raise ValueError(
            f"{path}: a record in an older format (no {', '.join(sorted(missing))})"
            "; delete it and run snakemake again to rewrite it"
        )
    return record


def load_inputs(
    plots: Iterable = (),
    demos: Iterable = (),
    exercise=None,
    scaling=None,
    demos_free_threaded: Iterable = (),
    exercise_builds=None,
    **given,
) -> Inputs:
    """Read and check the record files (a missing one is skipped: the report says
    so); ``given``: the other fields of :class:`Inputs`, as they are."""

    def found(paths: Iterable, typed: type) -> list[dict]:
        return [r for r in (_load(p, typed) for p in paths) if r is not None]

    return Inputs(
        demos={r["name"]: r for r in found(demos, DemoRecord)},
        demos_free_threaded={
            r["name"]: r for r in found(demos_free_threaded, DemoRecord)
        },
        exercise_builds=_load(exercise_builds, ExerciseBuildsRecord),
        plots=found(plots, PlotRecord),
        exercise=_load(exercise, ExerciseRecord),
        scaling=_load(scaling, ScalingStudy),
        **given,
    )


def _cpus(inputs: Inputs) -> tuple[int, str]:
    """Usable CPUs: given, else as the timing jobs measured them, else ours."""
    if inputs.cpus:
        return inputs.cpus, "given to the report"
    for rec in [*inputs.demos.values(), inputs.exercise or {}]:
        if (rec.get("cpus") or {}).get("usable"):
            return int(rec["cpus"]["usable"]), "as the timing jobs measured them"
    return usable_cpus()["usable"], "as the report's own process found them"


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def run_details(inputs: Inputs, fanout: Mapping | None, env: Mapping) -> dict:
    """The report's opening: when the timings were taken (first start to last end),
    on which host(s), the CPUs, the interpreter, when the report was written."""
    spans = [
        (float(r["start"]), float(r["end"]))
        for r in [*inputs.demos.values(), inputs.exercise or None]
        if r is not None
    ]
    if fanout:
        spans.append(tuple(fanout["window"]))
    hosts = sorted(
        {
            str(r["host"])
            for r in [*inputs.demos.values(), *inputs.plots]
            if r.get("host")
        }
    )
    first = min((a for a, _ in spans), default=None)
    last = max((b for _, b in spans), default=None)
    return {
        "timed_from": _utc(first) if first is not None else None,
        "timed_to": _utc(last) if last is not None else None,
        "written": _utc(time.time()),
        "hosts": hosts,
        "cpus": env["usable_cpus"],
        "os_cpu_count": env["os_cpu_count"],
        "cores": env["cores"],
        "python": env["python"],
        "implementation": env["implementation"],
        "free_threaded_build": env["free_threaded_build"],
        "gil_enabled": env["gil_enabled"],
        # How the demos started their processes, and their interpreter's default.
        "start_methods_used": sorted(
            {str(r["start_method"]) for r in inputs.demos.values()}
        ),
        "start_method_defaults": sorted(
            {
                str(r["start_method_default"])
                for r in inputs.demos.values()
                if r.get("start_method_default")
            }
        ),
        # The demos' own interpreter, when it is not the report's.
        "demo_pythons": sorted(
            {str(r["python"]) for r in inputs.demos.values() if r.get("python")}
            - {env["python"]}
        ),
    }


def compute(inputs: Inputs) -> dict:
    """Every figure of the report, as plain JSON-able data."""
    cpus, cpus_source = _cpus(inputs)
    exclusive = [*inputs.demos.values(), *inputs.demos_free_threaded.values()]
    if inputs.exercise:
        exclusive.append({**inputs.exercise, "name": "exercise"})
    if inputs.exercise_builds:
        exclusive.append({**inputs.exercise_builds, "name": "exercise_builds"})
    scaling = None
    if inputs.scaling is not None:
        scaling = {
            **analyse_scaling(inputs.scaling["points"], cpus),
            "stations": inputs.scaling["stations"],
            "repeats": inputs.scaling["repeats"],
            "cpus": inputs.scaling["cpus"],
        }
    environment = collect_environment(cpus, inputs.cores, inputs.snakemake_version)
    fanout = fanout_stats(inputs.plots, exclusive, inputs.stations)
    return {
        "run": run_details(inputs, fanout, environment),
        "environment": environment,
        "cpus": cpus,
        "cpus_source": cpus_source,
        "cores": inputs.cores,
        "stations": inputs.stations,
        "station_names": inputs.station_names,
        "demos": {n: analyse_record(r, cpus) for n, r in inputs.demos.items()},
        "fanout": fanout,
        "exercise": analyse_exercise(inputs.exercise, inputs.stations, cpus),
        "scaling": scaling,
        "free_threading": free_threading_figures(
            inputs.demos, inputs.demos_free_threaded, inputs.exercise_builds, cpus
        ),
        "quick_run": inputs.quick_run,
    }
