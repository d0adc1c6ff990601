"""The start-method demo: what starting processes costs under every start method
this platform has, for a bare function and for one whose module imports NumPy and
Matplotlib (:mod:`.heavy_target`), the first batch under each method timed apart
(``forkserver`` starts its server then); and the seed's script without and with its
``if __name__ == "__main__":`` guard, each run by a child interpreter under ``spawn``
and ``forkserver`` and killed with its children at a deadline.

Unguarded, each ``spawn`` child dies bootstrapping and the script prints
``[1, 2, 3]``; under ``forkserver`` the same up to Python 3.12, while newer ones
(3.14.10 measured) have the server import ``__main__`` once: the server dies
bootstrapping and the script itself fails, printing nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from textwrap import indent

from ..records import DemoRecord
from ..startmethod import default_method
from .common import (
    _noop,
    _record,
    _run_processes,
    _run_variants,
    _timed,
    mp_context,
)

#: The seed's shared-list script with processes: started at module level, no guard.
#: argv[1] names the start method (the seed takes its platform's default).
_SEED_TOP = """\
import multiprocessing
import sys


def increment_first(a):
    a[0] += 1


"""
_SEED_MAIN = """\
a = [1, 2, 3]
ctx = multiprocessing.get_context(sys.argv[1])
processes = [ctx.Process(target=increment_first, args=(a,)) for _ in range({n})]
for p in processes:
    p.start()
for p in processes:
    p.join()
print(a)
"""
UNGUARDED = _SEED_TOP + _SEED_MAIN
#: The same script, guarded: a child that imports it again runs only the function.
GUARDED = _SEED_TOP + 'if __name__ == "__main__":\n' + indent(_SEED_MAIN, "    ")

#: The line CPython prints when a child starts a process while it is still importing
#: the parent's __main__ (multiprocessing.spawn._check_not_importing_main).
BOOTSTRAP_ERROR = "has finished its bootstrapping phase"

#: Seconds a guard script may run: it fails or ends within seconds unless it hangs.
GUARD_DEADLINE = 60.0


def run_script(
    path: Path, method: str, deadline: float = GUARD_DEADLINE
) -> dict[str, object]:
    """Run ``python path method`` in a process group of its own; at ``deadline``
    kill the group (the script, its children and a forkserver's). What happened, as
    data: exit code, time-out, stdout, how many children died and how."""
    popen_group = (
        {"start_new_session": True}
        if os.name == "posix"
        else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(path), method],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen_group,
    )
    try:
        out, err = proc.communicate(timeout=deadline)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        out, err = proc.communicate()
        timed_out = True
    tracebacks = err.count("Traceback (most recent call last)")
    own_error = _uncaught(err) if proc.returncode == 1 and tracebacks else None
    return {
        "method": method,
        "exit_code": proc.returncode,
        "timed_out": timed_out,
        "seconds": round(time.perf_counter() - started, 3),
        "output": out.strip(),
        # The script's own uncaught exception (its class), if it died of one: where
        # the forkserver imports __main__ itself (3.14.10), the server dies
        # bootstrapping and the script fails asking it for a child.
        "script_error": own_error,
        "child_tracebacks": tracebacks - (own_error is not None),
        "bootstrap_errors": err.count(BOOTSTRAP_ERROR),
    }


def _uncaught(stderr: str) -> str | None:
    """The exception class of the traceback that ends ``stderr`` (the script's own:
    the last thing an interpreter that dies of an exception prints)."""
    last = stderr.rstrip().rsplit("\n", 1)[-1]
    name = last.split(":", 1)[0].rsplit(".", 1)[-1]
    return name if name.isidentifier() and not last.startswith(" ") else None


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill a script and every process it started (its process group on POSIX)."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return
    import psutil  # Windows: no process groups to kill; Snakemake requires psutil

    parent = psutil.Process(proc.pid)
    for child in [*parent.children(recursive=True), parent]:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def guard_runs(processes: int) -> list[dict]:
    """The seed's script unguarded and guarded under spawn and forkserver (those
    this platform has)."""
    runs = []
    methods = [
        m
        for m in ("spawn", "forkserver")
        if m in multiprocessing.get_all_start_methods()
    ]
    with tempfile.TemporaryDirectory(prefix="guard-") as folder:
        for script, text in (("unguarded", UNGUARDED), ("guarded", GUARDED)):
            path = Path(folder, f"{script}.py")
            path.write_text(text.format(n=processes))
            for method in methods:
                runs.append({"script": script, **run_script(path, method)})
    return runs


def start_methods_demo(workers: int, repeats: int) -> DemoRecord:
    """Start and join ``workers`` processes under every start method, for a bare
    function and for one whose module imports NumPy and Matplotlib; then the guard."""
    from .heavy_target import heavy_noop  # the parent's import is not timed

    start = time.time()
    methods = multiprocessing.get_all_start_methods()
    targets = {"bare": _noop, "heavy": heavy_noop}
    args = [()] * workers
    contexts = {method: multiprocessing.get_context(method) for method in methods}
    first = {
        method: _timed(lambda ctx=ctx: _run_processes(_noop, args, ctx=ctx))
        for method, ctx in contexts.items()
    }
    variants = {
        f"{method}_{target}": (
            f"start and join {workers} processes ({method}, {target} function)",
            workers,
            "processes",
            lambda ctx=ctx, fn=fn: _run_processes(fn, args, ctx=ctx),
        )
        for target, fn in targets.items()
        for method, ctx in contexts.items()
    }
    entries = _run_variants("start_methods", variants, repeats)
    by_name = {v["name"]: v["median"] for v in entries}
    in_use = mp_context().get_start_method()
    return _record(
        "start_methods",
        start,
        {"workers": workers, "repeats": repeats},
        variants=entries,
        results={
            "methods": methods,
            "default": default_method(),
            "costs": {
                m: {t: by_name[f"{m}_{t}"] for t in targets} | {"first": first[m]}
                for m in methods
            },
            "process_start_cost": by_name[f"{in_use}_bare"],
            "guard": guard_runs(workers),
        },
    )


def announce(demos) -> str:
    workers, repeats = int(demos["workers"]), int(demos["start_method_repeats"])
    return (
        f"starting {workers} processes under every start method, {repeats} "
        "repeat(s), and the seed's script with and without its __main__ guard: "
        "seconds with fork, up to a minute where spawn imports NumPy and Matplotlib"
    )
