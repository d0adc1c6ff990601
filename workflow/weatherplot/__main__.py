"""The package's one command line: the measurements, by hand and in the rules.

    python -m weatherplot exercise [--stations N] ...  # loop, Pool, snakemake
    python -m weatherplot scaling [--workers P] ...    # the scaling study, no Snakemake
    python -m weatherplot generate N OUT               # a config of N stations
    python -m weatherplot baseline MODE ...            # one baseline (the timed child)
    python -m weatherplot demo NAME --config JSON ...  # one demo (the demo rule's job)

By hand, each prints figures (the report's analysis) and asserts nothing: the
machine is shared and noisy. Imports are inside the commands, so a Pool worker
started by ``spawn`` (which imports this module again) imports nothing it does not
need.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _json_file(value: str):
    """A JSON file's content ('-': standard input), read while the arguments are
    parsed so that a bad one is argparse's error (argparse.FileType, which did that,
    is deprecated from Python 3.14)."""
    try:
        text = sys.stdin.read() if value == "-" else Path(value).read_text()
        return json.loads(text)
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"can't read '{value}': {error}") from None


def _stations(args) -> list[dict]:
    """The stations to time: the resolved entries a rule's job gives, else the
    config's (or N generated from the data folder's files); ``args.data`` defaults
    to the config's data_dir."""
    if args.station_entries is not None:
        args.data = args.data or Path("data")
        return args.station_entries
    import yaml  # after: the free-threaded build's Python may have no PyYAML

    from .scratch import generate_config
    from .stations import resolve_stations

    config = yaml.safe_load(args.config.read_text())
    args.data = args.data or Path(config.get("data_dir", "data"))
    if getattr(args, "stations", None):
        config = generate_config(args.stations, args.data, config)
        for entry in config["stations"]:  # absolute: the scratch copy is elsewhere
            entry["file"] = str(Path(entry["file"]).resolve())
    return list(resolve_stations(config).values())


def _job_log(args):
    """Where progress goes: a rule's job's log (``--log``), else the terminal."""
    if not args.log:
        return print
    import logging

    from .joblog import log_to

    log_to(args.log)
    return logging.info


# The targets the table judges by hand (docs/performance.md): snakemake at least this
# many times faster than the loop, its wall time at most this times the Pool's, its
# CPU per job above the Pool's (after its start-up and DAG build) at most this.
MIN_SPEEDUP, MAX_VS_POOL, MAX_EXTRA_CPU_MS = 1.75, 1.15, 20


def exercise_summary(record: dict, dry_cpu: float) -> dict[str, float]:
    """Medians and ratios of an exercise record whose runs carry ``cpu``: the timing
    report's analysis of it, in a few flat figures."""
    from .exercise import METHODS
    from .report.analysis import analyse_exercise

    methods = analyse_exercise(record, None, record["cpus"]["usable"])["methods"]
    wall = {m: methods[m]["time"] for m in METHODS}
    cpu = {m: methods[m]["cpu"] for m in METHODS}
    extra = cpu["snakemake"] - cpu["pool"]
    return {
        **{f"wall_{m}": wall[m] for m in METHODS},
        **{f"cpu_{m}": cpu[m] for m in METHODS},
        "speedup_vs_loop": methods["snakemake"]["speedup"],
        "pool_speedup_vs_loop": methods["pool"]["speedup"],
        "wall_vs_pool": wall["snakemake"] / wall["pool"],
        "extra_cpu": extra,
        "dry_run_cpu": dry_cpu,
        # Snakemake's start-up and DAG build (a dry run's CPU) are paid once; the
        # rest of the extra CPU is paid per job.
        "extra_cpu_per_job": (extra - dry_cpu) / len(record["stations"]),
    }


def exercise(args) -> None:
    """The exercise of this interpreter's build, its record written to ``--json``.
    A job of the rule (``--log``) logs its progress there and says on the terminal
    what it waits for; by hand, it also measures a dry run's CPU and prints the
    figures against their targets."""
    import logging

    from .announce import exercise_line
    from .atomicwrite import write_json_atomic
    from .exercise import run_builds, run_exercise
    from .measure import MeasureError

    stations = _stations(args)
    log = _job_log(args)
    if args.log:
        print(
            exercise_line(
                len(stations), args.cores, args.repeats, args.log, bool(args.gil_build)
            ),
            file=sys.stderr,
        )
    try:
        if args.gil_build:
            # The free-threaded build's: this interpreter beside the GIL build's.
            builds = {"gil": args.gil_build, "free-threaded": sys.executable}
            record = run_builds(
                stations, args.cores, args.repeats, builds, log, args.start_method
            )
            # What the workflow's probe saw turn the GIL back on at import (by name).
            interpreter = record["builds"]["free-threaded"]["interpreter"]
            interpreter["gil_reenabled_by"] = args.gil_reenabled_by
        else:
            dry_cpu = None if args.log else _dry_run_cpu(stations, args.data)
            record = run_exercise(
                stations,
                args.cores,
                args.repeats,
                args.data,
                plot_server=args.plot_server,
                log=log,
                root=args.root,
                start_method=args.start_method,
            )
    except MeasureError as error:
        # One line naming the station or the command, to the terminal and the log.
        if args.log:
            logging.error("%s", error)
        print(f"ERROR: exercise: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    if not args.log and not args.gil_build:
        figures = exercise_summary(record, dry_cpu)
        record = {**record, "summary": figures}
        print(_exercise_table(record, figures))
    if args.json:
        write_json_atomic(args.json, record)


def _dry_run_cpu(stations: list[dict], data: Path) -> float:
    """Snakemake's start-up and DAG build alone: a dry run's CPU, once warm."""
    from .measure import dry_run
    from .ownedtemp import owned_tempdir
    from .scratch import scratch_workflow

    with owned_tempdir("exercise-dry-") as scratch:
        workdir = scratch_workflow(Path(scratch), stations, data)
        dry_run(workdir)  # warm: imports, bytecode
        return dry_run(workdir)["cpu"]


def _exercise_table(record: dict, f: dict[str, float]) -> str:
    from .exercise import METHODS
    from .report.render import command_words

    n, cores = len(record["stations"]), record["cores"]
    load = record["loadavg"]
    lines = [
        f"{n} stations, --cores {cores}, {record['repeats']} repeat(s) alternated, "
        f"load {load['before'][0]:.1f} before, {load['after'][0]:.1f} after, "
        f"Pool started by {record['start_method']}",
        f"{'command':<52}{'wall':>9}{'CPU':>9}{'loop/it':>9}",
    ]
    for method in METHODS:
        wall, cpu = f[f"wall_{method}"], f[f"cpu_{method}"]
        workers = record["methods"][method]["workers"]
        command = command_words(method, workers)[0]
        lines.append(
            f"{command:<52}{wall:8.2f}s{cpu:8.2f}s{f['wall_serial'] / wall:8.2f}x"
        )

    def verdict(value: float, target: float, at_least: bool, unit: str) -> str:
        ok = value >= target if at_least else value <= target
        sign = ">=" if at_least else "<="
        return f"target {sign} {target:g}{unit}: {'met' if ok else 'NOT met'}"

    per_job_ms = f["extra_cpu_per_job"] * 1000
    speedup, vs_pool = f["speedup_vs_loop"], f["wall_vs_pool"]
    lines += [
        f"snakemake: {speedup:.2f}x the loop "
        f"({verdict(speedup, MIN_SPEEDUP, True, 'x')}), "
        f"{vs_pool:.2f}x the Pool's wall time "
        f"({verdict(vs_pool, MAX_VS_POOL, False, 'x')})",
        f"extra CPU against the Pool: {f['extra_cpu']:.2f} s, of which Snakemake's "
        f"start-up and DAG build (a dry run) {f['dry_run_cpu']:.2f} s; the rest is "
        f"{per_job_ms:.0f} ms per job "
        f"({verdict(per_job_ms, MAX_EXTRA_CPU_MS, False, ' ms')})",
    ]
    return "\n".join(lines)


def scaling(args) -> None:
    """The scaling study with the report's analysis to ``--json``, its chart to
    ``--png``; by hand, one line per point on the terminal."""
    from .atomicwrite import write_bytes_atomic, write_json_atomic
    from .cpus import usable_cpus
    from .report.analysis import analyse_scaling
    from .report.charts import chart_scaling
    from .scaling import run_study, worker_counts

    stations = _stations(args)
    study = run_study(
        stations,
        worker_counts(args.workers or usable_cpus()["usable"], args.cores),
        args.repeats,
        data_dir=args.data,
        log=_job_log(args),
        root=args.root,
        start_method=args.start_method,
    )
    study.update(analyse_scaling(study["points"], study["cpus"]["usable"]))
    study["job_threads"] = args.cores
    write_json_atomic(args.json, study)
    if args.png:
        write_bytes_atomic(args.png, chart_scaling(study))
    if args.log:
        import logging

        logging.info("wrote %s and %s", args.json, args.png)
        return
    for row in study["points"]:
        print(
            f"{row['method']:10s} p={row['workers']} {row['median']:7.2f} s "
            f"(min {row['min']:.2f}, max {row['max']:.2f})  speedup "
            f"{row['speedup']:.2f}x  Karp-Flatt {row['karp_flatt']}"
        )


def demo(args) -> None:
    """One demo, the demo rule's job on every build: its record to ``--output``,
    its progress to ``--log``; the demo's config is the demos section as JSON."""
    import logging

    from .announce import demo_line
    from .atomicwrite import write_json_atomic
    from .demos import DEMOS, run_demo
    from .demos.common import use_start_method
    from .joblog import log_to

    log_to(args.log)
    log = logging.getLogger("demo")
    config = json.loads(args.config)
    what = DEMOS[args.name].announce(config)
    print(demo_line(args.name, what, args.log), file=sys.stderr)
    try:
        use_start_method(args.start_method)
        record = run_demo(args.name, config)
        record["job_threads"] = args.job_threads
        record["interpreter"]["gil_reenabled_by"] = args.gil_reenabled_by
        write_json_atomic(args.output, record)
        log.info("%s demo: wrote %s", args.name, args.output)
    except Exception:
        log.exception("%s demo failed", args.name)
        print(f"ERROR: {args.name} demo failed (details: {args.log})", file=sys.stderr)
        sys.exit(1)


def generate(args) -> None:
    import yaml

    from .scratch import generate_config

    base = yaml.safe_load(args.base.read_text()) if args.base.exists() else {}
    config = generate_config(args.n, args.data, base)
    # JSON, which is YAML too: Snakemake tries json.load first, and PyYAML's
    # pure-Python loader (through yte) takes ~4-5 s for 10,000 entries here.
    args.out.write_text(json.dumps(config, indent=1) + "\n")
    print(f"{args.out}: {args.n} stations")


def parser() -> argparse.ArgumentParser:
    from .demos import DEMOS
    from .scratch import WORKFLOW_ROOT
    from .startmethod import SETTINGS

    top = argparse.ArgumentParser(prog="python -m weatherplot", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    config = {"type": Path, "default": Path("config/config.yaml")}

    # How the demos and the timed commands start processes.
    started = argparse.ArgumentParser(add_help=False)
    started.add_argument(
        "--start-method",
        choices=SETTINGS,
        default="default",
        help="how processes are started (default: this Python's own)",
    )
    # What the workflow's probe saw on the free-threaded build.
    reenabled = argparse.ArgumentParser(add_help=False)
    reenabled.add_argument(
        "--gil-reenabled-by",
        type=lambda names: [name for name in names.split(",") if name],
        default=[],
        help="comma-separated modules that turned the GIL back on at import",
    )

    # What the exercise and the scaling study time, by hand or as a rule's job.
    timed = argparse.ArgumentParser(add_help=False, parents=[started])
    timed.add_argument(
        "--config", **config, help="the config whose stations to time (%(default)s)"
    )
    timed.add_argument(
        "--station-entries",
        type=_json_file,
        metavar="FILE",
        help="the resolved stations as a JSON list ('-': standard input), instead "
        "of the config's (a rule's job gives its own)",
    )
    timed.add_argument(
        "--data", type=Path, help="station files (default: the config's data_dir)"
    )
    timed.add_argument(
        "--root", type=Path, default=WORKFLOW_ROOT, help="the workflow to copy"
    )
    timed.add_argument("--log", help="progress to this file (a rule's job's log)")

    ex = sub.add_parser(
        "exercise",
        parents=[timed, reenabled],
        help="the exercise's three whole commands side by side, wall and CPU time",
    )
    ex.add_argument(
        "--stations",
        type=int,
        metavar="N",
        help="N stations generated from the shipped ones (default: the config's)",
    )
    ex.add_argument(
        "--cores", type=int, default=2, help="Pool workers and snakemake --cores"
    )
    ex.add_argument(
        "--repeats", type=int, default=2, help="runs of each command, alternated"
    )
    ex.add_argument("--json", type=Path, help="also write the record here")
    ex.add_argument(
        "--plot-server",
        type=lambda word: {"True": True, "False": False}[word],
        default=True,
        help="the nested snakemake's plot_server (True or False)",
    )
    ex.add_argument(
        "--gil-build",
        metavar="PYTHON",
        help="time the loop, the Pool and the threads on this interpreter (the "
        "free-threaded build) and on PYTHON (the GIL build), taking turns",
    )
    ex.set_defaults(run=exercise)

    study = sub.add_parser(
        "scaling", parents=[timed], help="the scaling study on a config's stations"
    )
    study.add_argument("--repeats", type=int, default=3)
    study.add_argument("--workers", type=int, help="up to this many (default: CPUs)")
    study.add_argument(
        "--cores", type=int, help="a rule's job's threads: up to at least this many"
    )
    study.add_argument("--json", type=Path, default=Path("scaling.json"))
    study.add_argument("--png", type=Path)
    study.set_defaults(run=scaling)

    gen = sub.add_parser(
        "generate", help="write a config of N stations (JSON, which is also YAML)"
    )
    gen.add_argument("n", type=int)
    gen.add_argument("out", type=Path)
    gen.add_argument("--data", type=Path, default=Path("data"))
    gen.add_argument("--base", **config)
    gen.set_defaults(run=generate)

    one = sub.add_parser(
        "demo", parents=[started, reenabled], help="run one demo (the demo rule's job)"
    )
    one.add_argument("name", choices=sorted(DEMOS))
    one.add_argument("--config", required=True, help="the demos section, JSON")
    one.add_argument("--output", required=True)
    one.add_argument("--log", required=True)
    one.add_argument("--job-threads", type=int)
    one.set_defaults(run=demo)
    return top


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["baseline"]:  # the timed child: its own short usage line
        from .baselines import main as baseline

        baseline(argv[1:])
        return
    args = parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
