"""The threads-vs-processes demos: their results, their records, the memory guard.

Tiny sizes throughout (t = 0.05 s, n = 1000). No assertion depends on how long
anything took: the machine is shared and noisy. Only structural facts about the
timings are checked (every repeat recorded, median between min and max).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from helpers import run_snakemake
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from weatherplot import cpus, demos
from weatherplot.atomicwrite import write_json_atomic
from weatherplot.demos.common import (
    _run_processes,
    check_numpy_memory,
    mp_context,
    numpy_peak_bytes,
    process_start_cost,
    use_start_method,
)
from weatherplot.demos.contended import contended_demo
from weatherplot.demos.cpu_bound import generator_call, numpy_demo, rand_call
from weatherplot.demos.pool import func, pool_demo
from weatherplot.demos.pure_python import count_up, pure_python_demo
from weatherplot.demos.shared_list import shared_list_demo
from weatherplot.demos.sleep import sleep_demo

T = 0.05
N = 1000
REPO = Path(__file__).resolve().parents[1]

RECORD_KEYS = {
    "kind",
    "name",
    "start",
    "end",
    "host",
    "pid",
    "params",
    "cpus",
    "single_call",
    "variants",
    "results",
}
VARIANT_KEYS = {
    "name",
    "label",
    "workers",
    "kind",
    "times",
    "median",
    "cpu_seconds",
}
CPU_KEYS = {"usable", "os_cpu_count", "affinity", "cgroup_quota"}


def check_record(record: dict, name: str, variants: list[str], repeats: int) -> None:
    assert record.keys() >= RECORD_KEYS
    assert record["kind"] == "demo"
    assert record["name"] == name
    assert record["start"] <= record["end"]
    assert record["cpus"].keys() == CPU_KEYS
    assert [v["name"] for v in record["variants"]] == variants
    for v in record["variants"]:
        assert VARIANT_KEYS | {"min", "max"} <= v.keys()
        assert len(v["times"]) == repeats
        assert v["min"] <= v["median"] <= v["max"]
        assert v["kind"] in {"serial", "threads", "processes"}
    # Records hold numbers, ids and conditions; the report owns the words.
    assert "includes" not in str([sorted(v) for v in record["variants"]])
    assert "timer" not in record
    assert record["start_method"] == mp_context().get_start_method()
    # The record is what the script writes: it must survive JSON unchanged.
    assert json.loads(json.dumps(record)) == record


@pytest.fixture(scope="module")
def shared_list():
    return shared_list_demo(threads=10, iterations=5, pause=0.001, repeats=1)


def test_shared_list_threads_update_the_one_list(shared_list):
    assert shared_list["results"]["threads"] == [11, 2, 3]


def test_shared_list_processes_leave_the_parent_alone(shared_list):
    results = shared_list["results"]
    assert results["processes"] == [1, 2, 3]
    # ... because each child incremented its own copy.
    assert results["processes_child_view"] == [2, 2, 3]
    assert results["processes_child_views_identical"] is True


def test_read_modify_write_loses_updates_without_a_lock_and_none_with_one(shared_list):
    results = shared_list["results"]
    # Ten threads, five increments each, from a[0] = 1: 51 if nothing is lost.
    assert results["expected"] == 51
    assert results["unlocked_final"] < 51
    assert results["unlocked_lost_updates"] > 0
    assert results["locked_final"] == 51
    assert results["locked_lost_updates"] == 0


def test_shared_list_record(shared_list):
    check_record(
        shared_list,
        "shared_list",
        ["threads", "processes", "threads_unlocked", "threads_locked"],
        repeats=1,
    )
    assert shared_list["single_call"] is None


def assert_start_cost_logged(record, caplog, workers: int) -> None:
    """The recorded start-up cost is the one measured and logged (its median over
    the logged repeats), and starting processes costs time."""
    cost = record["results"]["process_start_cost"]
    logged = [
        r.getMessage() for r in caplog.records if "process start-up of" in r.message
    ]
    assert logged == [
        f"process start-up of {workers} workers: {cost:.3f} s (median of 3)"
    ], logged
    assert cost > 0


def test_pool_maps_func_over_the_lesson_inputs(caplog):
    caplog.set_level("INFO", logger="weatherplot")
    record = pool_demo(t=T, workers=4, inputs=(2, 1, 9), repeats=1)
    assert record["results"]["result"] == [3, 2, 10]
    assert record["results"]["inputs"] == [2, 1, 9]
    assert_start_cost_logged(record, caplog, workers=4)
    check_record(record, "pool", ["pool"], repeats=1)
    assert record["params"] == {"t": T, "workers": 4, "inputs": [2, 1, 9], "repeats": 1}


def test_func_is_the_lessons():
    assert func(2, t=0) == 3


def test_sleep_record(caplog):
    caplog.set_level("INFO", logger="weatherplot")
    record = sleep_demo(t=T, workers=4, repeats=2)
    check_record(record, "sleep", ["loop", "threads", "processes"], repeats=2)
    assert [v["workers"] for v in record["variants"]] == [1, 4, 4]
    assert record["single_call"]["median"] == T
    assert record["single_call"]["measured"] is False
    assert_start_cost_logged(record, caplog, workers=4)


def test_numpy_record():
    record = numpy_demo(n=N, workers=3, repeats=2)
    check_record(
        record,
        "numpy",
        ["loop", "threads", "processes", "threads_generator"],
        repeats=2,
    )
    assert record["params"] == {"n": N, "workers": 3, "repeats": 2}
    assert record["single_call"]["measured"] is True
    assert len(record["single_call"]["times"]) == 2
    generator = record["variants"][-1]
    assert generator["workers"] == 3
    assert generator["single_call_median"] == generator["single_call"]["median"]
    # Three arrays of 1000 float64 + the parent's 200 MiB + 50 MiB per child.
    assert record["results"]["peak_memory_estimate"] == 24_000 + 350 * 2**20
    assert "time" in record["warmup"]


def test_workers_return_a_summary_not_the_array():
    # What a child process sends back through the queue: a few bytes.
    for call in (rand_call, generator_call):
        shape, first = call(N)
        assert shape == (N,)
        assert 0.0 <= first < 1.0


def test_processes_run_in_other_processes():
    pids = _run_processes(os.getpid, [()] * 3)
    assert len(set(pids)) == 3
    assert os.getpid() not in pids


@pytest.fixture
def start_method():
    """Set the demos' start method for one test; back to ``default`` after it."""
    yield use_start_method
    use_start_method("default")


def test_the_demos_start_processes_with_the_configured_method(start_method):
    assert (
        mp_context().get_start_method() == (multiprocessing.get_all_start_methods()[0])
    )
    for method in multiprocessing.get_all_start_methods():
        assert start_method(method) == method
        record = shared_list_demo(threads=2, iterations=1, pause=0, repeats=1)
        assert record["start_method"] == method
        assert (
            record["start_method_default"]
            == (multiprocessing.get_all_start_methods()[0])
        )
        # Each child changed its own copy of the list, never the parent's.
        assert record["results"]["processes"] == [1, 2, 3]
        assert record["results"]["processes_child_view"] == [2, 2, 3]


def _touch_pid(folder: str) -> None:
    Path(folder, str(os.getpid())).touch()


def test_the_start_cost_is_measured_with_the_demos_own_call(tmp_path):
    """The numpy demo's start cost makes its children call NumPy (under spawn and
    forkserver each imports it then), not a no-op that needs nothing."""
    process_start_cost(3, repeats=1, call=(_touch_pid, (str(tmp_path),)))
    pids = {int(p.name) for p in tmp_path.iterdir()}
    assert len(pids) == 3 and os.getpid() not in pids


def test_memory_guard_refuses_a_huge_array_naming_the_config_key():
    with pytest.raises(ValueError, match=r"demos\.array_size") as err:
        check_numpy_memory(10**13, 4)
    assert "GiB" in str(err.value)
    # The demo itself refuses before allocating anything.
    with pytest.raises(ValueError, match=r"demos\.array_size"):
        numpy_demo(n=10**13, workers=4, repeats=1)


def test_memory_guard_compares_the_estimate_with_what_is_available():
    need = numpy_peak_bytes(10**8, 4)
    assert need >= 4 * 10**8 * 8  # four 800 MB arrays alive at once
    assert check_numpy_memory(10**8, 4, available=need) == need
    with pytest.raises(ValueError, match=r"demos\.array_size = 100000000"):
        check_numpy_memory(10**8, 4, available=need - 1)


def demos_schema() -> dict:
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    return schema["properties"]["demos"]


def validated(demos_config: dict) -> dict:
    config = {"stations": [{"id": "X1"}], "demos": demos_config}
    validate(
        config, str(REPO / "workflow/schemas/config.schema.yaml"), set_default=True
    )
    return config["demos"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("array_size", 0),
        ("workers", 0),
        ("sleep_seconds", 0),
        ("shared_list_threads", 1),  # a race needs two threads
        ("shared_list_pause", -0.001),
    ],
)
def test_the_schema_refuses_bad_demo_sizes_naming_the_key(key, value):
    with pytest.raises(WorkflowError, match=key):
        validated({key: value})


def test_every_demo_runs_on_the_schema_defaults_alone():
    """The schema is the one place for the demos' defaults: a validated empty section
    holds every key a demo reads, and every key is read by some demo."""
    defaults = validated({})
    read = {key for demo in demos.DEMOS.values() for key in demo.config}
    assert read == set(demos_schema()["properties"]) == set(defaults)
    assert defaults["shared_list_threads"] == 10 and defaults["pool_inputs"] == [
        2,
        1,
        9,
    ]


def test_run_demo_dispatches_and_the_command_rejects_unknown_names(tmp_path, capsys):
    from weatherplot.__main__ import main

    config = validated({"sleep_seconds": 0.001, "array_size": N, "workers": 2})
    assert demos.run_demo("pool", config)["results"]["result"] == [3, 2, 10]
    with pytest.raises(SystemExit) as exit_:
        main(["demo", "nap", "--config", "{}", "--output", "x.json", "--log", "x.log"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nap'" in capsys.readouterr().err


def test_usable_cpus_is_sane():
    info = cpus.usable_cpus()
    assert info.keys() == CPU_KEYS
    assert 1 <= info["usable"] <= (os.cpu_count() or 1)
    assert info["usable"] <= info["affinity"]
    assert info["cgroup_quota"] is None or info["cgroup_quota"] > 0


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="Linux's /proc")
def test_available_memory_is_at_most_the_machines():
    meminfo = {
        line.split(":")[0]: int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
    }
    mem = cpus.available_memory()
    assert 0 < mem["available"] <= meminfo["MemTotal"]
    # The machine's figure is the kernel's MemAvailable (read a moment apart).
    assert mem["meminfo_available"] == pytest.approx(meminfo["MemAvailable"], rel=0.2)


def _killed_or_sleeping(i: int, pid_file: str | None = None) -> int:
    """Child 0 is killed before it reports; the others would sleep for ten minutes
    (writing their pid to ``pid_file`` first)."""
    if i == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()))
    time.sleep(600)
    return i


def run_bounded(target, args_list, **kwargs) -> BaseException | None:
    """Run _run_processes in a thread; fail the test if it is not back in 120 s
    (a hang: far less than the sleeping children's ten minutes, far more than any
    load makes of the second it takes)."""
    outcome: dict = {}

    def call():
        try:
            _run_processes(target, args_list, **kwargs)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "_run_processes still waiting after 120 s"
    return outcome.get("error")


def test_a_child_killed_before_it_reports_is_a_clear_error_in_bounded_time(tmp_path):
    pid_file = tmp_path / "sibling.pid"
    error = run_bounded(_killed_or_sleeping, [(0,), (1, str(pid_file))])
    assert isinstance(error, RuntimeError)
    assert "demo-0" in str(error) and "code -9" in str(error)
    assert "before reporting its result" in str(error)
    # Not waited for (it would sleep ten minutes) but stopped and reaped: its
    # process is gone (or it was stopped before it even wrote its pid).
    if pid_file.exists():
        assert not Path(f"/proc/{int(pid_file.read_text())}").exists()


def test_a_child_that_never_reports_hits_the_deadline():
    error = run_bounded(_killed_or_sleeping, [(1,)], timeout=1.0)
    assert isinstance(error, RuntimeError) and "at the deadline" in str(error)


# --- cgroup parsing, on fake /proc and /sys trees --------------------------------


def fake_proc(tmp_path: Path, cgroup: str, mounts: list[str]) -> Path:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup)
    (proc / "self" / "mountinfo").write_text("\n".join(mounts) + "\n")
    return proc


def test_cgroup_v2_quota_and_memory(tmp_path):
    root = tmp_path / "sys" / "fs" / "cgroup"
    job = root / "job.slice" / "job1"
    job.mkdir(parents=True)
    (root / "cpu.max").write_text("max 100000\n")
    (root / "job.slice" / "cpu.max").write_text("300000 100000\n")
    (job / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: the tightest
    (root / "job.slice" / "memory.max").write_text("max\n")
    (root / "job.slice" / "memory.current").write_text("0\n")
    (job / "memory.max").write_text(f"{3 * 2**30}\n")
    (job / "memory.current").write_text(f"{2**30}\n")
    proc = fake_proc(
        tmp_path,
        "0::/job.slice/job1\n",
        [f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"],
    )
    assert cpus.cgroup_cpu_quota(proc) == 1.5
    info = cpus.usable_cpus(proc)
    assert info["cgroup_quota"] == 1.5
    assert info["usable"] == min(info["affinity"], 2)  # ceil(1.5)
    mem = cpus.available_memory(proc)
    assert mem["meminfo_available"] > 0  # the machine's (psutil's)
    assert mem["cgroup_headroom"] == 2 * 2**30
    assert mem["available"] == min(mem["meminfo_available"], 2 * 2**30)


def test_a_parent_cgroups_tighter_limit_counts(tmp_path):
    root = tmp_path / "sys" / "fs" / "cgroup"
    job = root / "user.slice" / "job1"
    job.mkdir(parents=True)
    (root / "user.slice" / "cpu.max").write_text("50000 100000\n")  # 0.5 CPU
    (job / "cpu.max").write_text("max 100000\n")
    (root / "user.slice" / "memory.max").write_text(f"{2**30}\n")
    (root / "user.slice" / "memory.current").write_text(f"{2**29}\n")
    proc = fake_proc(
        tmp_path,
        "0::/user.slice/job1\n",
        [f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"],
    )
    assert cpus.cgroup_cpu_quota(proc) == 0.5
    assert cpus.cgroup_memory_headroom(proc) == 2**29


def test_cgroup_v1_quota_and_unlimited_memory(tmp_path):
    sysfs = tmp_path / "sys" / "fs" / "cgroup"
    cpu = sysfs / "cpu,cpuacct"
    mem = sysfs / "memory"
    (cpu / "docker" / "abc").mkdir(parents=True)
    (mem / "docker" / "abc").mkdir(parents=True)
    (cpu / "docker" / "abc" / "cpu.cfs_quota_us").write_text("50000\n")
    (cpu / "docker" / "abc" / "cpu.cfs_period_us").write_text("100000\n")
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    (mem / "docker" / "abc" / "memory.limit_in_bytes").write_text(
        "9223372036854771712\n"
    )
    (mem / "docker" / "abc" / "memory.usage_in_bytes").write_text("1000\n")
    proc = fake_proc(
        tmp_path,
        "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n",
        [
            f"32 31 0:29 / {cpu} rw - cgroup cgroup rw,cpu,cpuacct",
            f"35 31 0:32 / {mem} rw - cgroup cgroup rw,memory",
        ],
    )
    assert cpus.cgroup_cpu_quota(proc) == 0.5
    assert cpus.usable_cpus(proc)["usable"] == 1  # never 0
    assert cpus.cgroup_memory_headroom(proc) is None  # the v1 "unlimited" sentinel
    mem = cpus.available_memory(proc)
    assert mem["available"] == mem["meminfo_available"] > 0


def test_no_cgroups_at_all(tmp_path):
    proc = fake_proc(tmp_path, "", [])
    assert cpus.cgroup_cpu_quota(proc) is None
    assert cpus.usable_cpus(proc)["usable"] == cpus.cpu_affinity()
    mem = cpus.available_memory(proc)
    assert mem["cgroup_headroom"] is None
    assert mem["available"] == mem["meminfo_available"] > 0  # the machine's


def test_write_json_atomic_round_trip(tmp_path):
    record = pool_demo(t=0, workers=2, inputs=(2, 1, 9), repeats=1)
    write_json_atomic(tmp_path / "pool.json", record)
    assert json.loads((tmp_path / "pool.json").read_text()) == record


def _killed(*_args, **_kwargs) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_a_pool_worker_killed_mid_map_is_a_clear_error_in_bounded_time(
    monkeypatch, start_method, method
):
    start_method(method)
    # Patched where pool_demo looks them up: its own module. The Pool is handed
    # partial(func), func pickled by name: forked workers inherit the patch, and
    # forkserver and spawn workers import _killed from this module.
    monkeypatch.setattr(demos.pool, "func", _killed)
    monkeypatch.setattr(demos.pool, "POOL_SLACK", 2.0)
    outcome: dict = {}

    def call():
        try:
            pool_demo(t=0.01, workers=2, inputs=(2, 1, 9), repeats=1)
        except RuntimeError as error:
            outcome["error"] = error

    monkeypatch.setattr(demos.pool, "process_start_cost", lambda *a, **k: 0.0)
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "pool_demo still waiting after 30 s"
    assert "a worker died" in str(outcome["error"])


# -- The demos that tell the builds apart (issue 21) ----------------------------------


def test_every_record_names_the_interpreter_that_ran_it():
    record = sleep_demo(t=0.001, workers=2, repeats=1)
    interpreter = record["interpreter"]
    assert interpreter["executable"] == sys.executable
    assert interpreter["version"] == sys.version.split()[0]
    assert interpreter["gil_enabled"] is getattr(sys, "_is_gil_enabled", lambda: True)()


def test_pure_python_record():
    record = pure_python_demo(n=20_000, workers=3, repeats=2)
    check_record(record, "pure_python", ["loop", "threads", "processes"], repeats=2)
    assert [v["workers"] for v in record["variants"]] == [1, 3, 3]
    assert record["single_call"]["measured"] is True
    assert record["results"]["checksum"] == count_up(20_000)
    assert record["params"] == {"n": 20_000, "workers": 3, "repeats": 2}


def test_count_up_is_plain_arithmetic():
    assert count_up(8) == sum(i * i % 7 for i in range(8))


def test_contended_counts_every_update_with_a_lock_and_reports_the_rest():
    record = contended_demo(threads=3, increments=2000, seed_threads=10, repeats=2)
    check_record(
        record,
        "contended",
        ["list_unlocked", "list_locked", "attr_unlocked", "attr_locked", "seed"],
        repeats=2,
    )
    results = record["results"]
    assert results["expected"] == 6000
    for name in ("list_locked", "attr_locked"):
        assert results[name]["final"] == [6000, 6000]
        assert results[name]["lost_max"] == 0
    for name in ("list_unlocked", "attr_unlocked"):
        # Whatever the race did, the count is the shortfall of what was left.
        assert len(results[name]["final"]) == 2
        assert results[name]["lost"] == [6000 - v for v in results[name]["final"]]
        assert results[name]["lost_max"] == max(results[name]["lost"])
    # The seed's ten threads that increment once never overlap.
    assert results["seed"] == {
        "result": [11, 2, 3],
        "expected": [11, 2, 3],
        "all_exact": True,
    }


def test_a_demo_jobs_memory_claim_is_the_numpy_estimate_or_a_little():
    sizes = {"array_size": 10**8, "workers": 4}
    assert demos.DEMOS["numpy"].mem_mb(sizes) == (
        numpy_peak_bytes(10**8, 4) // 2**20 + 1
    )
    assert demos.DEMOS["pure_python"].mem_mb(sizes) == 256


def test_a_demo_runs_as_a_command_for_an_interpreter_without_snakemake(tmp_path):
    """What the demo rule runs on every build: the same record, its interpreter, the
    start method as configured, the modules the workflow's probe saw turn the GIL
    back on, and the job's log; with no Snakemake, PyYAML or psutil to import, as in
    the free-threaded build's venv."""
    import subprocess

    from weatherplot.importpath import child_env

    absent = tmp_path / "absent"
    absent.mkdir()
    for module in ("snakemake", "yaml", "psutil"):
        (absent / f"{module}.py").write_text(f"raise ImportError('no {module}')\n")
    env = child_env()
    env["PYTHONPATH"] = f"{absent}{os.pathsep}{env['PYTHONPATH']}"
    config = validated({"contended_increments": 100, "contended_threads": 2})
    out, log = tmp_path / "contended.json", tmp_path / "contended.log"
    command = [sys.executable, "-m", "weatherplot", "demo", "contended"]
    command += ["--config", json.dumps(config), "--output", str(out)]
    command += ["--log", str(log), "--job-threads", "2", "--gil-reenabled-by=a,b"]
    command += ["--start-method", "spawn"]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    record = json.loads(out.read_text())
    assert record["name"] == "contended" and record["job_threads"] == 2
    assert record["results"]["list_locked"]["final"] == [200]
    assert record["interpreter"]["executable"] == sys.executable
    assert record["interpreter"]["gil_reenabled_by"] == ["a", "b"]
    assert record["start_method"] == "spawn"
    assert "contended demo: wrote" in log.read_text()


@pytest.mark.integration
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_demo_job_runs_under_spawn_and_forkserver(workflow_copy, method):
    """The demo rule under the macOS/Windows and the Python 3.14 default: a demo run
    inside an unguarded generated __main__ (a Snakemake script:) died in every child
    (NameError: name 'snakemake' is not defined)."""
    target = "results/timings/demos/shared_list.json"
    run_snakemake(
        workflow_copy,
        "--cores",
        "2",
        target,
        "--config",
        f"processes={{start_method: {method}}}",
    )
    record = json.loads((workflow_copy / target).read_text())
    assert record["start_method"] == method
    assert record["results"]["processes"] == [1, 2, 3]
    assert record["results"]["processes_child_views_identical"] is True


# -- The registry: adding a demo is its module, one entry, its template ----------------

#: Where a demo's name means something else: the exercise's Pool method ("pool") and
#: NumPy the package ("numpy").
OTHER_MEANINGS = re.compile(
    r"METHODS|MODES|mode ==|run_baseline\(|add\(\"pool\"|cpu\[|methods\[|wall\[|"
    r"STYLE|\"pool\": [{f(]|\"pool\": \"|for m(ethod)? in \(|NEEDED_MODULES|PACKAGES|"
    r"_version\(|env\[|"
    # The exercise's Pool baseline (a way to run the plots, not the pool demo).
    r"method == \"pool\"|\[\"pool\"\]|\"pool\", p[,\]]"
)


def test_no_module_but_the_registry_and_the_demos_own_names_a_demo():
    """Every other module and rules file reads the registry (issue 31 item 6): a demo
    named on its own there (announce.py's `if name == "sleep"`, the memory claim's
    `"numpy"`, the free-threading section's per-demo code) is a place a new demo
    would have to be added by hand."""
    product = REPO / "workflow"
    registry = product / "weatherplot" / "demos" / "__init__.py"
    files = [*product.rglob("*.py"), *product.rglob("*.smk")]
    named = []
    for name, demo in demos.DEMOS.items():
        own = Path(sys.modules[demo.run.__module__].__file__)
        pattern = re.compile(rf"[\"']{name}[\"']")
        for path in files:
            if path in (registry, own):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and not OTHER_MEANINGS.search(line):
                    named.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not named, "\n".join(named)
    # And every entry has what the workflow and the report look up.
    from weatherplot.report.lesson import predictor

    for demo in demos.DEMOS.values():
        assert demo.announce(validated({})) and demo.mem_mb(validated({})) > 0
        assert callable(predictor(demo.predict))  # a name the report has, or None
        if demo.explain:
            template = REPO / "workflow/weatherplot/report/templates/explain"
            assert (template / demo.explain).is_file()
