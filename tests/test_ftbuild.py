"""The free-threaded CPython build (weatherplot/ftbuild.py, `snakemake
free_threaded_python`): refusals before anything is unpacked, one clear line for
each failure, nothing left behind. The tarballs here are small real .tar.xz files
made by the test, whose `configure` fails or hangs the way a real one does (the
edge cases); one real end-to-end build of a CPython release runs only with
WEATHERPLOT_BUILD_TEST=1 (~10 min on 2 cores)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml
from helpers import REPO, planned_jobs, run_snakemake

from weatherplot import ftbuild
from weatherplot.freethreading import NEEDED_MODULES, check, probe
from weatherplot.ftbuild import BuildError, build

NO_COMPILER = "configure: error: no acceptable C compiler found in $PATH"
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
DEFAULTS = {
    key: value.get("default")
    for key, value in SCHEMA["properties"]["free_threading"]["properties"].items()
}
TIMEOUT = DEFAULTS["build_timeout_minutes"] * 60


def source_tarball(folder: Path, configure: str, scripts: dict | None = None) -> Path:
    """A .tar.xz holding Python-9.9/configure (a shell script), a README and
    ``scripts`` (name: text)."""
    tree = folder / "tree" / "Python-9.9"
    tree.mkdir(parents=True)
    for name, text in {
        "configure": "#!/bin/sh\n" + configure,
        **(scripts or {}),
    }.items():
        (tree / name).write_text(text)
        (tree / name).chmod(0o755)
    (tree / "README.rst").write_text("not CPython\n")
    tarball = folder / "Python-9.9.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(tree, arcname="Python-9.9")
    shutil.rmtree(folder / "tree")
    return tarball


# A stand-in for a built python3.13t, shipped in the fake release below: it answers
# the probe (NumPy missing while PYTHONPATH is set, as a `module load` can make a
# real one say, or always once a file BROKEN is in its build), makes a venv of
# itself, and "installs" packages.
FAKE_PYTHON = r"""#!/bin/sh
here=$(dirname "$0")
if [ "$1" = -m ]; then
    if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
    exit 0
fi
missing='[]'
case " $* " in *" numpy "*)
    if [ -n "$PYTHONPATH" ] || [ -e "$here/../../BROKEN" ]; then missing='["numpy"]'; fi
esac
printf '{"version": "3.13.5", "implementation": "cpython", "executable": "%s", '\
'"py_gil_disabled": true, "missing": %s, "reenabled_by": [], "gil_enabled": false, '\
'"paths": ["%s"]}\n' "$0" "$missing" "$here"
"""
# `make` does nothing; `make install` puts the stand-in into configure's --prefix.
FAKE_MAKE = """#!/bin/sh
[ "$1" = install ] || exit 0
mkdir -p "$(cat prefix)/bin" && cp fake-python "$(cat prefix)/bin/python3.13t"
"""
FAKE_CONFIGURE = """for arg; do
    case "$arg" in --prefix=*) echo "${arg#--prefix=}" >prefix;; esac
done
"""


@pytest.fixture
def build_tools(tmp_path, monkeypatch):
    """A `make` (FAKE_MAKE) and a `cc` (never run) first on PATH, whatever the
    machine has: the build checks for both before it unpacks."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for name, text in (("make", FAKE_MAKE), ("cc", "#!/bin/sh\nexit 1\n")):
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CC", raising=False)


def fake_release(folder: Path) -> Path:
    """A tarball that "builds" (with build_tools' make) a complete stand-in build."""
    return source_tarball(folder, FAKE_CONFIGURE, {"fake-python": FAKE_PYTHON})


def built(tmp_path: Path, source: str, sha256: str) -> Path:
    """``build`` into tmp_path/build, expected to succeed; returns its python."""
    with (tmp_path / "build.log").open("a") as logfile:
        return build(
            tmp_path / "resources" / "free-threaded-python",
            source=source,
            sha256=sha256,
            build_dir=tmp_path / "build",
            timeout=TIMEOUT,
            logfile=logfile,
        )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_build(tmp_path: Path, source, sha256=None, **kwargs):
    """``build`` into tmp_path/build, with its log; returns (error, log text)."""
    sha256 = sha256 or sha256_of(Path(source.removeprefix("file://")))
    kwargs.setdefault("timeout", TIMEOUT)
    log = tmp_path / "build.log"
    with log.open("a") as logfile, pytest.raises(BuildError) as caught:
        build(
            tmp_path / "resources" / "free-threaded-python",
            source=source,
            sha256=sha256,
            build_dir=tmp_path / "build",
            logfile=logfile,
            **kwargs,
        )
    return str(caught.value), log.read_text()


def assert_nothing_left(tmp_path: Path) -> None:
    """No final path, no install folder, no unpacked tree, no temporary file."""
    assert not (tmp_path / "resources" / "free-threaded-python").exists()
    left = sorted(p.name for p in (tmp_path / "build").iterdir())
    assert left == [".free-threaded-python.lock"]


def test_a_wrong_sha256_is_refused_before_anything_is_unpacked(tmp_path):
    ran = tmp_path / "configure-ran"
    tarball = source_tarball(tmp_path, f"touch {ran}\n")
    message, _ = run_build(tmp_path, str(tarball), sha256="0" * 64)
    assert "\n" not in message
    assert f"{tarball} has sha256 {sha256_of(tarball)}, not {'0' * 64}" in (message)
    assert "nothing was unpacked" in message
    assert_nothing_left(tmp_path)
    assert not ran.exists()


def test_a_downloaded_tarball_with_a_wrong_sha256_is_not_kept(tmp_path):
    tarball = source_tarball(tmp_path, "exit 0\n")
    message, _ = run_build(tmp_path, tarball.as_uri(), sha256="1" * 64)
    assert f"{tarball.as_uri()} has sha256" in message
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize("as_url", [False, True])
def test_a_missing_source_is_one_line(tmp_path, as_url):
    missing = tmp_path / "Python-3.14.0.tar.xz"
    source = missing.as_uri() if as_url else str(missing)
    message, _ = run_build(tmp_path, source, sha256="2" * 64)
    assert "\n" not in message
    assert message.startswith(f"free_threading.source: {source}")
    assert "no such file" in message
    assert_nothing_left(tmp_path)


def test_a_failing_configure_is_named_by_its_own_error_line(tmp_path, build_tools):
    tarball = source_tarball(
        tmp_path, f"echo 'checking for gcc... no'\necho '{NO_COMPILER}' >&2\nexit 77\n"
    )
    message, log = run_build(tmp_path, tarball.as_uri())
    assert "\n" not in message
    assert f"./configure failed: {NO_COMPILER}" in message
    assert "build-essential" in message
    assert "checking for gcc... no" in log  # the whole output is in the log
    assert "./configure --disable-gil " in log
    assert_nothing_left(tmp_path)


def test_no_make_on_path_is_named_before_unpacking(tmp_path, monkeypatch):
    tarball = source_tarball(tmp_path, "exit 0\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    message, log = run_build(tmp_path, str(tarball))
    assert message.startswith("free_threaded_python: no `make` on PATH")
    assert "unpacking" not in log
    assert_nothing_left(tmp_path)


def test_a_missing_compiler_is_named(tmp_path, monkeypatch, build_tools):
    tarball = source_tarball(tmp_path, "exit 0\n")
    monkeypatch.setenv("CC", "no-such-cc-here")
    message, _ = run_build(tmp_path, str(tarball))
    assert "the C compiler CC=no-such-cc-here is not on PATH" in message
    assert_nothing_left(tmp_path)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_the_time_out_stops_the_step_and_removes_the_build(tmp_path, build_tools):
    pidfile = tmp_path / "pid"
    tarball = source_tarball(tmp_path, f"echo $$ > {pidfile}\nexec sleep 300\n")
    message, _ = run_build(tmp_path, str(tarball), timeout=3)
    assert "not done within 0.05 min" in message
    assert "stopped during ./configure" in message
    assert gone(int(pidfile.read_text()))
    assert_nothing_left(tmp_path)


def test_a_stopped_build_leaves_nothing_half_built(tmp_path, build_tools):
    """SIGTERM (how Snakemake stops a job) while configure runs: the step is
    killed, the build's folders are removed, the final path never appears."""
    pidfile = tmp_path / "pid"
    tarball = source_tarball(tmp_path, f"echo $$ > {pidfile}\nexec sleep 300\n")
    code = (
        "import signal; from pathlib import Path; from weatherplot import ftbuild\n"
        "signal.signal(signal.SIGTERM, ftbuild._stop)\n"
        f"t = Path({str(tmp_path)!r})\n"
        "with (t / 'build.log').open('a') as log:\n"
        "    ftbuild.build(t / 'resources' / 'free-threaded-python',"
        f" source={str(tarball)!r}, sha256={sha256_of(tarball)!r},"
        f" build_dir=t / 'build', timeout={TIMEOUT}, logfile=log)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    builder = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert builder.poll() is None, builder.stderr.read()
        assert time.monotonic() < deadline, "configure never started"
        time.sleep(0.05)
    assert any((tmp_path / "build").glob(".ftbuild-*"))  # under way
    builder.send_signal(signal.SIGTERM)
    _, err = builder.communicate(timeout=60)
    assert builder.returncode != 0
    assert "stopped by signal 15" in err
    assert gone(int(pidfile.read_text()))
    assert_nothing_left(tmp_path)


def test_a_stop_while_the_step_starts_still_kills_the_step(tmp_path, monkeypatch):
    """SIGTERM after the step's process exists but before Popen has returned it (a
    race seen once in the test above): the step is still killed, not left running
    until the builder itself exits."""
    started = []
    real_popen = subprocess.Popen

    def popen_then_stop(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process.pid)
        os.kill(os.getpid(), signal.SIGTERM)  # before Popen returns to run_step
        return process

    monkeypatch.setattr(ftbuild.subprocess, "Popen", popen_then_stop)
    previous = signal.signal(signal.SIGTERM, ftbuild._stop)
    try:
        with (tmp_path / "log").open("a") as log, pytest.raises(SystemExit):
            ftbuild.run_step(
                ["sleep", "300"], "make", tmp_path, log, ftbuild.Deadline(60)
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    (pid,) = started
    try:
        assert gone(pid), "the step outlived its stopped build"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_a_complete_build_failing_its_check_here_is_kept(
    tmp_path, monkeypatch, build_tools
):
    """A complete build whose check fails in this environment (PYTHONPATH set: the
    stand-in then says NumPy is missing) is neither deleted before the new source
    is even found, nor by a rebuild whose own final check fails the same way; in
    a clean environment it is reused again."""
    tarball = fake_release(tmp_path)
    sha256 = sha256_of(tarball)
    python = built(tmp_path, str(tarball), sha256)
    install = ftbuild.install_dir(tmp_path / "build", sha256)
    assert python == install / "venv" / "bin" / "python"
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    missing = str(tmp_path / "nonexistent" / "Python-3.13.5.tar.xz")
    message, log = run_build(tmp_path, missing, sha256=sha256)
    assert "no such file" in message
    assert (install / ftbuild.MARKER).is_file() and python.is_file()
    assert f"the complete build in {install} does not pass its check here" in log
    assert "lacks numpy" in log and "kept as it is" in log
    message, _ = run_build(tmp_path, str(tarball), sha256=sha256)
    assert "lacks numpy" in message  # the rebuild fails the same way: removed
    assert (install / ftbuild.MARKER).is_file() and python.is_file()
    left = sorted(path.name for path in (tmp_path / "build").iterdir())
    assert left == [".free-threaded-python.lock", install.name]
    monkeypatch.delenv("PYTHONPATH")
    assert built(tmp_path, missing, sha256) == python  # reused, not rebuilt


def test_a_kept_build_is_replaced_only_by_one_that_passed(tmp_path, build_tools):
    tarball = fake_release(tmp_path)
    sha256 = sha256_of(tarball)
    first = built(tmp_path, str(tarball), sha256)
    install = ftbuild.install_dir(tmp_path / "build", sha256)
    (install / "BROKEN").write_text("")  # this build alone now fails its check
    again = built(tmp_path, str(tarball), sha256)
    beside = install.with_name(f"{install.name}-2")
    assert again == beside / "venv" / "bin" / "python"
    final = tmp_path / "resources" / "free-threaded-python"
    assert final.resolve() == beside
    assert not install.exists() and not first.exists()  # replaced once it passed
    log = (tmp_path / "build.log").read_text()
    assert log.index(f"removing {install}") > log.index("built Python 3.13.5")
    assert built(tmp_path, str(tarball), sha256) == again  # reused


def test_a_built_python_that_does_not_run_is_one_line(tmp_path, build_tools):
    broken = "#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n"
    tarball = source_tarball(tmp_path, FAKE_CONFIGURE, {"fake-python": broken})
    message, _ = run_build(tmp_path, str(tarball))
    assert "\n" not in message
    assert message.startswith("free_threaded_python: ")
    assert (
        "not a working Python 3.13+ (Fatal Python error: init_fs_encoding)" in message
    )
    assert_nothing_left(tmp_path)


def test_the_tarball_unpacked_is_the_one_whose_sha256_was_checked(
    tmp_path, monkeypatch
):
    """Another file put at the tarball's path between the check and the unpacking
    (here: right after the hash) is not what gets unpacked."""
    good = source_tarball(tmp_path / "good", "echo good\n")
    other = source_tarball(tmp_path / "other", "echo other\n")
    sha256 = sha256_of(good)
    digest = hashlib.file_digest

    def digest_then_swap(handle, name):
        found = digest(handle, name)
        other.replace(good)
        return found

    monkeypatch.setattr(hashlib, "file_digest", digest_then_swap)
    work = tmp_path / "work"
    work.mkdir()
    deadline = ftbuild.Deadline(60)
    source = ftbuild.get_source(str(good), sha256, work, deadline, lambda _: None)
    tree = ftbuild.unpack(source, work / "src")
    assert (tree / "configure").read_text() == "#!/bin/sh\necho good\n"
    monkeypatch.undo()
    assert sha256_of(good) != sha256  # the path holds the other file now
    source.close()


def test_the_step_error_line_is_the_one_that_says_why():
    make = [
        "gcc -c -o Modules/_ctypes/_ctypes.o Modules/_ctypes/_ctypes.c",
        "Modules/_ctypes/_ctypes.c:118:10: fatal error: ffi.h: No such file",
        "compilation terminated.",
        "make: *** [Makefile:3148: Modules/_ctypes/_ctypes.o] Error 1",
    ]
    assert ftbuild.step_error("make", make) == make[-1]
    pip = ["Collecting numpy", "ERROR: No matching distribution found for numpy", ""]
    assert ftbuild.step_error("pip install", pip) == pip[1]
    assert ftbuild.step_error("venv", []) == "no output"


def test_the_venv_gets_what_the_demos_need():
    assert set(NEEDED_MODULES) <= set(ftbuild.PACKAGES)


# -- through snakemake ----------------------------------------------------------------


@pytest.mark.integration
def test_the_target_is_not_in_the_default_run(workflow_copy):
    assert "free_threaded_python" not in planned_jobs(
        run_snakemake(workflow_copy, "-n", "--cores", "2")
    )
    planned = planned_jobs(
        run_snakemake(workflow_copy, "-n", "--cores", "2", "free_threaded_python")
    )
    assert planned == {"free_threaded_python": 1, "total": 1}


@pytest.mark.integration
def test_the_target_refuses_a_wrong_sha256_in_one_line(workflow_copy, tmp_path):
    tarball = source_tarball(tmp_path, "exit 0\n")
    done = run_snakemake(
        workflow_copy,
        "--cores",
        "2",
        "free_threaded_python",
        "--config",
        f"free_threading={{python: false, source: {tarball}, sha256: {'3' * 64}}}",
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode != 0
    line = f"free_threading.sha256: {tarball} has sha256 {sha256_of(tarball)}"
    assert line in said
    assert "No plot for" not in said  # no stations blamed: this run plots none
    assert line in (workflow_copy / "logs" / "free_threaded_python.log").read_text()
    assert not (workflow_copy / "resources" / "free-threaded-python").exists()
    assert not list((workflow_copy / "resources").glob("free-threaded-python-*"))


@pytest.mark.skipif(
    os.environ.get("WEATHERPLOT_BUILD_TEST") != "1",
    reason="a real CPython build (~10 min on 2 cores): set WEATHERPLOT_BUILD_TEST=1 "
    "(and WEATHERPLOT_BUILD_SOURCE/_SHA256 for a tarball other than the default)",
)
@pytest.mark.integration
def test_a_real_build_is_free_threaded_and_reused(workflow_copy, tmp_path):
    source = os.environ.get("WEATHERPLOT_BUILD_SOURCE", DEFAULTS["source"])
    sha256 = os.environ.get("WEATHERPLOT_BUILD_SHA256", DEFAULTS["sha256"])
    setting = (
        f"free_threading={{python: false, source: {source}, sha256: {sha256}, "
        f"build_dir: {tmp_path / 'builds'}}}"
    )
    args = ("--cores", "2", "free_threaded_python", "--config", setting)
    run_snakemake(workflow_copy, *args, timeout=3600)
    final = workflow_copy / "resources" / "free-threaded-python"
    assert final.is_symlink()
    python = final / "venv" / "bin" / "python"
    found = check(str(python), probe(str(python)))
    assert found.gil_enabled is False  # and check() found Py_GIL_DISABLED
    assert (final / ftbuild.MARKER).is_file()
    # Gone from the workflow (a new clone), kept in build_dir: linked, not rebuilt.
    final.unlink()
    run_snakemake(workflow_copy, *args, timeout=600)
    log = (workflow_copy / "logs" / "free_threaded_python.log").read_text()
    assert "reusing the earlier build" in log
    assert "./configure" not in log
