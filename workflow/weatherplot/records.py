"""The timing records' layouts: the one contract between the code that measures (and
writes a record) and the report (which reads and checks it). Records hold numbers,
identifiers and the conditions of the run, never prose. Their files: README.md.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

#: Phases of a plot job that are the station's plotting work (the rest is overhead).
WORK_PHASES = ("read", "plot", "save")
# Before the work: a fresh process imports NumPy and Matplotlib ("imports"); a worker
# forked from the warm plot server only takes the job over ("handoff").
STARTUP_PHASES = ("imports", "handoff")


class Timing(TypedDict):
    """Repeated wall times (timing.summarise)."""

    times: list[float]
    median: float
    min: float
    max: float
    repeats: int


class SingleCall(Timing):
    label: str
    measured: bool  # False: the figure is the configured sleep, not a measurement


class Variant(Timing):
    """One way of running a demo's work (loop, threads, processes, ...)."""

    name: str
    label: str
    workers: int
    kind: str  # "serial", "threads" or "processes"
    cpu_seconds: list[float]
    cpu_median: float
    single_call_median: NotRequired[float]  # numpy's per-thread Generator: s_gen
    single_call: NotRequired[Timing]


class DemoRecord(TypedDict):
    """What every demo returns, the demo rule writes and the report reads."""

    kind: str  # "demo"
    name: str
    start: float
    end: float
    host: str
    pid: int
    python: str
    start_method: str  # how its processes started: fork, forkserver or spawn
    start_method_default: NotRequired[str]  # this interpreter's own default
    params: dict[str, Any]
    cpus: dict
    loadavg: list[float]
    single_call: SingleCall | None  # None: no timing prediction (shared_list)
    variants: list[Variant]
    results: dict[str, Any]
    # Which Python ran it (freethreading.this_interpreter): version, executable,
    # gil_enabled, free_threaded_build, gil_reenabled_by. Older records lack it.
    interpreter: NotRequired[dict[str, Any]]


class FanoutRun(TypedDict):
    """One nested ``snakemake`` run, timed from outside (epoch seconds)."""

    wall: float
    command_start: float
    command_end: float
    first_job_start: float
    last_job_end: float
    jobs: int
    work_total: float  # the plot jobs' read + plot + save, summed
    overhead_total: float  # their process start and imports or hand-over, summed
    workers: dict[str, int]  # how many jobs ran forked from the plot server, fresh
    cpu: NotRequired[float]  # user + system CPU seconds of the whole process tree


class CommandRun(TypedDict):
    """One run of the serial loop or the Pool, timed from outside."""

    wall: float
    loop_seconds: float  # inside the child: the loop or Pool.map itself
    work_total: float  # the stations' plotting, summed over stations
    cpu: NotRequired[float]  # user + system CPU seconds of the whole process tree


class MethodRecord(TypedDict):
    """One command of the exercise (what it is, in words, is the report's)."""

    workers: int
    runs: list  # CommandRun or FanoutRun, in the order they ran


class ExerciseRecord(TypedDict):
    kind: str  # "exercise"
    stations: list[str]
    repeats: int
    cores: int
    plot_server: bool
    start_method: NotRequired[str]  # the Pool's processes' (older records lack it)
    dry_run_wall: float  # snakemake -n --until plot_station: start-up + DAG build
    methods: dict[str, MethodRecord]
    cpus: dict
    interpreter: NotRequired[dict[str, Any]]  # which Python ran the commands
    loadavg: dict[str, list[float]]  # 1-, 5-, 15-minute load "before" and "after"
    start: float
    end: float


class PlotRecord(TypedDict):
    """One plot job. Times are epoch seconds, durations seconds."""

    kind: str  # "plot_station"
    name: str  # the station id
    host: str
    pid: int
    slurm_job_id: str | None  # set when the job runs under SLURM
    session: str  # which snakemake run launched the job (timing.session_id)
    process_start: float | None  # when the OS started the process (None off Linux)
    start: float  # the first line of the job's script
    end: float
    phases: dict[str, float]  # "imports" or "handoff", then "read", "plot", "save"
    worker: str  # "fresh" (own imports) or "forked" (from the warm plot server)
    station_format: NotRequired[str]
    cpu_seconds: NotRequired[float]  # this job's, in the process that plotted
    max_rss_mb: NotRequired[float]  # that process's peak during this job
    job_pid: NotRequired[int]  # forked: the job's own (waiting) process
    worker_job: NotRequired[int]  # forked: 1 for its worker's first job, 2, ...


class ScalingStudy(TypedDict):
    """The scaling study: one point per (method, workers), whole-command wall times."""

    kind: str  # "scaling"
    stations: list[str]
    workers: list[int]
    repeats: int
    cpus: dict
    start: float
    end: float
    reference_serial_time: float | None
    points: list[dict]  # method, workers, times/median/min/max (+ makespan_*)
    fits: dict[str, dict]


class BuildRecord(TypedDict):
    """One build's part of :class:`ExerciseBuildsRecord`."""

    interpreter: dict[str, Any]  # as its plot processes reported it
    start_method: NotRequired[str]  # how its Pool started its processes
    draw: dict[str, Any]  # plot_seconds, draw_seconds, share, per_station
    threads_png_identical: bool  # the threads' PNGs are the loop's, byte for byte
    methods: dict[str, MethodRecord]  # serial, pool, threads


class ExerciseBuildsRecord(TypedDict):
    kind: str  # "exercise_builds"
    stations: list[str]
    repeats: int
    workers: int
    builds: dict[str, BuildRecord]  # "gil", "free-threaded"
    png_identical_across_builds: bool
    cpus: dict
    loadavg: dict[str, list[float]]
    start: float
    end: float


# What a plot job's record (PlotRecord) says: read by the measuring side and the report.


def job_start(record: Mapping) -> float:
    """When a job began: the OS start of its process if known, else its first line."""
    ps = record["process_start"]
    return float(ps) if ps is not None else float(record["start"])


def job_startup(record: Mapping) -> float:
    """The start-up phase after our first line: imports, or the hand-over."""
    return float(sum(record["phases"].get(p, 0.0) for p in STARTUP_PHASES))


def job_overhead(record: Mapping) -> float:
    """Fixed per-job cost: process start to our first line, plus the imports (or the
    hand-over to a forked worker)."""
    ps = record["process_start"]
    before = float(record["start"]) - float(ps) if ps is not None else 0.0
    return max(before, 0.0) + job_startup(record)


def job_work(record: Mapping) -> float:
    """The station's plotting work: read + plot + save."""
    return float(sum(record["phases"].get(p, 0.0) for p in WORK_PHASES))
