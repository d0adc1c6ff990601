"""Choosing and checking the free-threaded CPython (weatherplot/freethreading.py) with
real interpreters: this suite's own Python 3.11 (a GIL build), the free-threaded
one in WEATHERPLOT_FT_PYTHON (a venv with NumPy, Matplotlib and pandas), its base
interpreter (no NumPy), a real C extension that turns the GIL back on, and the probe's
cache. The tests that need a free-threaded Python are skipped without one (and fail
the run on CI: tests/conftest.py)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    FT_PYTHON_MISSING,
    copy_workflow,
    ft_python,
    read_config,
    run_snakemake,
    snakemake_env,
    write_config,
)

from weatherplot import freethreading
from weatherplot.freethreading import (
    BUILT_PYTHON,
    FreeThreadingError,
    cached_probe,
    check,
    from_environment,
    probe,
    resolve,
    to_environment,
)

needs_ft = pytest.mark.skipif(ft_python() is None, reason=FT_PYTHON_MISSING)


def ask(python: str, code: str) -> str:
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def ft_name(python: str) -> str:
    """python3.13t or python3.14t: the name `auto` looks for on PATH."""
    return ask(python, "import sys; print('python%d.%dt' % sys.version_info[:2])")


def base_of(python: str) -> str:
    """The interpreter a venv's python was made from (itself when not a venv)."""
    return ask(python, "import sys; print(sys._base_executable)")


def venv_root(python: str) -> Path | None:
    root = Path(python).parent.parent
    return root if (root / "pyvenv.cfg").is_file() else None


def on_path_as_ft_name(tmp_path: Path, python: str) -> Path:
    """A folder for PATH in which ``python`` is found under its python3.Xt name:
    a symlink to the venv (a symlink to its python alone would start the base
    interpreter, which looks for pyvenv.cfg beside the link), or to the python."""
    name = ft_name(python)
    root = venv_root(python)
    if root is not None and (root / "bin" / name).exists():
        (tmp_path / "venv").symlink_to(root, target_is_directory=True)
        return tmp_path / "venv" / "bin"
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / name).symlink_to(python)
    return folder


def as_built(workdir: Path, python: str) -> Path:
    """``python``'s venv where `snakemake free_threaded_python` puts one: the folder
    resources/free-threaded-python is a symlink to the build, which holds venv/."""
    root = venv_root(python)
    if root is None:
        pytest.skip(f"{python} is not in a venv, so cannot stand as the built one")
    build = workdir / "build"
    build.mkdir(parents=True)
    (build / "venv").symlink_to(root, target_is_directory=True)
    final = workdir / BUILT_PYTHON.parent.parent.parent
    final.parent.mkdir(parents=True, exist_ok=True)
    final.symlink_to(build, target_is_directory=True)
    assert (workdir / BUILT_PYTHON).exists()
    return workdir / BUILT_PYTHON


# -- refusals that need no free-threaded Python --------------------------------------


def test_a_gil_build_is_refused_in_one_line():
    with pytest.raises(FreeThreadingError) as caught:
        resolve(sys.executable)
    message = str(caught.value)
    assert "\n" not in message
    assert sys.executable in message
    assert "has the GIL" in message
    assert "Py_GIL_DISABLED is 0" in message


def test_a_missing_path_is_refused_in_one_line(tmp_path):
    missing = tmp_path / "nowhere" / "python3.13t"
    with pytest.raises(FreeThreadingError) as caught:
        resolve(str(missing))
    assert "\n" not in str(caught.value)
    assert f"{str(missing)!r} not found" in str(caught.value)


@pytest.mark.parametrize("setting", [False, "false"])
def test_false_is_the_gil_build_only(setting, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert resolve(setting) is None


def test_auto_with_nothing_found_is_the_gil_build_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert freethreading.commands("auto") == []
    assert resolve("auto") is None


def test_auto_skips_a_gil_build_named_python313t(tmp_path, monkeypatch, capsys):
    """A python3.13t on PATH that has the GIL is passed over with a reason."""
    (tmp_path / "python3.13t").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert resolve("auto") is None
    assert "skipping" in capsys.readouterr().err


# -- the probe's cache ----------------------------------------------------------------


def test_a_probe_is_cached_until_its_import_path_changes(tmp_path, monkeypatch):
    """Answered from the cache the second time; a module added to a folder on the
    interpreter's import path (as pip install does), or another PYTHONPATH, makes
    it probe again."""
    extra = tmp_path / "extra"
    extra.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(extra))
    cache = tmp_path / ".snakemake" / "free-threading-probe.json"
    first, cached = cached_probe(sys.executable, cache)
    assert not cached
    assert first["py_gil_disabled"] is False
    assert str(extra) in first["paths"]
    again, cached = cached_probe(sys.executable, cache)
    assert cached
    assert again == first
    (extra / "newmodule.py").write_text("")
    assert not cached_probe(sys.executable, cache)[1]
    assert cached_probe(sys.executable, cache)[1]
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert not cached_probe(sys.executable, cache)[1]


def test_a_damaged_cache_is_probed_again_and_rewritten(tmp_path):
    cache = tmp_path / "probe.json"
    cache.write_text("{not json")
    info, cached = cached_probe(sys.executable, cache)
    assert not cached
    assert json.loads(cache.read_text())["probes"][sys.executable]["info"] == info


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    info, cached = cached_probe(sys.executable, blocker / "probe.json")
    assert not cached
    assert info["executable"]


def stand_in(path: Path, version: str) -> Path:
    """A tiny stand-in for a free-threaded Python (test scaffolding): whatever it is
    asked, it prints a probe's answer for Python ``version`` (no GIL, nothing
    missing), naming itself as the executable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = {
        "version": version,
        "implementation": "cpython",
        "executable": str(path),
        "py_gil_disabled": True,
        "missing": [],
        "reenabled_by": [],
        "gil_enabled": False,
        "paths": [str(path.parent)],
    }
    path.write_text(f"#!/bin/sh\necho {shlex.quote(json.dumps(answer))}\n")
    path.chmod(0o755)
    return path


def test_the_main_process_answer_passes_to_job_steps(tmp_path, monkeypatch):
    """What a job that re-runs the Snakefile takes instead of probing: the same
    Interpreter, only for the same setting, while it still names that command and
    its executable is the same file."""
    python = str(stand_in(tmp_path / "bin" / "python3.13t", "3.13.5"))
    interpreter = freethreading.Interpreter(
        python=python,
        version="3.13.5",
        executable=python,
        gil_enabled=True,
        reenabled_by=("gilext",),
    )
    environ = {freethreading.INHERITED_ENV: to_environment(python, interpreter)}
    assert from_environment(python, environ) == (True, interpreter)
    assert from_environment("/other/python", environ) == (False, None)
    assert from_environment(python, {}) == (False, None)
    # A relative setting, resolved in the main process's folder, holds in a nested
    # run's scratch folder (the exercise's) too.
    monkeypatch.chdir(tmp_path)
    relative = {
        freethreading.INHERITED_ENV: to_environment("bin/python3.13t", interpreter)
    }
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.chdir(scratch)
    assert from_environment("bin/python3.13t", relative) == (True, interpreter)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    auto = {freethreading.INHERITED_ENV: to_environment("auto", interpreter)}
    assert from_environment("auto", auto) == (True, interpreter)
    monkeypatch.setenv("PATH", str(tmp_path))  # `auto` finds it no more
    assert from_environment("auto", auto) == (False, None)
    stand_in(Path(python), "3.13.6")  # replaced since (another size, mtime)
    assert from_environment(python, environ) == (False, None)
    none = {freethreading.INHERITED_ENV: to_environment(False, None)}
    assert from_environment(False, none) == (True, None)


def test_a_leaked_answer_naming_another_interpreter_is_resolved_again(tmp_path):
    """A stale or leaked WEATHERPLOT_FREE_THREADED naming /bin/sh for a setting
    whose path does not exist: resolved again (not found), never /bin/sh."""
    missing = str(tmp_path / "no" / "python3.13t")
    leaked = {
        "python": "/bin/sh",
        "version": "3.13.5",
        "executable": "/bin/sh",
        "gil_enabled": False,
        "reenabled_by": [],
    }
    environ = {
        freethreading.INHERITED_ENV: json.dumps(
            {
                "setting": missing,
                "workdir": str(tmp_path),
                "interpreter": leaked,
                "identity": freethreading._identity("/bin/sh"),
            }
        )
    }
    with pytest.raises(FreeThreadingError) as caught:
        freethreading.resolve_for_this_run(missing, environ, cache=None)
    assert f"{missing!r} not found" in str(caught.value)


def test_a_shim_is_probed_again_for_each_interpreter_it_runs(tmp_path, monkeypatch):
    """A shim (as pyenv's: which interpreter it runs depends on PYENV_VERSION, not
    on the file at its path) gets the answer of the interpreter it runs now, not
    the cached answer of the one it ran before."""
    other = stand_in(tmp_path / "other" / "python3.13", "3.13.5")
    shim = tmp_path / "shims" / "python3.13t"
    shim.parent.mkdir()
    shim.write_text(
        "#!/bin/sh\n"
        f'[ "$PYENV_VERSION" = other ] && exec {shlex.quote(str(other))} "$@"\n'
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    shim.chmod(0o755)
    cache = tmp_path / "probe.json"
    monkeypatch.setenv("PYENV_VERSION", "suite")
    first, cached = cached_probe(str(shim), cache)
    assert not cached and first["version"] == sys.version.split()[0]
    assert cached_probe(str(shim), cache) == (first, True)
    monkeypatch.setenv("PYENV_VERSION", "other")
    second, cached = cached_probe(str(shim), cache)
    assert not cached and second["version"] == "3.13.5"
    assert second["executable"] == str(other)
    assert cached_probe(str(shim), cache) == (second, True)
    monkeypatch.setenv("PYENV_VERSION", "suite")
    assert cached_probe(str(shim), cache)[0]["version"] == first["version"]


def test_a_cache_entry_without_import_paths_never_passes(tmp_path):
    """A planted (or damaged) entry with "paths": [] has nothing whose change would
    make it stale: it is probed again, and a GIL build stays a GIL build."""
    cache = tmp_path / "probe.json"
    cached_probe(sys.executable, cache)
    data = json.loads(cache.read_text())
    entry = data["probes"][sys.executable]
    entry["info"].update(version="3.13.5", py_gil_disabled=True, paths=[])
    entry["mtimes"] = {}
    cache.write_text(json.dumps(data))
    info, cached = cached_probe(sys.executable, cache)
    assert not cached
    assert info["py_gil_disabled"] is False
    assert info["version"] == sys.version.split()[0]


# -- with a real free-threaded Python -------------------------------------------------


@needs_ft
def test_a_free_threaded_venv_is_accepted():
    found = resolve(ft_python())
    assert found.gil_enabled is False
    assert found.reenabled_by == ()
    assert tuple(map(int, found.version.split(".")[:2])) >= (3, 13)
    assert found.record()["free_threaded_build"] is True


@needs_ft
def test_a_free_threaded_python_without_numpy_is_refused_in_one_line():
    base = base_of(ft_python())
    info = probe(base)
    if not info["missing"]:
        pytest.skip(f"{base} (the venv's base interpreter) has NumPy etc. itself")
    with pytest.raises(FreeThreadingError) as caught:
        check(base, info)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{base} lacks numpy" in message
    assert f"{base} -m pip install --only-binary=:all: numpy" in message


@needs_ft
def test_auto_finds_a_free_threaded_python_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(on_path_as_ft_name(tmp_path, ft_python())))
    monkeypatch.chdir(tmp_path)
    found = resolve("auto")
    assert found is not None
    assert Path(found.python).name == ft_name(ft_python())
    assert found.record()["free_threaded_build"] and found.gil_enabled is False


@needs_ft
def test_auto_passes_over_one_without_numpy_to_the_built_one(
    tmp_path, monkeypatch, capsys
):
    """PATH's python3.13t lacks NumPy (skipped, with the reason); the one that
    `snakemake free_threaded_python` built under resources/ is taken."""
    base = base_of(ft_python())
    if not probe(base)["missing"]:
        pytest.skip(f"{base} (the venv's base interpreter) has NumPy etc. itself")
    path = tmp_path / "path"
    path.mkdir()
    (path / ft_name(base)).symlink_to(base)
    monkeypatch.setenv("PATH", str(path))
    work = tmp_path / "work"
    built = as_built(work, ft_python())
    monkeypatch.chdir(work)
    found = resolve("auto")
    assert found is not None
    assert found.python == str(built.absolute())
    assert "lacks numpy" in capsys.readouterr().err


def compile_gil_extension(python: str, folder: Path) -> None:
    """A real extension module `gilext` for ``python``, built with its own sysconfig:
    multi-phase init without a Py_mod_gil slot, so importing it turns the GIL back
    on (CPython warns, naming it); `gilwrap` is a pure-Python module importing it."""
    info = json.loads(
        ask(
            python,
            "import json, sysconfig as s; print(json.dumps([s.get_config_var('CC'), "
            "s.get_paths()['include'], s.get_config_var('EXT_SUFFIX')]))",
        )
    )
    cc, include, suffix = info
    compiler = shlex.split(cc or "cc")
    if shutil.which(compiler[0]) is None:
        pytest.skip(f"no C compiler ({compiler[0]}) to build a test extension")
    source = folder / "gilext.c"
    target = str(folder / f"gilext{suffix}")
    source.write_text(
        "#include <Python.h>\n"
        "static PyModuleDef_Slot slots[] = {{0, NULL}};\n"
        "static struct PyModuleDef def = "
        '{PyModuleDef_HEAD_INIT, "gilext", NULL, 0, NULL, slots};\n'
        "PyMODINIT_FUNC PyInit_gilext(void) { return PyModuleDef_Init(&def); }\n"
    )
    subprocess.run(
        [*compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", target],
        check=True,
        timeout=120,
    )
    (folder / "gilwrap.py").write_text("import gilext  # noqa\n")
    assert Path(target).is_file()


@needs_ft
def test_an_extension_that_turns_the_gil_back_on_is_named(tmp_path, monkeypatch):
    """Imported through another module, the extension is named (from CPython's
    RuntimeWarning), the GIL is on, and the interpreter is kept, not refused: the
    report marks what it affects."""
    compile_gil_extension(ft_python(), tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    info = probe(ft_python(), modules=("numpy", "gilwrap"))
    assert info["reenabled_by"] == ["gilext"]
    assert info["gil_enabled"] is True
    found = check(ft_python(), info)
    assert found.reenabled_by == ("gilext",)
    assert found.record()["gil_reenabled_by"] == ["gilext"]
    assert found.record()["gil_enabled"] is True
    # Without it the same interpreter keeps the GIL off.
    assert probe(ft_python(), modules=("numpy",))["gil_enabled"] is False


# -- in the workflow ------------------------------------------------------------------


def set_python(workdir: Path, setting) -> None:
    config = read_config(workdir)
    config["free_threading"] = {"python": setting}
    write_config(workdir, config)


def path_without_ft(tmp_path: Path) -> str:
    """PATH with this suite's snakemake and the system's tools, no python3.1Xt."""
    found = [
        name
        for name in freethreading.PATH_CANDIDATES
        if shutil.which(name, path="/usr/bin:/bin")
    ]
    if found:
        pytest.skip(f"this machine has {found[0]} in /usr/bin")
    return f"{Path(sys.executable).parent}:/usr/bin:/bin"


@pytest.mark.integration
def test_lint_and_dry_run_work_without_a_free_threaded_python(tmp_path):
    """`auto` (the default) finding none is no error. (--report on a finished run:
    tests/test_full_run.py.)"""
    workdir = copy_workflow(tmp_path / "wf")
    set_python(workdir, "auto")
    env = {**snakemake_env(), "PATH": path_without_ft(tmp_path)}
    for args in (["--lint"], ["-n", "--cores", "2"]):
        done = subprocess.run(
            [sys.executable, "-m", "snakemake", *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"


@pytest.mark.integration
def test_a_gil_build_as_free_threading_python_stops_the_run_in_one_line(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    set_python(workdir, sys.executable)
    done = run_snakemake(workdir, "-n", "--cores", "2", check=False)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "has the GIL" in said
    assert "Traceback" not in said


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["remote", "default"])
def test_a_started_snakemake_takes_the_answer_without_probing(tmp_path, mode):
    """A process re-running the Snakefile for a job (--mode remote, as a SLURM job
    step does), or a nested run (the exercise's timed snakemake), started by a
    snakemake with an answer for the same setting, takes that answer from the
    environment: the probe, which would refuse this setting, is not run; a
    snakemake started without one does run it."""
    workdir = copy_workflow(tmp_path / "wf")
    missing = str(tmp_path / "no" / "python3.13t")
    set_python(workdir, missing)
    main = run_snakemake(workdir, "-n", "--cores", "1", check=False)
    assert main.returncode != 0
    assert f"{missing!r} not found" in main.stdout + main.stderr
    env = {
        **snakemake_env(),
        freethreading.INHERITED_ENV: to_environment(missing, None),
    }
    step = subprocess.run(
        [sys.executable, "-m", "snakemake", "--mode", mode, "-n", "--cores", "1"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert step.returncode == 0, step.stdout[-3000:] + step.stderr[-3000:]
    assert "not found" not in step.stdout + step.stderr


@needs_ft
@pytest.mark.integration
def test_snakemake_caches_the_probe_between_runs(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    set_python(workdir, ft_python())
    run_snakemake(workdir, "-n", "--cores", "1")
    cache = workdir / freethreading.PROBE_CACHE
    probes = json.loads(cache.read_text())["probes"]
    python = str(Path(ft_python()).absolute())
    assert probes[python]["info"]["py_gil_disabled"] is True
    written = cache.stat().st_mtime_ns
    run_snakemake(workdir, "-n", "--cores", "1")
    assert cache.stat().st_mtime_ns == written  # answered from it, not rewritten
