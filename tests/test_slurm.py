"""The station fan-out as real SLURM jobs, through snakemake-executor-plugin-slurm.

Needs a running SLURM (``sbatch`` on PATH, ``sinfo`` answering with a usable node);
skipped, with the reason, otherwise. The CI starts a single-node cluster for it with
``.ci/slurm.sh`` and sets WEATHERPLOT_REQUIRE_SLURM=1, which turns every skip into a
failure: a CI that silently skips proves nothing.

The test runs the workflow's SLURM profile (profiles/slurm), which groups the plot
jobs, on all twelve stations, and checks what SLURM itself says: the timing records
name at most three cluster jobs, each one SLURM lists as COMPLETED on the record's
host and started for this run, with the CPUs the group needs, and inside at least
one of them two stations were plotted at the same time. Then it runs the same
profile without grouping on four stations (fewer, to keep CI short) and prints both
wall times; nothing is asserted about timings. See docs/slurm-ci.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import png_checks
import pytest
import yaml
from helpers import FIXTURE_DATA, copy_workflow

from weatherplot.slurmgroup import group_job_cpus, run_members_in_parallel

REQUIRED = os.environ.get("WEATHERPLOT_REQUIRE_SLURM") == "1"
TIMEOUT = 420  # seconds for one snakemake run; the plugin can hang past SIGTERM
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CLUSTER_JOBS = 3  # for the twelve stations: 4 per group job
UNGROUPED_STATIONS = 4  # the comparison run: fewer stations, to keep CI short
# "Job 3 has been submitted with SLURM jobid 7 (log: .../7.log)."
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: ")


def _no_slurm(reason: str):
    if REQUIRED:
        pytest.fail(f"WEATHERPLOT_REQUIRE_SLURM=1 but {reason}")
    print(f"\nSKIP test_slurm: {reason}")
    pytest.skip(reason)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def slurm_node() -> dict:
    """Name and CPU count of an idle or partly used node of the cluster, or skip."""
    if shutil.which("sbatch") is None:
        _no_slurm("sbatch is not on PATH (no SLURM client installed)")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _no_slurm(
            "snakemake-executor-plugin-slurm is not installed "
            "(pip install -e '.[slurm]')"
        )
    try:
        sinfo = _run(["sinfo", "-h", "-N", "-o", "%N %T %c"], timeout=20)
    except subprocess.TimeoutExpired:
        _no_slurm("sinfo did not answer within 20 s")
    if sinfo.returncode != 0:
        last = (sinfo.stderr.strip().splitlines() or [f"exit {sinfo.returncode}"])[-1]
        _no_slurm(f"no SLURM cluster answers sinfo ({last})")
    usable = [
        {"name": fields[0], "cpus": int(fields[2])}
        for fields in map(str.split, sinfo.stdout.splitlines())
        if len(fields) == 3 and fields[1] in {"idle", "mixed", "allocated"}
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
        # No slurmdbd on the CI cluster: sacct cannot answer (the profile says
        # squeue too; repeated here because without it the run never ends).
        "--slurm-status-command", "squeue",
        "--slurm-keep-successful-logs",
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


def _slurm_jobs() -> dict[str, dict]:
    """Every job SLURM still lists: state, node, name, CPUs, memory, times (1 s).

    Without slurmdbd, squeue still lists a job MinJobAge (300 s in the CI's
    slurm.conf) after it ends.
    """
    out = _run(
        ["squeue", "-h", "-t", "all", "-o", "%i|%T|%N|%j|%C|%m|%V|%S|%e"],
        timeout=20,
    )
    assert out.returncode == 0, out.stderr
    jobs = {}
    for line in out.stdout.splitlines():
        job_id, state, node, name, cpus, mem, *times = line.split("|")
        jobs[job_id] = {
            "state": state,
            "node": node,
            "name": name,
            "cpus": int(cpus),
            "mem": mem,
            **{
                key: time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%S"))
                for key, value in zip(("submit", "start", "end"), times, strict=True)
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
    png_checks.check_panels(path)  # the panels, read as pixels


def _records(workdir: Path, stations: list[str]) -> dict[str, dict]:
    return {
        station: json.loads(
            (workdir / f"results/timings/plots/{station}.json").read_text()
        )
        for station in stations
    }


def _most_at_once(records: list[dict]) -> int:
    """The most plot processes that ran at the same moment."""
    events = sorted(
        [(r["process_start"], 1) for r in records] + [(r["end"], -1) for r in records]
    )
    running = most = 0
    for _, step in events:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return most


def _by_job(records: dict[str, dict]) -> dict[str, list[str]]:
    members = defaultdict(list)
    for station, record in records.items():
        members[record["slurm_job_id"]].append(station)
    return dict(members)


def _check_cluster_jobs(records: dict[str, dict], output: str) -> dict[str, dict]:
    """Each record's job: submitted by this run, COMPLETED on the record's host."""
    submitted = set(SUBMITTED.findall(output))
    jobs = _slurm_jobs()
    for station, record in records.items():
        job_id = record["slurm_job_id"]
        assert job_id in submitted, (station, job_id, sorted(submitted))
        assert job_id in jobs, f"SLURM does not know job {job_id}: {sorted(jobs)}"
        assert jobs[job_id]["state"] == "COMPLETED", jobs[job_id]
        assert record["host"] == jobs[job_id]["node"], (record["host"], jobs[job_id])
    # The plugin names every job of a run with the run's id: what SLURM started
    # for this run, whatever the output says.
    names = {jobs[r["slurm_job_id"]]["name"] for r in records.values()}
    assert len(names) == 1, names
    return {i: job for i, job in jobs.items() if job["name"] in names}


def _ungrouped_profile(workdir: Path) -> Path:
    """profiles/slurm without its grouping: one cluster job per station."""
    config = yaml.safe_load((workdir / "profiles/slurm/config.yaml").read_text())
    assert "groups" in config, "profiles/slurm no longer groups plot jobs"
    del config["groups"], config["group-components"]
    profile = workdir / "profiles" / "slurm-ungrouped"
    profile.mkdir()
    (profile / "config.yaml").write_text(yaml.safe_dump(config))
    return profile


@pytest.mark.slurm
def test_grouped_plot_jobs_on_slurm(slurm_node, tmp_path):
    # The twelve real stations (the fixture's frozen copies of the shipped set).
    twelve = sorted(p.name[: -len(".dly.gz")] for p in FIXTURE_DATA.glob("*.dly.gz"))
    grouped_dir = copy_workflow(_mkdir(tmp_path / "grouped"), twelve)
    stations = sorted(
        s["id"]
        for s in yaml.safe_load((grouped_dir / "config/config.yaml").read_text())[
            "stations"
        ]
    )
    assert len(stations) == 12, stations
    # A group job asks for the CPUs of the stations it plots at once; --cores caps
    # that at what the node has (2 on the CI machine).
    cores = slurm_node["cpus"]
    result, grouped_wall = _snakemake(
        grouped_dir,
        *_targets(stations),
        "--profile", "profiles/slurm",
        "--cores", str(cores),
    )  # fmt: skip
    output = result.stdout + result.stderr
    for station in stations:
        _check_png(grouped_dir / f"results/plots/{station}.png")
    records = _records(grouped_dir, stations)
    run_jobs = _check_cluster_jobs(records, output)
    members = _by_job(records)

    assert len(run_jobs) <= MAX_CLUSTER_JOBS, (
        f"{len(stations)} stations took {len(run_jobs)} cluster jobs "
        f"(SLURM lists {sorted(run_jobs)}); expected at most {MAX_CLUSTER_JOBS}"
    )
    assert set(members) == set(run_jobs), (members, sorted(run_jobs))
    for job_id, group in members.items():
        # the CPUs its members need at once, up to --cores
        assert run_jobs[job_id]["cpus"] == min(len(group), cores), (
            job_id,
            group,
            run_jobs[job_id],
        )
        log = grouped_dir / ".snakemake/slurm_logs/group_plots_plot_station"
        assert (log / f"{job_id}.log").is_file(), sorted(log.iterdir())
    at_once = {
        job_id: _most_at_once([records[s] for s in group])
        for job_id, group in members.items()
    }
    if cores > 1:
        assert max(at_once.values()) >= 2, (
            "no group job plotted two stations at the same time "
            f"(most at once per job: {at_once})"
        )

    # The same profile without grouping, on fewer stations, for the wall time.
    ungrouped_stations = stations[:UNGROUPED_STATIONS]
    ungrouped_dir = copy_workflow(_mkdir(tmp_path / "ungrouped"), ungrouped_stations)
    profile = _ungrouped_profile(ungrouped_dir)
    result, ungrouped_wall = _snakemake(
        ungrouped_dir,
        *_targets(ungrouped_stations),
        "--profile", str(profile),
        "--jobs", str(len(ungrouped_stations)),
    )  # fmt: skip
    ungrouped_records = _records(ungrouped_dir, ungrouped_stations)
    ungrouped_jobs = _check_cluster_jobs(
        ungrouped_records, result.stdout + result.stderr
    )
    assert len(ungrouped_jobs) == len(ungrouped_stations), sorted(ungrouped_jobs)

    _print_figures(
        records, members, run_jobs, at_once, grouped_wall, cores,
        ungrouped_records, ungrouped_wall,
    )  # fmt: skip


class FakeWorkflow:
    """What slurmgroup reads of Snakemake's workflow object, and the one call."""

    def __init__(self, remote_exec=True, nodes=1):
        self.remote_exec = remote_exec
        self.nodes = nodes
        self.registered = {}

    def register_resource(self, name, value):
        self.registered[name] = value


IN_GROUP_JOB = {"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "4"}


@pytest.mark.parametrize(
    ("workflow", "environ", "expected"),
    [
        # the plugin's Snakemake inside a 4-CPU group job
        (FakeWorkflow(), IN_GROUP_JOB, 4),
        # the Snakemake of one station's srun step: no job limit
        (FakeWorkflow(nodes=None), IN_GROUP_JOB, None),
        # the main Snakemake on the login node
        (FakeWorkflow(remote_exec=False, nodes=100), IN_GROUP_JOB, None),
        # a one-station job: nothing to run side by side
        (FakeWorkflow(), {**IN_GROUP_JOB, "SLURM_CPUS_PER_TASK": "1"}, None),
        # not in a SLURM job at all
        (FakeWorkflow(), {}, None),
    ],
)
def test_group_job_cpus(workflow, environ, expected):
    assert group_job_cpus(workflow, environ) == expected


def test_group_members_start_without_waiting(monkeypatch):
    """In a group job the job-step executor's blocking run_job runs aside, and up
    to one member per CPU may run at once."""
    jobstep = pytest.importorskip("snakemake_executor_plugin_slurm_jobstep")
    import threading

    released = threading.Event()
    ran = []

    def blocking_run_job(self, job):  # like the plugin's: waits for its srun
        released.wait(120)  # the 120 s only end a hang
        ran.append(job)

    monkeypatch.setattr(jobstep.Executor, "run_job", blocking_run_job)
    for name, value in IN_GROUP_JOB.items():
        monkeypatch.setenv(name, value)
    workflow = FakeWorkflow()
    assert run_members_in_parallel(workflow) == 4
    assert workflow.registered == {"_nodes": 4}

    # Both calls return while their members still wait (none is released yet):
    # a run_job that waited for its member would have recorded it first.
    jobstep.Executor.run_job(None, "station A")
    jobstep.Executor.run_job(None, "station B")
    assert ran == [], "run_job waited for the member to end"
    released.set()
    deadline = time.monotonic() + 60  # only a hang takes this long
    while len(ran) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(ran) == ["station A", "station B"]
    # a second call (the Snakefile is parsed again) does not wrap it twice
    patched = jobstep.Executor.run_job
    run_members_in_parallel(FakeWorkflow())
    assert jobstep.Executor.run_job is patched


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _print_figures(
    records, members, run_jobs, at_once, grouped_wall, cores,
    ungrouped_records, ungrouped_wall,
):  # fmt: skip
    """Figures for docs/slurm-ci.md and the README; informative only."""
    n, m = len(records), len(ungrouped_records)
    print(f"\n=== SLURM, grouped plot jobs: {n} stations, --cores {cores} ===")
    print(
        f"{'job':>5} {'stations':>8} {'CPUs':>4} {'memory':>7} {'queue wait':>10}"
        f" {'job run':>7} {'most at once':>12}"
    )
    for job_id, group in sorted(members.items(), key=lambda item: int(item[0])):
        job = run_jobs[job_id]
        print(
            f"{job_id:>5} {len(group):>8} {job['cpus']:>4} {job['mem']:>7}"
            f" {job['start'] - job['submit']:>9.0f}s {job['end'] - job['start']:>6.0f}s"
            f" {at_once[job_id]:>12}"
        )
    startups = sorted(
        r["process_start"] - run_jobs[r["slurm_job_id"]]["start"]
        for r in records.values()
    )
    print(
        "group job start -> a station's plot process starts (srun, Snakemake, and"
        f" for later stations the wait for a CPU; +-1 s): "
        f"{startups[0]:.1f}-{startups[-1]:.1f} s"
    )
    print(
        f"wall: grouped {n} stations in {len(members)} cluster jobs"
        f" {grouped_wall:.1f} s ({grouped_wall / n:.1f} s per station);"
        f" ungrouped (same profile without groups; {m} stations only, to keep CI"
        f" short) {m} cluster jobs"
        f" {ungrouped_wall:.1f} s ({ungrouped_wall / m:.1f} s per station);"
        f" per station, ungrouped / grouped = "
        f"{(ungrouped_wall / m) / (grouped_wall / n):.2f}x"
    )
