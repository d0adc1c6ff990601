"""Build a free-threaded CPython (``./configure --disable-gil``) from a release tarball,
with a venv of what the demos and the plot code need: ``snakemake --cores 2
free_threaded_python`` (not in the default run). What it checks, bounds and cleans up:
docs/free-threading.md. Only the standard library and this package.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .atomicwrite import write_json_atomic
from .download import DownloadError, fetch
from .freethreading import FreeThreadingError, check, probe

# What the demos and the plot code import (NEEDED_MODULES) and the report's
# templates; binary wheels only: PyPI has cp313t/cp314t wheels of all four, and
# without the flag pip tries to build the newest Matplotlib from source.
PACKAGES = ("numpy", "matplotlib", "pandas", "jinja2")
# Built-in modules pip (and so the venv) cannot do without, and what provides them.
NEEDED_BUILTINS = {
    "ssl": "OpenSSL's headers (Debian/Ubuntu: libssl-dev; Fedora: openssl-devel)",
    "zlib": "zlib's headers (Debian/Ubuntu: zlib1g-dev; Fedora: zlib-devel)",
}
BUILD_DEPS_HINT = (
    "install the build tools and CPython's build dependencies (Debian/Ubuntu: "
    "apt-get install build-essential libssl-dev zlib1g-dev; see "
    "https://devguide.python.org/getting-started/setup-building/)"
)
# No GIL; neither the test suite (built, installed and byte-compiled three times: a
# good part of `make install`) nor pip in the base install (the venv gets its own).
CONFIGURE_OPTIONS = ("--disable-gil", "--disable-test-modules", "--with-ensurepip=no")
MARKER = "BUILD-OK.json"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_FT_EXECUTABLE = re.compile(r"python3\.\d+t")


class BuildError(Exception):
    """The build cannot go on; the message is one line."""


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self, step: str) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.expired(step)
        return left

    def expired(self, step: str) -> BuildError:
        return BuildError(
            f"free_threaded_python: not done within {self.seconds / 60:g} min "
            f"(free_threading.build_timeout_minutes); stopped during {step}"
        )


def install_dir(build_dir: Path | str, sha256: str) -> Path:
    """Where the build for this tarball lives (and stays: it cannot be moved)."""
    return Path(build_dir).absolute() / f"free-threaded-python-{sha256[:12]}"


def installs(build_dir: Path, sha256: str) -> list[Path]:
    """This tarball's builds in ``build_dir``: the first one, and those built beside
    a complete one that failed its check here (``-2``, ``-3``, ...)."""
    first = install_dir(build_dir, sha256)
    found = [first, *first.parent.glob(f"{first.name}-*")]
    return [path for path in found if path.is_dir() and not path.is_symlink()]


def get_source(
    source: str, sha256: str, folder: Path, deadline: Deadline, log
) -> BinaryIO:
    """The verified tarball, open: a local file, or a URL downloaded into ``folder``.
    Checked and unpacked from this one open file, so a file put in its place
    meanwhile is never unpacked."""
    if _URL.match(source):
        name = Path(source.split("?", 1)[0].rstrip("/")).name or "source.tar"
        path = folder / name
        try:
            fetch(source, path, deadline=deadline.remaining("the download"), log=log)
        except DownloadError as error:
            raise BuildError(f"free_threading.source: {error}") from None
    else:
        path = Path(source).expanduser()
    try:
        handle = path.open("rb")
    except OSError as error:
        problem = "no such file" if isinstance(error, FileNotFoundError) else error
        raise BuildError(
            f"free_threading.source: {source}: {problem} (give a CPython release "
            "tarball's path or URL)"
        ) from None
    try:
        found = hashlib.file_digest(handle, "sha256").hexdigest()
        if found != sha256.lower():
            raise BuildError(
                f"free_threading.sha256: {source} has sha256 {found}, not {sha256}: "
                "a different or damaged file, so nothing was unpacked (give the "
                "release's sha256, or the right file)"
            )
    except BaseException:
        handle.close()
        raise
    handle.seek(0)  # what is unpacked is what was checked
    log(f"{source}: sha256 {sha256} as configured")
    return handle


def unpack(tarball: BinaryIO, folder: Path) -> Path:
    """The source tree (the folder holding ``configure``) unpacked into ``folder``
    from the open, verified ``tarball`` (get_source left it at its start)."""
    try:
        with tarfile.open(fileobj=tarball) as archive:
            if hasattr(tarfile, "data_filter"):  # refuses links and paths outside
                archive.extractall(folder, filter="data")
            else:  # Python < 3.11.4: the tarball's checksum was verified already
                archive.extractall(folder)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BuildError(
            f"free_threading.source: {tarball.name}: not unpacked ({error})"
        ) from None
    found = sorted(folder.glob("*/configure"))
    if not found:
        raise BuildError(
            f"free_threading.source: {tarball.name} has no configure script: not a "
            "CPython source release"
        )
    return found[0].parent


def build_tools() -> None:
    if shutil.which("make") is None:
        raise BuildError(f"free_threaded_python: no `make` on PATH: {BUILD_DEPS_HINT}")
    compiler = os.environ.get("CC", "").split()
    if compiler and shutil.which(compiler[0]) is None:
        raise BuildError(
            f"free_threaded_python: the C compiler CC={compiler[0]} is not on PATH: "
            f"{BUILD_DEPS_HINT}"
        )
    if not compiler and not (shutil.which("cc") or shutil.which("gcc")):
        raise BuildError(
            f"free_threaded_python: no C compiler (cc, gcc) on PATH: {BUILD_DEPS_HINT}"
        )


def _orphan_guard() -> None:
    """In the child before exec: its own process group (killed whole on a time-out
    or a stop), and SIGKILL when the builder dies, so no make outlives it."""
    os.setsid()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def run_step(
    command: list[str], step: str, cwd: Path, logfile, deadline: Deadline
) -> None:
    """Run ``command`` with its output appended to the log (``logfile``: opened for
    appending); BuildError when it fails or runs out of time."""
    logfile.write(f"\n[{time.strftime('%H:%M:%S')}] $ {' '.join(command)}\n")
    logfile.flush()
    start = os.fstat(logfile.fileno()).st_size
    # A stop (SIGTERM) while Popen runs would leave the step running unseen: _stop
    # holds it until the process is known, and it is raised inside the try that
    # kills the step. (Blocking the signal would not do: the kernel hands a blocked
    # signal to another thread, and Python runs its handler at once all the same.)
    _stopping.starting = True
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            preexec_fn=_orphan_guard,
        )
    except BaseException:
        _stopping.starting = False
        _stopping.raise_held()  # a stop outranks why the step could not start
        raise
    _stopping.starting = False
    try:
        _stopping.raise_held()
        process.wait(timeout=deadline.remaining(step))
    except subprocess.TimeoutExpired:
        raise deadline.expired(step) from None
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        with Path(logfile.name).open("rb") as again:
            again.seek(start)
            tail = again.read()[-20000:].decode(errors="replace").splitlines()
        raise BuildError(
            f"free_threaded_python: {step} failed: {step_error(step, tail)} (whole "
            f"output: {logfile.name})"
        )


def step_error(step: str, tail: list[str]) -> str:
    """The line of a failed step's output that says why."""
    lines = [line.strip() for line in tail if line.strip()]
    patterns = {"./configure": r"^configure: error:", "pip install": r"^ERROR:"}
    pattern = patterns.get(step, r"(fatal )?error:|\*\*\* ")
    for line in reversed(lines):
        if re.search(pattern, line, re.IGNORECASE):
            if step == "./configure":  # a missing dependency, as a rule
                return f"{line}: {BUILD_DEPS_HINT}"
            return line
    return lines[-1] if lines else "no output"


def find_executable(prefix: Path) -> Path:
    found = sorted(
        path
        for path in (prefix / "bin").glob("python3.*t")
        if _FT_EXECUTABLE.fullmatch(path.name)
    )
    if not found:
        raise BuildError(
            f"free_threaded_python: `make install` made no python3.*t in "
            f"{prefix / 'bin'}: not a free-threaded build (CPython 3.13 or newer?)"
        )
    return found[-1]


def reusable(install: Path, log) -> Path | None:
    """The venv's python of a complete earlier build that passes the checks here.
    One that does not is left as it is: the check may fail for this environment
    (a PYTHONPATH, a time-out under load), not for the build."""
    python = install / "venv" / "bin" / "python"
    try:
        found = check(str(python), probe(str(python)))
    except FreeThreadingError as error:
        log(
            f"the complete build in {install} does not pass its check here "
            f"({error}): kept as it is and not used; a new build replaces it only "
            "once that one passes its checks"
        )
        return None
    log(f"reusing the earlier build in {install} (Python {found.version})")
    return python


def link(final: Path, install: Path) -> None:
    """Make ``final`` a symlink to ``install`` in one atomic rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not final.is_symlink():
        raise BuildError(
            f"free_threaded_python: {final} exists and is not a link to a build: "
            "move it away and run again"
        )
    temporary = final.with_name(f".{final.name}.link-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(install, target_is_directory=True)
    temporary.replace(final)


def build(
    final: Path | str,
    *,
    source: str,
    sha256: str,
    build_dir: Path | str,
    timeout: float,
    logfile,
    jobs: int = 1,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build (or reuse) the free-threaded interpreter and its venv, make ``final``
    point to it; returns the venv's python. ``timeout`` in seconds; ``logfile``: a
    text file opened for appending, for every step's output; ``log``: also gets each
    progress line."""
    final = Path(final).absolute()
    build_dir = Path(build_dir).absolute()
    started = time.monotonic()
    deadline = Deadline(timeout)

    def note(message: str) -> None:
        logfile.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
        logfile.flush()
        if log is not None:
            log(message)

    build_dir.mkdir(parents=True, exist_ok=True)
    with (build_dir / ".free-threaded-python.lock").open("w") as lock:
        # One build at a time per build folder (two CI runs on one machine).
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in build_dir.glob(".ftbuild-*"):  # left by a build killed outright
            shutil.rmtree(stale, ignore_errors=True)
        kept = []  # complete, but failing their check here
        for earlier in installs(build_dir, sha256):
            if not (earlier / MARKER).is_file():  # left by a build killed outright
                shutil.rmtree(earlier, ignore_errors=True)
            elif (python := reusable(earlier, note)) is not None:
                link(final, earlier)
                return python
            else:
                kept.append(earlier)
        install = first = install_dir(build_dir, sha256)
        for number in itertools.count(2):  # beside the kept ones
            if not install.exists():
                break
            install = first.with_name(f"{first.name}-{number}")
        work = Path(tempfile.mkdtemp(prefix=".ftbuild-", dir=build_dir))
        try:
            with get_source(source, sha256, work, deadline, note) as tarball:
                build_tools()
                note(f"unpacking {tarball.name}")
                tree = unpack(tarball, work / "src")
            prefix = install / "cpython"
            note(f"building into {install} (every step's output: {logfile.name})")
            run_step(
                ["./configure", *CONFIGURE_OPTIONS, f"--prefix={prefix}"],
                "./configure",
                tree,
                logfile,
                deadline,
            )
            run_step(["make", f"-j{jobs}"], "make", tree, logfile, deadline)
            run_step(["make", "install"], "make install", tree, logfile, deadline)
            base = find_executable(prefix)
            info = probe(str(base), modules=tuple(NEEDED_BUILTINS))
            if not info["py_gil_disabled"]:
                raise BuildError(
                    f"free_threaded_python: {base} has the GIL (Py_GIL_DISABLED is "
                    "0): ./configure took no --disable-gil (CPython 3.13 or newer?)"
                )
            if info["missing"]:
                module = info["missing"][0]
                raise BuildError(
                    f"free_threaded_python: the built Python has no {module} module, "
                    f"which pip needs: install {NEEDED_BUILTINS[module]} and run again"
                )
            venv = install / "venv"
            run_step(
                [str(base), "-m", "venv", str(venv)], "venv", work, logfile, deadline
            )
            python = venv / "bin" / "python"
            run_step(
                [str(python), "-m", "pip", "install", "--only-binary=:all:", *PACKAGES],
                "pip install",
                work,
                logfile,
                deadline,
            )
            found = check(str(python), probe(str(python)))
            if found.gil_enabled:
                note(f"the GIL is on again after importing {found.reenabled_by}")
            seconds = time.monotonic() - started
            write_json_atomic(
                install / MARKER,
                {
                    "source": source,
                    "sha256": sha256,
                    "seconds": round(seconds, 1),
                    "packages": list(PACKAGES),
                    **found.record(),
                },
            )
            note(f"built Python {found.version} (no GIL) in {seconds:.0f} s: {python}")
        except BaseException as error:
            shutil.rmtree(install, ignore_errors=True)  # never complete
            if isinstance(error, FreeThreadingError):  # no run, no answer, no pass
                raise BuildError(f"free_threaded_python: {error}") from None
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        link(final, install)
        for replaced in kept:
            note(f"removing {replaced}: replaced by {install}, which passed")
            shutil.rmtree(replaced, ignore_errors=True)
        return python


class _Stopping:
    """A stop signal that came while a step was starting, held for run_step."""

    starting = False
    held: int | None = None

    def raise_held(self) -> None:
        if self.held is not None:
            signum, self.held = self.held, None
            raise SystemExit(f"free_threaded_python: stopped by signal {signum}")


_stopping = _Stopping()


def _stop(signum, frame):
    # Snakemake stops a job with SIGTERM: unwind, so the half-built tree is removed.
    _stopping.held = signum
    if not _stopping.starting:
        _stopping.raise_held()


def main(smk) -> None:
    """The rule's script: ``smk`` is the ``snakemake`` object."""
    signal.signal(signal.SIGTERM, _stop)
    params = smk.params
    # From the config, not params: a param is a rerun trigger, and neither a new
    # build folder (the build is found by its sha256) nor a new time-out is a reason
    # to build again.
    settings = smk.config["free_threading"]
    Path(smk.log[0]).write_text("")
    with Path(smk.log[0]).open("a") as logfile:
        try:
            build(
                smk.output[0],
                source=params.source,
                sha256=params.sha256,
                build_dir=settings["build_dir"],
                jobs=smk.threads,
                timeout=settings["build_timeout_minutes"] * 60,
                logfile=logfile,
                log=lambda message: print(message, file=sys.stderr),
            )
        except BuildError as error:
            logfile.write(f"{error}\n")
            print(error, file=sys.stderr)
            sys.exit(1)
