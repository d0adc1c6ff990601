"""The 10,000-station DAG build against a trivial DAG of as many jobs, side by side.

    python docs/dag_benchmark.py [--stations 10000] [--rounds 3] [--workflow DIR ...]

Writes a config of N stations (``python -m weatherplot generate``) and a
trivial Snakefile of N jobs (one rule, ``touch {output}``) in a scratch folder, then
runs ``snakemake -n --quiet`` on each workflow (default: this checkout; give several,
say a ``git worktree`` of an older commit, to compare them) and on the trivial one,
alternating (the host's speed drifts: compare runs taken side by side). Prints each
run's wall time, CPU time (user + system) and peak memory, the medians, and each
workflow's medians as multiples of the trivial one's (docs/performance.md, "Parsing
and scale").
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL = """\
IDS = [f"X{{i:0{width}d}}" for i in range(1, {n} + 1)]


rule all:
    input:
        expand("out/{{station}}.txt", station=IDS),


rule one:
    output:
        "out/{{station}}.txt",
    shell:
        "touch {{output}}"
"""


def timed(cmd, cwd) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MiB of one command's process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(map(str, cmd))} (in {cwd}) failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workflow", type=Path, action="append")
    args = parser.parse_args(argv)
    workflows = [w.resolve() for w in args.workflow or [Path()]]
    snakemake = shutil.which("snakemake") or "snakemake"
    with tempfile.TemporaryDirectory(prefix="dag-benchmark-") as scratch:
        scratch = Path(scratch)
        big = scratch / "big.json"
        sizes = [str(args.stations), str(big)]
        subprocess.run(
            [sys.executable, "-m", "weatherplot", "generate", *sizes],
            cwd=workflows[0],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        trivial = scratch / "trivial"
        trivial.mkdir()
        width = max(5, len(str(args.stations)))
        (trivial / "Snakefile").write_text(TRIVIAL.format(n=args.stations, width=width))
        commands = {
            str(w): ([snakemake, "-n", "--quiet", "--configfile", big], w)
            for w in workflows
        }
        commands["trivial"] = ([snakemake, "-n", "--quiet"], trivial)
        runs = {name: [] for name in commands}
        for r in range(args.rounds):
            for name, (cmd, cwd) in commands.items():
                runs[name].append(timed(cmd, cwd))
                wall, cpu, mib = runs[name][-1]
                print(
                    f"round {r + 1}: {wall:6.2f} s wall {cpu:6.2f} s CPU "
                    f"{mib:4.0f} MiB  {name}"
                )
    medians = {
        name: [statistics.median(run[i] for run in rs) for i in range(3)]
        for name, rs in runs.items()
    }
    base = medians["trivial"]
    for name, (wall, cpu, mib) in medians.items():
        print(
            f"median:  {wall:6.2f} s wall {cpu:6.2f} s CPU {mib:4.0f} MiB  {name}"
            f" ({wall / base[0]:.2f}x, {cpu / base[1]:.2f}x, {mib / base[2]:.2f}x"
            " the trivial DAG's)"
        )


if __name__ == "__main__":
    main()
