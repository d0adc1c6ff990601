"""The plot fan-out of the latest Snakemake run, job by job: its records, makespan,
jobs' overhead and work, and the stretches an exclusive timing job ran inside it."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..records import job_overhead, job_start, job_startup, job_work


def process_label(record: Mapping, group_size: int = 1) -> str:
    """A row of the Gantt chart: the SLURM job id when present, else ``host:pid``. A
    SLURM group job's stations (plotted side by side in one allocation) get a row
    each, labelled with the group, not one row nor cluster jobs of their own."""
    job = record["slurm_job_id"]
    if job and group_size > 1:
        return f"slurm {job} (group of {group_size}): {record['name']}"
    if job:
        return f"slurm {job}"
    return f"{record['host']}:{record['pid']}"


def same_session(a: str | None, b: str | None) -> bool:
    """Whether two session ids name the same ``snakemake`` run. A local id is
    ``host:pid:start``, each job computing ``start`` from the boot clock and the wall
    clock, so its last digits differ: starts within a second are one run (a pid is
    not reused within a second); any other id must match exactly."""
    if a == b:
        return True
    try:
        host_a, pid_a, start_a = a.rsplit(":", 2)
        host_b, pid_b, start_b = b.rsplit(":", 2)
        return (
            host_a == host_b
            and pid_a == pid_b
            and abs(float(start_a) - float(start_b)) <= 1.0
        )
    except (AttributeError, ValueError):  # None, or not a local id
        return False


def latest_session(records: Sequence[Mapping]) -> tuple[str | None, list[Mapping]]:
    """The records of the latest ``snakemake`` run (of the record that ended last)
    only: a rerun that replotted one station is not mixed with the run before it."""
    if not records:
        return None, []
    last = max(records, key=lambda r: float(r["end"]))
    session = last["session"]
    return session, [r for r in records if same_session(r["session"], session)]


def count_sessions(records: Sequence[Mapping]) -> int:
    """How many distinct runs (by :func:`same_session`) the records come from."""
    seen: list = []
    for r in records:
        s = r["session"]
        if not any(same_session(s, x) for x in seen):
            seen.append(s)
    return len(seen)


def exclusive_overlaps(
    window: tuple[float, float], records: Iterable[Mapping]
) -> list[dict]:
    """The parts of ``window`` during which an exclusive timing job (a demo, the
    exercise) ran, overlaps merged: not the fan-out's time, though in its makespan."""
    lo, hi = window
    clipped = sorted(
        (
            max(float(r["start"]), lo),
            min(float(r["end"]), hi),
            f"{r['kind']} {r['name']}",
        )
        for r in records
    )
    merged: list[dict] = []
    for a, b, name in clipped:
        if b <= a:
            continue
        if merged and a <= merged[-1]["end"]:
            merged[-1]["end"] = max(merged[-1]["end"], b)
            merged[-1]["jobs"].append(name)
        else:
            merged.append({"start": a, "end": b, "jobs": [name]})
    return [
        {**m, "seconds": m["end"] - m["start"], "jobs": sorted(m["jobs"])}
        for m in merged
    ]


def _job(r: Mapping, group_size: int = 1) -> dict:
    """One plot job on the timeline: when, where, its overhead and its work."""
    return {
        "station": r["name"],
        "row": process_label(r, group_size),
        "process_start": r["process_start"],
        "start": float(r["start"]),
        "job_start": job_start(r),
        "end": float(r["end"]),
        "duration": float(r["end"]) - job_start(r),
        "overhead": job_overhead(r),
        "work": job_work(r),
        "startup": job_startup(r),
        "worker": r["worker"],
    }


#: How much two jobs' recorded times may overlap and still count as one after the
#: other. A job's start is its process start read from /proc, in whole clock ticks
#: (10 ms at the usual 100 Hz) and through two clocks read at different moments; a
#: forked worker stamps its job's end after its reply, while Snakemake may already
#: start the next job. Seen: 0.02 s, under --cores 4, on one worker; a real second
#: job beside it overlaps by a whole job, at least ~0.3 s here.
CONCURRENCY_TOLERANCE = 0.05


def max_concurrent(jobs: Iterable[Mapping]) -> int:
    """How many jobs really ran at once (the jobs do not record the run's --cores).
    A job counts from :data:`CONCURRENCY_TOLERANCE` after its recorded start, so one
    that began within it before another ended follows it."""
    tolerance = CONCURRENCY_TOLERANCE
    real = [j for j in jobs if j["end"] - j["job_start"] > tolerance]
    events = sorted(
        [(j["job_start"] + tolerance, 1) for j in real] + [(j["end"], -1) for j in real]
    )
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def _spread(name: str, values: list[float]) -> dict:
    return {
        f"{name}_total": sum(values),
        f"{name}_mean": statistics.fmean(values),
        f"{name}_median": statistics.median(values),
        f"{name}_max": max(values),
    }


def fanout_stats(
    plot_records: Sequence[Mapping],
    exclusive_records: Sequence[Mapping] = (),
    stations: Sequence[str] | None = None,
) -> dict | None:
    """Makespan, summed job time, parallelism and overhead of the latest fan-out."""
    session, records = latest_session(plot_records)
    if not records:
        return None
    group_sizes = Counter(r["slurm_job_id"] for r in records if r["slurm_job_id"])
    jobs = [
        _job(r, group_sizes.get(r["slurm_job_id"], 1))
        for r in sorted(records, key=lambda r: (str(r["slurm_job_id"]), job_start(r)))
    ]
    first = min(j["job_start"] for j in jobs)
    last = max(j["end"] for j in jobs)
    excluded = exclusive_overlaps((first, last), exclusive_records)
    excluded_seconds = sum(e["seconds"] for e in excluded)
    makespan = last - first - excluded_seconds
    summed = sum(j["duration"] for j in jobs)
    overhead = _spread("overhead", [j["overhead"] for j in jobs])
    work = _spread("work", [j["work"] for j in jobs])
    covered = sorted({str(j["station"]) for j in jobs})
    return {
        "session": session,
        "sessions_seen": count_sessions(plot_records),
        "records_ignored": len(plot_records) - len(records),
        "jobs": jobs,
        "n_jobs": len(jobs),
        "window": [first, last],
        "raw_makespan": last - first,
        "excluded": excluded,
        "excluded_seconds": excluded_seconds,
        "excluded_jobs": sorted({j for e in excluded for j in e["jobs"]}),
        "makespan": makespan,
        "summed_job_time": summed,
        "effective_parallelism": summed / makespan if makespan > 0 else None,
        "max_concurrent": max_concurrent(jobs),
        "workers": dict(Counter(j["worker"] for j in jobs)),
        **overhead,
        **work,
        "overhead_share_of_work": (
            overhead["overhead_median"] / work["work_median"]
            if work["work_median"] > 0
            else None
        ),
        "stations_covered": covered,
        "stations_missing": sorted(set(stations or covered) - set(covered)),
    }
