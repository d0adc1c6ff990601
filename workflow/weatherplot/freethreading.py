"""Which free-threaded CPython (PEP 703, no GIL) the demos and the exercise also run
under (config ``free_threading.python``: ``auto``, a path or command, or false), and
the checks made on it before any job. How it is chosen, probed, cached and passed to
nested runs: docs/free-threading.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .atomicwrite import write_json_atomic

# Where `snakemake free_threaded_python` puts the interpreter's venv (relative to the
# workflow's working directory); `auto` looks there after PATH.
BUILT_PYTHON = Path("resources/free-threaded-python/venv/bin/python")
# Newest first: 3.14t is the supported free-threaded build (PEP 779).
PATH_CANDIDATES = ("python3.14t", "python3.13t")
# What the demos and the plot code import (pandas for the station readers).
NEEDED_MODULES = ("numpy", "matplotlib", "pandas")
PROBE_TIMEOUT_SECONDS = 120
# The probe's answers, relative to the workflow's working directory.
PROBE_CACHE = Path(".snakemake/free-threading-probe.json")
# The main snakemake process's answer, for the jobs that re-run the Snakefile.
INHERITED_ENV = "WEATHERPLOT_FREE_THREADED"
# What else decides what the probe imports and whether the GIL stays off.
PROBE_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHON_GIL")
_CACHE_FORMAT = 1

# Which interpreter a command really runs (a shim execs another): cheap (no site).
_RUNS = "import json, sys; print(json.dumps({'executable': sys.executable}))"

# Run in the candidate interpreter: prints one JSON object. Every import is tried
# with warnings recorded, so an extension that re-enables the GIL is named.
_PROBE = r"""
import json, os, re, site, sys, sysconfig, warnings
info = {
    "version": sys.version.split()[0],
    "executable": sys.executable,
    "py_gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "missing": [],
    "reenabled_by": [],
}
for name in sys.argv[1:]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            __import__(name)
        except ImportError:
            info["missing"].append(name)
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, RuntimeWarning) and "GIL" in text:
            # "... enabled to load module 'x', which has not declared ...": x may
            # be an extension that `name` imports, not `name` itself.
            found = re.search(r"module '([^']+)'", text)
            info["reenabled_by"].append(found.group(1) if found else name)
info["gil_enabled"] = getattr(sys, "_is_gil_enabled", lambda: True)()
# The folders whose contents decide these imports (for the probe's cache).
info["paths"] = sorted({p for p in sys.path if p and os.path.isdir(p)})
if site.ENABLE_USER_SITE:
    info["paths"].append(site.getusersitepackages())
print(json.dumps(info))
"""


class FreeThreadingError(Exception):
    """The configured interpreter cannot be used; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Interpreter:
    """A probed interpreter: what every record names as the one that ran it."""

    python: str  # the command to run (absolute path)
    version: str
    executable: str
    gil_enabled: bool
    reenabled_by: tuple[str, ...]

    def record(self) -> dict:
        return {
            "version": self.version,
            "executable": self.executable,
            "gil_enabled": self.gil_enabled,
            "free_threaded_build": True,  # check() refuses any other
            "gil_reenabled_by": list(self.reenabled_by),
        }


def this_interpreter() -> dict:
    """The record of the interpreter running this code (the same keys)."""
    import sysconfig

    return {
        "version": sys.version.split()[0],
        "executable": sys.executable,
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_reenabled_by": [],
    }


def probe(python: str, modules=NEEDED_MODULES) -> dict:
    """Run the probe in ``python``; FreeThreadingError if it does not run."""
    return _ask(python, ["-c", _PROBE, *modules])


def _ask(python: str, arguments: list[str]) -> dict:
    """The JSON object ``python ARGUMENTS`` prints last; FreeThreadingError, in one
    line, when it does not run or prints none."""
    try:
        done = subprocess.run(
            [python, *arguments],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise FreeThreadingError(f"{python}: no such interpreter") from None
    except PermissionError:
        raise FreeThreadingError(f"{python}: not executable") from None
    except subprocess.TimeoutExpired:
        raise FreeThreadingError(
            f"{python}: did not answer within {PROBE_TIMEOUT_SECONDS} s "
            "(is it a Python?)"
        ) from None
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FreeThreadingError(
            f"{python}: not a working Python 3.13+ ({last})"
        ) from None


def _identity(path: str) -> list | None:
    """The file ``path`` is (through links): its real path, size and mtime."""
    try:
        real = Path(path).resolve()
        stat = real.stat()
    except OSError:
        return None
    return [str(real), stat.st_size, stat.st_mtime_ns]


def _runs(python: str) -> str | None:
    """The interpreter the command ``python`` really runs. Itself when it is one
    (a binary named python*, through links: an installed CPython, a venv's python);
    otherwise asked, since a pyenv or asdf shim (a script) or a mise shim (a link to
    mise) runs what its own settings say (PYENV_VERSION, .python-version, ...).
    Asking costs ~20 ms idle, 60-140 ms on 2 CPUs at load 10 (plus the shim's own
    start: pyenv's ~250 ms there), so only such commands are asked."""
    real = Path(python).resolve()
    try:
        with real.open("rb") as handle:
            script = handle.read(2) == b"#!"
    except OSError:
        return None
    if real.name.startswith("python") and not script:
        return python
    try:
        return str(_ask(python, ["-S", "-c", _RUNS])["executable"])
    except (FreeThreadingError, OSError, TypeError, KeyError):
        return None


def _fingerprint(python: str) -> dict | None:
    """What a cached probe of ``python`` is valid for (its paths' mtimes apart);
    None when it cannot be told (then it is probed)."""
    runs = _runs(python)
    identity = None if runs is None else _identity(runs)
    if identity is None:
        return None
    return {
        "runs": runs,
        "identity": identity,
        "modules": list(NEEDED_MODULES),
        "env": {name: os.environ.get(name) for name in PROBE_ENV},
    }


def _mtimes(paths) -> dict:
    found = {}
    for path in paths:
        try:
            found[path] = Path(path).stat().st_mtime_ns
        except OSError:
            found[path] = None  # e.g. a user site-packages not made yet
    return found


def _read_cache(cache: Path) -> dict:
    try:
        data = json.loads(Path(cache).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
        return {}
    return data.get("probes", {})


def cached_probe(python: str, cache: Path | str | None) -> tuple[dict, bool]:
    """``probe(python)``, answered from ``cache`` when nothing it depends on changed
    since; returns (info, whether it came from the cache). A cache that cannot be
    read or written is only slower, never an error."""
    if cache is None:
        return probe(python), False
    key = _fingerprint(python)
    if key is None:
        return probe(python), False  # probe() says what is wrong
    probes = _read_cache(Path(cache))
    entry = probes.get(python)
    entry = entry if isinstance(entry, dict) else {}
    info = entry.get("info")
    if (
        entry.get("key") == key
        and isinstance(info, dict)
        and _identity(str(info.get("executable"))) == key["identity"]
        # Never empty: a real probe has at least the standard library's folder.
        and isinstance(info.get("paths"), list)
        and info["paths"]
        and entry.get("mtimes") == _mtimes(info["paths"])
    ):
        return info, True
    info = probe(python)
    probes[python] = {
        "key": key,
        "mtimes": _mtimes(info.get("paths", [])),
        "info": info,
    }
    # Whole or not at all, even with two runs at once.
    with contextlib.suppress(OSError):
        write_json_atomic(cache, {"format": _CACHE_FORMAT, "probes": probes})
    return info, False


def check(python: str, info: dict) -> Interpreter:
    """Refuse, in one line, an interpreter that is not free-threaded or lacks what
    the demos need; a GIL turned back on by an import is kept (and reported)."""
    if not info.get("py_gil_disabled"):
        raise FreeThreadingError(
            f"free_threading.python: {python} (Python {info.get('version')}) has the "
            "GIL (Py_GIL_DISABLED is 0, sys._is_gil_enabled() is True): give a "
            "free-threaded build (python3.14t, python3.13t), `auto`, or false"
        )
    if info.get("missing"):
        missing = " ".join(info["missing"])
        raise FreeThreadingError(
            f"free_threading.python: {python} lacks {missing}: install them with "
            f"`{python} -m pip install --only-binary=:all: {missing}` (PyPI has "
            "cp313t/cp314t wheels)"
        )
    return Interpreter(
        python=python,
        version=info["version"],
        executable=info["executable"],
        gil_enabled=bool(info["gil_enabled"]),
        reenabled_by=tuple(info.get("reenabled_by", ())),
    )


def to_environment(setting, interpreter: Interpreter | None) -> str:
    """The main process's answer, as the value of INHERITED_ENV: with the folder
    ``setting`` was resolved in (a nested run works in a scratch copy) and the
    identity of the executable."""
    found = None if interpreter is None else dataclasses.asdict(interpreter)
    return json.dumps(
        {
            "setting": setting,
            "workdir": str(Path.cwd()),
            "interpreter": found,
            "identity": found and _identity(interpreter.executable),
        }
    )


def from_environment(setting, environ=os.environ) -> tuple[bool, Interpreter | None]:
    """(True, the main process's answer) when INHERITED_ENV holds one for this
    ``setting`` that still holds: ``setting`` (in the main process's folder) names
    that interpreter's command, and its executable is the same file. (False, None)
    otherwise (then resolve): a stale or leaked value is never taken as it is. No
    interpreter (the GIL build only) runs nothing, so it is taken as it is."""
    try:
        data = json.loads(environ[INHERITED_ENV])
        if data["setting"] != setting:
            return False, None
        found = data["interpreter"]
        if found is None:
            return True, None
        found["reenabled_by"] = tuple(found["reenabled_by"])
        interpreter = Interpreter(**found)
        workdir = Path(data["workdir"])
    except (KeyError, TypeError, ValueError):
        return False, None
    identity = _identity(interpreter.executable)
    if (
        interpreter.python not in commands(setting, workdir)
        or identity is None
        or identity != data.get("identity")
    ):
        return False, None
    return True, interpreter


def _off(setting) -> bool:
    return setting is False or setting in ("false", "none", "")


def commands(setting, workdir: Path | str = ".") -> list[str]:
    """What ``setting`` may resolve to, as absolute paths: for ``auto`` the
    free-threaded interpreters on PATH, then the built one; else the one it names (a
    path relative to ``workdir`` or a command on PATH), if it exists."""
    if _off(setting):
        return []
    if setting == "auto":
        found = [shutil.which(name) for name in PATH_CANDIDATES]
        built = Path(workdir) / BUILT_PYTHON
        if built.exists():
            found.append(str(built.absolute()))
        return [path for path in found if path]
    name = Path(str(setting)).expanduser()
    if os.sep in str(setting):  # a path, not a command's name
        name = Path(workdir) / name
    found = shutil.which(str(name))
    return [] if found is None else [str(Path(found).absolute())]


def resolve(setting, cache: Path | str | None = None) -> Interpreter | None:
    """The interpreter for ``free_threading.python``: None for false, or for
    ``auto`` when none is found or none of those found passes the checks (the
    run is then the GIL build's only); FreeThreadingError for an explicit one that
    fails them. ``cache``: the probe's cache file (None: always probe)."""
    found = commands(setting)
    if setting == "auto":
        for python in found:
            try:
                return check(python, cached_probe(python, cache)[0])
            except FreeThreadingError as error:
                print(f"free_threading: skipping {error}", file=sys.stderr)
        return None
    if found:
        return check(found[0], cached_probe(found[0], cache)[0])
    if _off(setting):
        return None
    raise FreeThreadingError(
        f"free_threading.python: {str(setting)!r} not found (give a path or a "
        "command on PATH, `auto`, or false)"
    )


def resolve_for_this_run(
    setting, environ=os.environ, cache: Path | str | None = PROBE_CACHE
) -> Interpreter | None:
    """:func:`resolve`, once per run: a process started by a snakemake that already
    has an answer for the same ``setting`` (a cluster job step, the exercise's nested
    run) takes it from ``environ`` instead of probing again; the answer is put there
    for the processes this one starts."""
    inherited, found = from_environment(setting, environ)
    if not inherited:
        found = resolve(setting, cache=cache)
    environ[INHERITED_ENV] = to_environment(setting, found)
    return found
