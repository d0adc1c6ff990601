"""The station fan-out as real SLURM jobs, through snakemake-executor-plugin-slurm.

Needs a running SLURM (``sbatch`` on PATH, ``sinfo`` answering with a usable node);
skipped, with the reason, otherwise. The CI starts a single-node cluster for it with
``.ci/slurm.sh`` and sets WEATHERPLOT_REQUIRE_SLURM=1, which turns every skip into a
failure: a CI that silently skips proves nothing.

The test runs the workflow's own SLURM profile on three stations and checks that
each plot job ran as the SLURM job Snakemake submitted for it: the job id in the
plot's timing record (SLURM_JOB_ID, seen inside the job) must be the one the plugin
reported for that station, and SLURM must list it as completed. It prints the
figures docs/slurm-ci.md quotes (wall time, queue wait, in-job start-up) beside a local
run of the same three plots; nothing is asserted about them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import THREE_STATIONS, copy_workflow

pytestmark = pytest.mark.slurm

REQUIRED = os.environ.get("WEATHERPLOT_REQUIRE_SLURM") == "1"
TIMEOUT = 300  # seconds for one snakemake run; the plugin can hang past SIGTERM
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# "Job 3 has been submitted with SLURM jobid 7
#  (log: .../slurm_logs/rule_plot_station/<wildcards>/7.log)."
SUBMITTED = re.compile(
    r"submitted with SLURM jobid (\d+) \(log: \S*/rule_plot_station/([^/]+)/\1\.log\)"
)


def _no_slurm(reason: str):
    if REQUIRED:
        pytest.fail(f"WEATHERPLOT_REQUIRE_SLURM=1 but {reason}")
    print(f"\nSKIP test_slurm: {reason}")
    pytest.skip(reason)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def slurm_node() -> str:
    """Name of an idle or partly used node of the running cluster, or skip."""
    if shutil.which("sbatch") is None:
        _no_slurm("sbatch is not on PATH (no SLURM client installed)")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _no_slurm(
            "snakemake-executor-plugin-slurm is not installed "
            "(pip install -e '.[slurm]')"
        )
    try:
        sinfo = _run(["sinfo", "-h", "-N", "-o", "%N %T"], timeout=20)
    except subprocess.TimeoutExpired:
        _no_slurm("sinfo did not answer within 20 s")
    if sinfo.returncode != 0:
        last = (sinfo.stderr.strip().splitlines() or [f"exit {sinfo.returncode}"])[-1]
        _no_slurm(f"no SLURM cluster answers sinfo ({last})")
    usable = [
        line.split()[0]
        for line in sinfo.stdout.splitlines()
        if line.split()[1:] and line.split()[1] in {"idle", "mixed", "allocated"}
    ]
    if not usable:
        _no_slurm(f"no usable SLURM node; sinfo says {sinfo.stdout.strip()!r}")
    return usable[0]


def _targets(stations: list[str]) -> list[str]:
    return [
        path
        for station in stations
        for path in (
            f"results/plots/{station}.png",
            f"results/timings/plots/{station}.json",
        )
    ]


def _snakemake(workdir: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run snakemake under `timeout -k` (the plugin may ignore SIGTERM)."""
    cmd = [
        "timeout", "-k", "10", str(TIMEOUT),
        sys.executable, "-m", "snakemake", *args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.time()
    result = _run(cmd, cwd=workdir, env=env, timeout=TIMEOUT + 30)
    wall = time.time() - t0
    if result.returncode != 0:
        squeue = _run(["squeue", "-t", "all"], timeout=20).stdout
        raise AssertionError(
            f"snakemake {' '.join(args)} exited {result.returncode} after {wall:.0f} s"
            f" (124/137: timed out)\n{result.stdout[-3000:]}\n{result.stderr[-8000:]}"
            f"\nsqueue -t all:\n{squeue}"
        )
    return result, wall


def _slurm_jobs(job_ids: list[str]) -> dict[str, dict]:
    """State, node and submit/start/end times (1 s resolution) of finished jobs.

    Without slurmdbd, squeue still lists a job MinJobAge (300 s in the CI's
    slurm.conf) after it ends.
    """
    out = _run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids),
         "-o", "%i|%T|%N|%V|%S|%e|%j"],
        timeout=20,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    jobs = {}
    for line in out.stdout.splitlines():
        job_id, state, node, submit, start, end, name = line.split("|")
        jobs[job_id] = {
            "state": state,
            "node": node,
            "name": name,
            **{
                key: time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%S"))
                for key, value in (("submit", submit), ("start", start), ("end", end))
            },
        }
    return jobs


def _check_png(path: Path) -> None:
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert width >= 200, (path, image.size)
    assert height >= 200, (path, image.size)


def _records(workdir: Path, stations: list[str]) -> dict[str, dict]:
    return {
        station: json.loads(
            (workdir / f"results/timings/plots/{station}.json").read_text()
        )
        for station in stations
    }


def test_plot_jobs_run_as_slurm_jobs(slurm_node, tmp_path):
    stations = THREE_STATIONS
    slurm_dir = copy_workflow(_mkdir(tmp_path / "slurm"), stations)
    local_dir = copy_workflow(_mkdir(tmp_path / "local"), stations)

    # The same three plots on this machine, for comparison: as many at once as
    # the node has CPUs for one-CPU jobs (2 on the CI machine).
    cpus = _run(["sinfo", "-h", "-n", slurm_node, "-o", "%c"], timeout=20)
    width = max(1, min(len(stations), int(cpus.stdout.split()[0])))
    _, local_wall = _snakemake(local_dir, *_targets(stations), "--cores", str(width))

    profile = slurm_dir / "workflow" / "profiles" / "slurm"
    result, slurm_wall = _snakemake(
        slurm_dir,
        *_targets(stations),
        "--profile", str(profile),
        "--jobs", str(len(stations)),
        # No slurmdbd on the CI cluster: sacct cannot answer (the profile says
        # squeue too; repeated here because without it the run never ends).
        "--slurm-status-command", "squeue",
        "--slurm-keep-successful-logs",
    )  # fmt: skip
    output = result.stdout + result.stderr

    submitted = {station: job for job, station in SUBMITTED.findall(output)}
    assert set(submitted) == set(stations), (
        f"expected one SLURM submission per station, found {submitted}\n"
        f"{output[-4000:]}"
    )
    assert len(set(submitted.values())) == len(stations), submitted

    for station in stations:
        _check_png(slurm_dir / f"results/plots/{station}.png")
        _check_png(local_dir / f"results/plots/{station}.png")

    records = _records(slurm_dir, stations)
    local_records = _records(local_dir, stations)
    jobs = _slurm_jobs(list(submitted.values()))
    for station, record in records.items():
        job_id = submitted[station]
        # The id SLURM gave the job, seen from inside the plot script.
        assert record["slurm_job_id"] == job_id, (station, record, submitted)
        assert job_id in jobs, f"SLURM does not know job {job_id}: {jobs}"
        assert jobs[job_id]["state"] == "COMPLETED", jobs[job_id]
        assert record["host"] == jobs[job_id]["node"], (record["host"], jobs[job_id])
        # The job's own log (kept with --slurm-keep-successful-logs) shows the
        # snakemake inside the job running this station's plot.
        log = slurm_dir / ".snakemake/slurm_logs/rule_plot_station" / station
        text = (log / f"{job_id}.log").read_text()
        assert "rule plot_station:" in text, text[-2000:]
        assert f"station={station}" in text, text[-2000:]
        assert local_records[station]["slurm_job_id"] is None, local_records[station]

    _print_figures(
        stations, records, local_records, jobs, submitted, slurm_wall, local_wall
    )


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _print_figures(
    stations, records, local_records, jobs, submitted, slurm_wall, local_wall
):
    """Figures for docs/slurm-ci.md; informative only, never asserted."""
    n = len(stations)
    print(f"\n=== SLURM fan-out: {n} plot jobs ===")
    print(
        f"{'station':<12} {'job':>5} {'queue wait':>10} {'job start->script':>17}"
        f" {'script':>7} {'local script':>12}"
    )
    waits, startups = [], []
    for station in stations:
        rec, job = records[station], jobs[submitted[station]]
        wait = job["start"] - job["submit"]  # 1 s resolution
        startup = rec["process_start"] - job["start"]  # srun + snakemake in the job
        waits.append(wait)
        startups.append(startup)
        local = local_records[station]
        print(
            f"{station:<12} {submitted[station]:>5} {wait:>9.0f}s {startup:>16.1f}s"
            f" {rec['end'] - rec['process_start']:>6.2f}s"
            f" {local['end'] - local['process_start']:>11.2f}s"
        )
    per_job = (slurm_wall - local_wall) / n
    print(
        f"wall: SLURM run {slurm_wall:.1f} s, local run {local_wall:.1f} s "
        f"(ratio {slurm_wall / local_wall:.1f}x; {per_job:+.1f} s per job)\n"
        f"queue wait (submit -> start, 1 s resolution): median "
        f"{statistics.median(waits):.0f} s; in-job start-up (SLURM start -> plot "
        f"script process, +-1 s): median {statistics.median(startups):.1f} s"
    )
