"""processes.start_method: the setting, what it resolves to, and a refusal that names
the key when this platform lacks the method."""

from __future__ import annotations

import builtins
import html
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO

from weatherplot import startmethod
from weatherplot.preflight import validate_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def test_default_is_this_interpreters_own_and_the_schema_fills_it_in():
    config = {"stations": [{"id": "UK000056225"}]}
    validate_config(config, SCHEMA)
    assert config["processes"] == {"start_method": "default"}
    # The documented default: the first of get_all_start_methods().
    assert startmethod.resolve("default") == multiprocessing.get_all_start_methods()[0]
    # Resolving does not fix the process's own default (set_start_method still works).
    probe = (
        "import multiprocessing; from weatherplot import startmethod; "
        "startmethod.resolve('default'); "
        "print(multiprocessing.get_start_method(allow_none=True))"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert fresh.stdout.strip() == "None"


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_every_method_of_this_platform_gives_its_context(method):
    assert startmethod.context(method).get_start_method() == method


def test_the_schema_refuses_an_unknown_method():
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match=r"processes.*'vfork' is not one of"):
        validate_config(
            {"stations": [{"id": "X1"}], "processes": {"start_method": "vfork"}},
            SCHEMA,
        )


def test_a_method_this_platform_lacks_is_refused_naming_the_key(monkeypatch):
    # Windows: spawn only.
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert startmethod.resolve("default") == "spawn"
    with pytest.raises(ValueError) as caught:
        startmethod.resolve("fork")
    assert str(caught.value).startswith(
        "processes.start_method: 'fork' is not available on"
    )
    assert str(caught.value).endswith("has spawn); set it to default or one of those")


# -- The start-method demo: its costs, the guard, and what the report says ----------


@pytest.fixture(scope="module")
def start_methods_record():
    from weatherplot.demos.start_methods import start_methods_demo

    return start_methods_demo(workers=2, repeats=1)


def test_the_demo_times_every_method_of_this_platform(start_methods_record):
    res = start_methods_record["results"]
    methods = multiprocessing.get_all_start_methods()
    assert res["methods"] == methods and res["default"] == methods[0]
    assert set(res["costs"]) == set(methods)
    for method in methods:
        assert set(res["costs"][method]) == {"bare", "heavy", "first"}
        assert all(v > 0 for v in res["costs"][method].values())
    names = [v["name"] for v in start_methods_record["variants"]]
    assert names == [f"{m}_{t}" for t in ("bare", "heavy") for m in methods]
    used = start_methods_record["start_method"]
    assert res["process_start_cost"] == res["costs"][used]["bare"]


def forkserver_preloads_main() -> bool | None:
    """Whether this Python's forkserver imports ``__main__`` itself before it forks
    (CPython gh-126631): not up to 3.12; yes in 3.14.10 (CI's Debian sid root);
    3.13 and 3.14.0 releases differ (None: either)."""
    if sys.version_info < (3, 13):
        return False
    return True if sys.version_info >= (3, 14, 1) else None


@pytest.mark.skipif(
    "spawn" not in multiprocessing.get_all_start_methods(), reason="no spawn"
)
def test_the_unguarded_seed_dies_bootstrapping_in_its_children_or_its_forkserver(
    start_methods_record,
):
    runs = {
        (g["script"], g["method"]): g for g in start_methods_record["results"]["guard"]
    }
    for method in [
        m
        for m in ("spawn", "forkserver")
        if m in multiprocessing.get_all_start_methods()
    ]:
        unguarded, guarded = runs["unguarded", method], runs["guarded", method]
        # Guarded: the list printed, nothing died, under every Python.
        assert guarded["output"] == "[1, 2, 3]" and guarded["exit_code"] == 0
        assert guarded["script_error"] is None
        assert guarded["bootstrap_errors"] == guarded["child_tracebacks"] == 0
        assert not unguarded["timed_out"] and not guarded["timed_out"]
        server_dies = method == "forkserver" and forkserver_preloads_main()
        if method == "forkserver" and forkserver_preloads_main() is None:
            server_dies = unguarded["exit_code"] != 0
        if server_dies:
            # The server re-ran the top level and died bootstrapping; the script
            # failed asking it for a child (ConnectionResetError on 3.14.10).
            assert unguarded["output"] == "" and unguarded["exit_code"] == 1
            error = getattr(builtins, unguarded["script_error"])
            assert issubclass(error, (OSError, EOFError))
            assert unguarded["bootstrap_errors"] == unguarded["child_tracebacks"] == 1
        else:
            # The same printed answer and exit code as guarded ...
            assert unguarded["output"] == "[1, 2, 3]" and unguarded["exit_code"] == 0
            assert unguarded["script_error"] is None
            # ... but each of the 2 children died bootstrapping.
            assert unguarded["bootstrap_errors"] == unguarded["child_tracebacks"] == 2


@pytest.mark.skipif(os.name != "posix", reason="POSIX process groups")
def test_a_script_that_hangs_is_killed_at_the_deadline_with_its_children(tmp_path):
    from weatherplot.demos.start_methods import run_script

    pid_file = tmp_path / "child.pid"
    script = tmp_path / "hang.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(600)']\n"
        "child = subprocess.Popen(sleeper)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    run = run_script(script, "spawn", deadline=5)
    assert run["timed_out"] is True
    assert run["exit_code"] == -signal.SIGKILL
    assert run["output"] == "started"
    child = int(pid_file.read_text())
    # The grandchild is gone too (or a zombie waiting for init to reap it).
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("render", ["markdown", "html"])
def test_the_report_tables_the_methods_and_the_guard_and_names_the_method_in_use(
    start_methods_record, render
):
    from weatherplot.report import render as renderer
    from weatherplot.report.analysis import Inputs, compute

    figures = compute(Inputs(demos={"start_methods": start_methods_record}))
    text = html.unescape(getattr(renderer, f"render_{render}")(figures, {}))
    used = start_methods_record["start_method"]
    assert "(this run" in text and "this Python's default" in text
    for method in multiprocessing.get_all_start_methods():
        assert f"{method}" in text
    assert "if __name__ == " in text and "proves nothing" in text
    assert "bootstrapping RuntimeError" in text
    # The run details name the method the demos used.
    row = "start method | " if render == "markdown" else "<td>start method</td>"
    assert row in text
    assert f"{used}, this Python's default (processes.start_method)" in text
