"""The timing records' layouts: one typed definition for the code that writes a record
and the code that reads it (the timing report checks a record file against it).

- :class:`DemoRecord`: a threads-vs-processes demo (:mod:`weatherplot.demos`),
  ``results/timings/demos/{demo}.json``;
- :class:`ExerciseRecord`: the exercise's three whole commands
  (:mod:`weatherplot.exercise`), ``results/timings/exercise.json``;
- :class:`PlotRecord`: one plot job (:class:`weatherplot.timing.PhaseTimer`, filled
  in by :mod:`weatherplot.plotjob`), ``results/timings/plots/{station}.json``;
- :class:`ScalingStudy`: the scaling study (:mod:`weatherplot.scaling`),
  ``results/report/scaling.json``;
- :class:`ExerciseBuildsRecord`: the loop, the Pool and the threads on both CPython
  builds (:mod:`weatherplot.builds`), ``results/timings/free-threaded/exercise.json``.

A free-threaded build's demo records (``results/timings/free-threaded/demos/``) are
:class:`DemoRecord` too.
"""

from typing import Any, NotRequired, TypedDict


class Timing(TypedDict):
    """Repeated wall times (:func:`weatherplot.timing.summarise`)."""

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
    workers: int
    command: str
    includes: str
    runs: list  # CommandRun or FanoutRun, in the order they ran


class ExerciseRecord(TypedDict):
    kind: str  # "exercise"
    stations: list[str]
    repeats: int
    cores: int
    plot_server: bool
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
    measures: dict[str, str]  # what each time column of a point is
    start: float
    end: float
    reference_serial_time: float | None
    points: list[dict]  # method, workers, times/median/min/max (+ makespan_*)
    fits: dict[str, dict]


class BuildRecord(TypedDict):
    """One build's part of :class:`ExerciseBuildsRecord`."""

    interpreter: dict[str, Any]  # as its plot processes reported it
    draw: dict[str, Any]  # plot_seconds, draw_seconds, share, per_station
    threads_png_identical: bool  # the threads' PNGs are the loop's, byte for byte
    methods: dict[str, dict]  # serial, pool, threads: workers, command, runs


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
