"""Only ours is deleted: a scratch folder (weatherplot.ownedtemp) or a plot server's
socket folder (weatherplot.plotserver.hooks) is removed by a later run only when its
owner is surely gone; one whose owner runs in another pid namespace, on another host, or
that cannot be judged, stays. (A killed owner's folder is removed: test_faults.py
and test_plotserver.py.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import REPO

from weatherplot import hostinfo, ownedtemp
from weatherplot.ownedtemp import OWNER_FILE, owned_tempdir, stale_dirs
from weatherplot.plotserver import hooks as plothooks
from weatherplot.plotserver import server as plotserver

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="Linux's boot id and pid namespaces"
)


def new_scratch_folder() -> None:
    with owned_tempdir("exercise-"):
        pass


#: What makes a folder (printed, then held until stdin closes) and what a later
#: run calls that removes stale ones.
KINDS = {
    "scratch": (
        "from weatherplot.ownedtemp import owned_tempdir\n"
        "with owned_tempdir('exercise-') as d:\n"
        "    print(d, flush=True); sys.stdin.read()\n",
        new_scratch_folder,
    ),
    "socket": (
        "from pathlib import Path; from weatherplot.plotserver import hooks\n"
        "print(Path(hooks._socket_path()).parent, flush=True); sys.stdin.read()\n",
        plothooks.remove_stale_socket_dirs,
    ),
}


@pytest.fixture
def temp_folder(monkeypatch):
    """A short private temp folder (AF_UNIX paths are short), for this test and its
    children."""
    folder = Path(tempfile.mkdtemp(prefix="wpo-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def hold_folder(kind: str, env: dict, prefix: list[str] = (), code: str = ""):
    """A process (under ``prefix``, e.g. unshare) that makes a folder of ``kind``
    and holds it: (the process, the folder)."""
    process = subprocess.Popen(
        [*prefix, sys.executable, "-c", "import sys\n" + code + KINDS[kind][0]],
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow"), **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, Path(process.stdout.readline().strip())


def can_unshare_pid() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = ["unshare", "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.mark.skipif(
    not can_unshare_pid(), reason="needs root and unshare to make a pid namespace"
)
@pytest.mark.parametrize("kind", KINDS)
def test_a_live_owner_in_another_pid_namespace_keeps_its_folder(kind, temp_folder):
    """As in a container sharing /tmp: its pid means another process here."""
    unshare = ["unshare", "--pid", "--fork", "--mount-proc"]
    holder, folder = hold_folder(kind, {}, unshare)
    try:
        assert folder.is_dir() and folder.parent == temp_folder
        KINDS[kind][1]()  # a run here cleans up
        assert folder.is_dir()
        recorded = json.loads(
            next(f for f in folder.iterdir() if f.is_file()).read_text()
        )
        assert recorded["pid_namespace"] != hostinfo.pid_namespace()
    finally:
        holder.communicate("")


@pytest.mark.parametrize("kind", KINDS)
def test_another_hosts_folder_is_left_even_once_its_owner_is_killed(kind, temp_folder):
    """A temp folder shared between hosts: its owner's pid means nothing here."""
    elsewhere = "import socket; socket.gethostname = lambda: 'another-host'\n"
    holder, folder = hold_folder(kind, {}, code=elsewhere)
    holder.kill()  # SIGKILL: no clean-up, and its pid is gone here too
    holder.wait()
    KINDS[kind][1]()
    assert folder.is_dir()
    # The same killed owner on this host: its folder is removed.
    holder, ours = hold_folder(kind, {})
    holder.kill()
    holder.wait()
    KINDS[kind][1]()
    assert not ours.exists() and folder.is_dir()


@pytest.mark.parametrize("kind", KINDS)
def test_without_proc_the_owner_is_recorded_and_judged(kind, temp_folder, monkeypatch):
    """The Linux calls hidden, as on a Mac: a real pid and start time, a live
    owner's folder kept, a killed one's removed."""
    monkeypatch.setenv(hostinfo.HIDE_VAR, "1")
    holder, folder = hold_folder(kind, {hostinfo.HIDE_VAR: "1"})
    try:
        name = OWNER_FILE if kind == "scratch" else plotserver.OWNER_FILE
        recorded = json.loads((folder / name).read_text())
        assert recorded["pid"] == holder.pid
        assert recorded["start"] == hostinfo.start_key(holder.pid) is not None
        assert recorded["boot"].startswith("boot-time:")
        KINDS[kind][1]()
        assert folder.is_dir()
    finally:
        holder.kill()
        holder.wait()
    KINDS[kind][1]()
    assert not folder.exists()


def write_folder(parent: Path, name: str, text: str) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / OWNER_FILE).write_text(text)
    return folder


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_only_a_folder_that_can_be_judged_is_removed(temp_folder):
    here = ownedtemp.owner()
    dead = {**here, "pid": dead_pid()}
    other_boot = {**here, "boot": "linux:00000000-0000-0000-0000-000000000000"}
    folders = {
        # Removed: the owner is dead, or ran in an earlier boot of this host.
        "exercise-dead": (json.dumps(dead), True),
        "exercise-earlier-boot": (json.dumps(other_boot), True),
        # Left: another boot time (no boot id: clocks move), another namespace,
        # an owner file of the old layout, or not an owner record at all.
        "exercise-boot-time": (json.dumps({**dead, "boot": "boot-time:1"}), False),
        "exercise-ns": (json.dumps({**dead, "pid_namespace": "pid:[1]"}), False),
        "exercise-old": (f"{dead['pid']} 12345\n", False),
        "exercise-no-start": (json.dumps({**dead, "start": None}), False),
        "exercise-list": (json.dumps([dead]), False),
        "exercise-live": (json.dumps(here), False),
    }
    made = {
        name: write_folder(temp_folder, name, text)
        for name, (text, _) in folders.items()
    }
    stale = {p for p in stale_dirs(("exercise-",)) if p.parent == temp_folder}
    assert stale == {made[name] for name, (_, gone) in folders.items() if gone}
