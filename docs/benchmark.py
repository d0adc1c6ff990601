"""Developer benchmark for docs/performance.md: prints figures, asserts nothing (the
machine is shared and noisy).

    python docs/benchmark.py [--data data] [--repeats 5] [--jobs 6] [--json FILE]

1. ``.dly`` parse throughput of our NumPy reader and of pandas ``read_fwf``, side by
   side in one run on the same decompressed files, and their ratio.
2. The fixed cost of a fresh plot-job process: an empty interpreter and our imports
   (and, for comparison, Snakemake's script: preamble).
3. The same inside real plot jobs run by ``snakemake --cores 1`` on a scratch copy,
   forked from the warm plot server and in fresh processes, side by side.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from weatherplot.importpath import child_env
from weatherplot.io.daily import Daily
from weatherplot.io.ghcnd import read_ghcnd
from weatherplot.measure import plot_records, run_command, run_fanout
from weatherplot.ownedtemp import owned_tempdir
from weatherplot.records import job_overhead, job_startup, job_work
from weatherplot.scratch import WORKFLOW_ROOT, scratch_workflow
from weatherplot.timing import summarise

# What a plot job's process imports (it is a plain ``python`` command, see
# workflow/rules/plots.smk), and for comparison what it would cost more.
_WRAPPER = (
    "from snakemake.logging import logger; from snakemake.iocontainers import Snakemake"
)
IMPORT_STEPS = {
    "interpreter only": "pass",
    "+ numpy": "import numpy",
    "+ matplotlib Figure and Agg (a plot job's imports)": (
        "import weatherplot.plotting, weatherplot.stations"
    ),
    "(for comparison) + Snakemake's script: preamble": (
        f"import weatherplot.plotting, weatherplot.stations; {_WRAPPER}"
    ),
    "(for comparison) + pandas": "import weatherplot.plotting, pandas",
    "(for comparison) + matplotlib.pyplot": (
        "import weatherplot.plotting, matplotlib.pyplot"
    ),
}


def parse_throughput(data_dir: Path, repeats: int) -> dict:
    # The pandas reader is the tests' reference for ours.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pandas_reference import read_ghcnd_fwf

    files = sorted(data_dir.glob("*.dly.gz"))
    with tempfile.TemporaryDirectory() as scratch:
        plain = []
        for file in files:
            target = Path(scratch) / file.name.removesuffix(".gz")
            target.write_bytes(gzip.decompress(file.read_bytes()))
            plain.append(target)
        megabytes = sum(p.stat().st_size for p in plain) / 1e6

        def ours():
            for path in plain:
                read_ghcnd(path)

        def pandas_fwf():
            for path in plain:  # to the same daily table as ours, like for like
                table = read_ghcnd_fwf(path)
                Daily.from_points(table.index, {k: table[k].to_numpy() for k in table})

        ours(), pandas_fwf()  # warm the page cache and imports for both
        # Interleave the repeats so both see the same machine load.
        readers = {"numpy reader": ours, "pandas read_fwf": pandas_fwf}
        timings = {name: [] for name in readers}
        for _ in range(repeats):
            for name, read_all in readers.items():
                start = time.perf_counter()
                read_all()
                timings[name].append(time.perf_counter() - start)
    result = {"files": len(plain), "megabytes": megabytes}
    for name, times in timings.items():
        summary = summarise(times)
        result[name] = {
            "median_s": summary["median"],
            "min_s": summary["min"],
            "max_s": summary["max"],
            "mb_per_s": megabytes / summary["median"],
        }
    result["speedup"] = (
        result["pandas read_fwf"]["median_s"] / result["numpy reader"]["median_s"]
    )
    return result


def import_costs(repeats: int) -> dict:
    env = child_env()
    results = {}
    for label, code in IMPORT_STEPS.items():
        times = [
            run_command([sys.executable, "-c", code], label, 600, env=env)["wall"]
            for _ in range(repeats)
        ]
        results[label] = {"median_s": statistics.median(times), "min_s": min(times)}
    return results


def plot_jobs(data_dir: Path, jobs: int, plot_server: bool) -> dict:
    """Run ``jobs`` real plot jobs one at a time (--cores 1: no contention) and read
    their timing records."""
    with owned_tempdir("benchmark-") as scratch:
        # The config lists the timed stations, whichever the user's config lists.
        files = sorted(data_dir.glob("*.dly.gz"))[:jobs]
        stations = [{"id": p.name.removesuffix(".dly.gz"), "file": p} for p in files]
        workdir = scratch_workflow(Path(scratch), stations, data_dir)
        run_fanout(workdir, 1, ["--config", f"plot_server={plot_server}"])
        records = plot_records(workdir)
    rows = []
    for r in records:
        overhead = job_overhead(r)
        startup = job_startup(r)
        rows.append(
            {
                "station": r["name"],
                "worker": r.get("worker", "fresh"),
                "start_and_wrapper_s": overhead - startup,
                "startup_s": startup,
                "overhead_s": overhead,
                "work_s": job_work(r),
            }
        )
    overhead = statistics.median(row["overhead_s"] for row in rows)
    work = statistics.median(row["work_s"] for row in rows)
    # --cores 1 runs the jobs one after another: from one job's end to the next
    # job's process start, Snakemake does its own bookkeeping and scheduling.
    ordered = sorted(records, key=lambda r: r["process_start"])
    gaps = [b["process_start"] - a["end"] for a, b in itertools.pairwise(ordered)]
    return {
        "jobs": rows,
        "median_gap_between_jobs_s": statistics.median(gaps) if gaps else None,
        "median_overhead_s": overhead,
        "median_work_s": work,
        "overhead_share_of_work": overhead / work,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=WORKFLOW_ROOT / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=6, help="real plot jobs to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    figures = {}
    print(f"1. .dly parsing, {args.repeats} interleaved repeats (median)")
    parse = figures["parse"] = parse_throughput(args.data, args.repeats)
    print(f"   {parse['files']} files, {parse['megabytes']:.1f} MB uncompressed")
    for name in ("numpy reader", "pandas read_fwf"):
        row = parse[name]
        print(
            f"   {name:16s} {row['median_s']:7.3f} s  {row['mb_per_s']:7.1f} MB/s"
            f"  (min {row['min_s']:.3f}, max {row['max_s']:.3f})"
        )
    print(
        f"   ratio: numpy reader is {parse['speedup']:.1f}x pandas read_fwf "
        "(target >= 10x)"
    )

    print(f"\n2. Fixed cost of a fresh plot-job process, {args.repeats} runs (median)")
    costs = figures["imports"] = import_costs(args.repeats)
    for label, row in costs.items():
        print(f"   {label:52s} {row['median_s']:6.3f} s (min {row['min_s']:.3f})")

    print(f"\n3. {args.jobs} real plot jobs, snakemake --cores 1 (records of each job)")
    figures["plot_jobs"] = {}
    for plot_server, title in (
        (False, "fresh processes (plot_server: false): start-up = imports"),
        (True, "forked from the warm plot server: start-up = hand-over"),
    ):
        jobs = figures["plot_jobs"]["forked" if plot_server else "fresh"] = plot_jobs(
            args.data, args.jobs, plot_server
        )
        print(f"   {title}")
        print(
            f"   {'station':12s} {'process start':>13s} {'start-up':>8s}"
            f" {'overhead':>9s} {'work':>6s}"
        )
        for row in jobs["jobs"]:
            print(
                f"   {row['station']:12s} {row['start_and_wrapper_s']:13.3f}"
                f" {row['startup_s']:8.3f} {row['overhead_s']:9.3f}"
                f" {row['work_s']:6.3f}"
            )
        print(
            f"   median fixed overhead {jobs['median_overhead_s']:.3f} s (target <= "
            f"0.35 s) = {jobs['overhead_share_of_work']:.0%} of the median plotting "
            f"work {jobs['median_work_s']:.3f} s (target <= 30%)"
        )
        if jobs["median_gap_between_jobs_s"] is not None:
            print(
                "   Snakemake's own time between jobs (end to next process start): "
                f"median {jobs['median_gap_between_jobs_s']:.3f} s"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
