"""Stations by id alone: downloads from a local HTTP server in NCEI's layout.

Nothing here touches the internet. A server on 127.0.0.1 serves NOAA's real files
(``ghcnd-meta/``: a real excerpt of ``ghcnd-stations.txt`` and the real
``ghcnd-countries.txt``) and real ``.dly`` files (the shipped ``.dly.gz``, unpacked)
under ``all/<id>.dly``; a path can be told to misbehave (404, an HTML page, a
transfer cut short, a stall, a trickle) to check each failure ends in bounded time
with a clear message, and nothing half-written.
"""

from __future__ import annotations

import csv
import gzip
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import (
    DEATH_VALLEY,
    FIXTURE_DATA,
    FIXTURES,
    REPO,
    copy_workflow,
    planned_jobs,
    read_config,
    run_snakemake,
    write_config,
)

from weatherplot.download import DownloadError, fetch
from weatherplot.errors import StationDataError
from weatherplot.io.ghcnd_meta import (
    read_ghcnd_countries,
    read_ghcnd_stations,
    station_metadata,
)
from weatherplot.stations import (
    STATION_LIST_METADATA,
    ConfigError,
    download_station,
    resolve_stations,
    station_list_ids,
    title_info,
)

# Real NOAA station-list excerpts, frozen with the fixtures (from shared/data).
META = FIXTURES / "ghcnd-meta"
PHOENIX = "USW00023183"  # downloaded by id in the end-to-end test
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head>"
    b"<body><h1>We'll be back soon</h1></body></html>\n"
)


def real_dly(station: str) -> bytes:
    return gzip.decompress((FIXTURE_DATA / f"{station}.dly.gz").read_bytes())


def station_list_line(row: dict) -> str:
    """One ``ghcnd-stations.txt`` line in NOAA's fixed width, from the real values
    of ``data/stations.csv`` (the real excerpt holds none of the shipped stations)."""
    return (
        f"{row['id']:<11} {float(row['latitude']):8.4f} {float(row['longitude']):9.4f}"
        f" {float(row['elevation_m']):6.1f}    {row['name']:<30}\n"
    )


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        behaviour = server.behaviour.get(self.path)
        body = server.files.get(self.path)
        if behaviour == "stall":  # headers, then nothing
            self._headers(200, 1_000_000)
            server.release.wait(30)
            return
        if behaviour == "trickle":  # a byte every 0.1 s
            self._headers(200, 1_000_000)
            for _ in range(300):
                if server.release.is_set():
                    return
                self.wfile.write(b"U")
                self.wfile.flush()
                time.sleep(0.1)
            return
        if behaviour == "html":
            self._headers(200, len(HTML_PAGE), "text/html")
            self.wfile.write(HTML_PAGE)
            return
        if behaviour in ("to-https", "to-same"):  # a mirror that moved
            scheme = "https" if behaviour == "to-https" else "http"
            port = server.server_address[1]
            self.send_response(302)
            self.send_header("Location", f"{scheme}://127.0.0.1:{port}{server.moved}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body is None:
            self._headers(404, 0)
            return
        if behaviour == "no-length":  # no Content-Length: the end is the hang-up
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        if behaviour == "truncate":  # promise the whole file, send half, hang up
            self._headers(200, len(body))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._headers(200, len(body))
        self.wfile.write(body)

    def _headers(self, status, length, kind="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def ncei():
    """A local server in NCEI's layout; ``.url`` is its ``ghcnd_url``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests, server.behaviour = [], {}
    server.release = threading.Event()
    catalog = {
        r["id"]: r for r in csv.DictReader((FIXTURE_DATA / "stations.csv").open())
    }
    stations_txt = (META / "ghcnd-stations-sample.txt").read_bytes()
    stations_txt += station_list_line(catalog[PHOENIX]).encode()
    server.files = {
        "/ghcnd-stations.txt": stations_txt,
        "/ghcnd-countries.txt": (META / "ghcnd-countries.txt").read_bytes(),
        **{f"/all/{s}.dly": real_dly(s) for s in catalog},
    }
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    """A URL nothing listens on: what "offline" looks like to the client."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- NOAA's metadata files ---------------------------------------------------------


def test_station_list_reader_reads_noaa_fixed_width():
    stations, meta = read_ghcnd_stations(META / "ghcnd-stations-sample.txt")
    assert meta["lines"] == 1116 and len(stations) == 1116
    first = stations["ACW00011604"]
    assert first["name"] == "ST JOHNS COOLIDGE FLD"
    assert (first["latitude"], first["longitude"], first["elevation_m"]) == (
        17.1167,
        -61.7833,
        10.1,
    )
    assert first["country_code"] == "AC"
    assert sum(1 for s in stations if s.startswith("GM")) == 1105


def test_country_names_lose_their_trailing_blanks():
    countries, _ = read_ghcnd_countries(META / "ghcnd-countries.txt")
    assert countries["AC"] == "Antigua and Barbuda"
    assert countries["GM"] == "Germany"
    assert len(countries) == 219


def test_station_metadata_keeps_only_the_wanted_ids():
    found = station_metadata(
        META / "ghcnd-stations-sample.txt",
        META / "ghcnd-countries.txt",
        ["AE000041196", "NOWHERE0000"],
    )
    assert found == {
        "AE000041196": {
            "name": "SHARJAH INTER. AIRP",
            "country": "United Arab Emirates",
            "latitude": 25.333,
            "longitude": 55.517,
            "elevation_m": 34.0,
        }
    }


def test_corrupt_country_list_names_the_line(tmp_path):
    countries = tmp_path / "ghcnd-countries.txt"
    countries.write_text("AC Antigua and Barbuda\nnonsense\n")
    with pytest.raises(StationDataError, match=r"line 2.*'CODE name'"):
        read_ghcnd_countries(countries)


def test_corrupt_station_list_names_the_line(tmp_path):
    lines = (META / "ghcnd-stations-sample.txt").read_text().splitlines(True)
    lines[4] = lines[4][:14] + "xx" + lines[4][16:]
    bad = tmp_path / "ghcnd-stations.txt"
    bad.write_text("".join(lines))
    with pytest.raises(StationDataError, match=r"line 5.*not a number.*delete it"):
        read_ghcnd_stations(bad)


# --- resolving a config entry ----------------------------------------------------


def test_id_alone_is_downloaded_from_ghcnd_url_and_a_local_file_wins():
    config = {
        "stations": [{"id": "GME00111445"}, {"id": DEATH_VALLEY}],
        "ghcnd_url": "http://mirror.example/ghcn/daily/",
    }
    stations = resolve_stations(config, FIXTURE_DATA.parent)
    remote = stations["GME00111445"]
    assert remote["file"] == "resources/ghcnd/all/GME00111445.dly"
    assert remote["download_url"] == (
        "http://mirror.example/ghcn/daily/all/GME00111445.dly"
    )
    assert remote["station_list"] == "resources/ghcnd/station-metadata.json"
    local = stations[DEATH_VALLEY]
    assert local["file"] == f"data/{DEATH_VALLEY}.dly.gz"
    assert "download_url" not in local and "station_list" not in local


def test_id_that_is_no_ghcnd_id_and_has_no_file_is_refused():
    with pytest.raises(ConfigError, match="not a GHCN-Daily id"):
        resolve_stations({"stations": [{"id": "my-garden"}]}, FIXTURE_DATA.parent)


def test_title_takes_what_the_config_lacks_from_the_file_and_the_list(tmp_path):
    listing = tmp_path / "station-metadata.json"
    listing.write_text('{"X": {"name": "LISTED", "country": "Germany"}}')
    info = {"id": "X", "name": "Mine", "station_list": str(listing)}
    merged = title_info(info, {"latitude": 50.0, "name": "FROM FILE"})
    assert merged["name"] == "Mine"  # the config wins
    assert merged["latitude"] == 50.0 and merged["country"] == "Germany"
    del info["name"]
    assert title_info(info, {})["name"] == "LISTED"


# --- the download itself ---------------------------------------------------------


def test_download_is_the_real_file_and_atomic(ncei, tmp_path):
    dest = tmp_path / "all" / f"{PHOENIX}.dly"
    size = download_station(PHOENIX, f"{ncei.url}/all/{PHOENIX}.dly", dest)
    assert dest.read_bytes() == real_dly(PHOENIX) and size == dest.stat().st_size
    assert list(dest.parent.iterdir()) == [dest]  # no .part left behind


@pytest.mark.parametrize(
    ("behaviour", "problem", "todo", "attempts"),
    [
        (None, r"HTTP 404", r"check the id 'USW00099999' in NOAA's station list", 1),
        ("html", r"web page \(HTML\)", r"check the network", 1),
        ("truncate", r"transfer broken off", r"check the network", 3),
    ],
)
def test_failed_download_says_id_url_and_what_to_do(
    ncei, tmp_path, behaviour, problem, todo, attempts
):
    station = "USW00099999" if behaviour is None else PHOENIX
    path = f"/all/{station}.dly"
    if behaviour:
        ncei.behaviour[path] = behaviour
    dest = tmp_path / f"{station}.dly"
    with pytest.raises(StationDataError) as caught:
        download_station(station, ncei.url + path, dest, pause=0.01)
    message = str(caught.value)
    assert f"{ncei.url}{path}: cannot download station {station}" in message
    assert re.search(problem, message) and re.search(todo, message)
    assert "set 'file:'" in message and "\n" not in message
    assert ncei.requests.count(path) == attempts  # retried only what may pass
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def _bounded(call, within: float = 60.0):
    """Run ``call`` in a thread; fail if it has not returned within ``within``."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"still waiting after {within} s: not bounded"
    return outcome


@pytest.mark.parametrize(
    ("behaviour", "timeout", "deadline", "problem"),
    [
        ("stall", 0.5, 600.0, "no answer within 0.5 s"),
        ("trickle", 5.0, 1.0, "not complete after 1 s"),
    ],
)
def test_stalling_or_trickling_server_times_out(
    ncei, tmp_path, behaviour, timeout, deadline, problem
):
    path = f"/all/{PHOENIX}.dly"
    ncei.behaviour[path] = behaviour
    dest = tmp_path / "x.dly"
    outcome = _bounded(
        lambda: fetch(
            ncei.url + path,
            dest,
            timeout=timeout,
            deadline=deadline,
            attempts=2,
            pause=0.01,
        )
    )
    assert isinstance(outcome.get("error"), DownloadError), outcome
    assert problem in str(outcome["error"])
    assert ncei.requests.count(path) == 2
    assert list(tmp_path.iterdir()) == []


def test_killed_download_leaves_no_file_and_the_next_one_completes(ncei, tmp_path):
    path = f"/all/{PHOENIX}.dly"
    ncei.behaviour[path] = "trickle"
    dest = tmp_path / f"{PHOENIX}.dly"
    part = dest.with_name(dest.name + ".part")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from weatherplot.download import fetch; "
            "fetch(sys.argv[1], sys.argv[2])",
            ncei.url + path,
            str(dest),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
    )
    try:
        for _ in range(300):  # until the transfer has begun (at most 30 s)
            if part.exists():
                break
            time.sleep(0.1)
        time.sleep(0.5)  # a few bytes more
        assert part.exists() and child.poll() is None  # mid-transfer
    finally:
        child.kill()
        child.wait(10)
    assert not dest.exists()  # killed mid-transfer: no file under the real name
    del ncei.behaviour[path]
    download_station(PHOENIX, ncei.url + path, dest)
    assert dest.read_bytes() == real_dly(PHOENIX) and not part.exists()


@pytest.mark.parametrize("behaviour", [None, "no-length"])
def test_a_body_over_the_size_cap_is_stopped_and_deleted(ncei, tmp_path, behaviour):
    """Announced (Content-Length) or not, a body over the cap ends the download,
    not retried, nothing kept; counted as it streams, not after."""
    path = f"/all/{PHOENIX}.dly"
    if behaviour:
        ncei.behaviour[path] = behaviour
    cap = 100_000
    assert len(real_dly(PHOENIX)) > 10 * cap
    with pytest.raises(DownloadError) as caught:
        fetch(ncei.url + path, tmp_path / "x.dly", max_bytes=cap, pause=0.01)
    message = str(caught.value)
    assert "over the size cap of 100,000 bytes" in message
    assert "download.max_megabytes" in message
    said = int(re.search(r"\(([\d,]+) bytes\)", message)[1].replace(",", ""))
    if behaviour == "no-length":  # stopped within a chunk of the cap
        assert cap < said <= cap + (1 << 16)
    else:
        assert said == len(real_dly(PHOENIX))
    assert ncei.requests.count(path) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_size_cap_is_a_setting_with_a_default():
    import yaml

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    setting = schema["properties"]["download"]["properties"]["max_megabytes"]
    assert setting["default"] * 1000**2 > 10 * len(real_dly(PHOENIX))


def test_a_redirect_that_changes_scheme_is_refused(ncei, tmp_path):
    """http to https here (the local server has no TLS); https to http is refused
    the same way. Told at once, not retried, nothing tried at the new place."""
    path = "/all/USW00099999.dly"
    ncei.behaviour[path] = "to-https"
    ncei.moved = f"/all/{PHOENIX}.dly"
    with pytest.raises(DownloadError) as caught:
        fetch(ncei.url + path, tmp_path / "x.dly", pause=0.01)
    message = str(caught.value)
    assert message.startswith(f"{ncei.url}{path}: redirected (HTTP 302) from http")
    assert "to https" in message and "refused" in message and "\n" not in message
    assert ncei.requests == [path]
    assert list(tmp_path.iterdir()) == []
    # A redirect within the scheme is still followed.
    ncei.behaviour[path] = "to-same"
    assert fetch(ncei.url + path, tmp_path / "x.dly") == len(real_dly(PHOENIX))
    assert (tmp_path / "x.dly").read_bytes() == real_dly(PHOENIX)


def test_a_dns_look_up_that_never_answers_is_inside_the_time_out(tmp_path, monkeypatch):
    """A resolver that never answers (the system's look-up has no time-out of its
    own): the download still fails after its retries, each bounded by ``timeout``."""
    never = threading.Event()
    asked = []

    def silent_resolver(host, *args, **kwargs):
        asked.append(host)
        never.wait(120)
        raise socket.gaierror("released")

    monkeypatch.setattr(socket, "getaddrinfo", silent_resolver)
    try:
        outcome = _bounded(
            lambda: fetch(
                "http://mirror.invalid/all/X.dly",
                tmp_path / "x.dly",
                timeout=0.5,
                attempts=2,
                pause=0.01,
            )
        )
    finally:
        never.set()
    assert isinstance(outcome.get("error"), DownloadError), outcome
    assert "DNS look-up of mirror.invalid not answered within 0.5 s" in str(
        outcome["error"]
    )
    assert asked == ["mirror.invalid"] * 2
    assert list(tmp_path.iterdir()) == []


def test_offline_fails_after_bounded_retries(tmp_path):
    url = closed_port_url() + f"/all/{PHOENIX}.dly"
    outcome = _bounded(
        lambda: download_station(PHOENIX, url, tmp_path / "x.dly", pause=0.01)
    )
    message = str(outcome.get("error"))
    assert "cannot connect" in message and "check the network connection" in message
    assert list(tmp_path.iterdir()) == []


# --- end to end: the real snakemake ----------------------------------------------

RETRY_PAUSE = 0.05  # seconds, set in the config (key download.retry_pause_seconds)


def by_id_workflow(tmp_path: Path, ghcnd_url: str, ids: list[str]) -> Path:
    """Death Valley from its local file, ``ids`` by id alone (not in stations.csv).
    Retries pause RETRY_PAUSE s, not the default 2 s then 4 s."""
    workdir = tmp_path / "wf"
    workdir.mkdir()
    copy_workflow(workdir, [DEATH_VALLEY])
    catalog = (workdir / "data" / "stations.csv").read_text().splitlines(True)
    kept = [line for line in catalog if not line.startswith(tuple(ids))]
    (workdir / "data" / "stations.csv").write_text("".join(kept))
    config = read_config(workdir)
    config["stations"] += [{"id": station} for station in ids]
    config["ghcnd_url"] = ghcnd_url
    config["download"] = {"retry_pause_seconds": RETRY_PAUSE}
    write_config(workdir, config)
    return workdir


def pngs(*ids: str) -> list[str]:
    return [f"results/plots/{station}.png" for station in ids]


def failing_run(workdir: Path, *ids: str):
    """``snakemake --keep-going`` on the plots of ``ids``; it must fail."""
    result = run_snakemake(
        workdir, "--cores", "2", "--keep-going", *pngs(*ids), check=False
    )
    assert result.returncode != 0
    return result


@pytest.mark.integration
def test_station_by_id_end_to_end(ncei, tmp_path):
    workdir = by_id_workflow(tmp_path, ncei.url, [PHOENIX])
    run_snakemake(workdir, "--cores", "2", *pngs(PHOENIX, DEATH_VALLEY))
    downloaded = workdir / "resources" / "ghcnd" / "all" / f"{PHOENIX}.dly"
    assert downloaded.read_bytes() == real_dly(PHOENIX)
    assert (workdir / "results" / "plots" / f"{PHOENIX}.png").stat().st_size > 0
    assert sorted(ncei.requests) == [
        f"/all/{PHOENIX}.dly",
        "/ghcnd-countries.txt",
        "/ghcnd-stations.txt",
    ]  # the local station needed nothing
    # The title comes from NOAA's station list, as the plot job reads it.
    info = resolve_stations({"stations": [{"id": PHOENIX}]}, workdir)[PHOENIX]
    info["station_list"] = str(workdir / info["station_list"])  # job's cwd: workdir
    title = title_info(info, {})
    assert title["name"] == "PHOENIX AP" and title["country"] == "United States"
    assert title["latitude"] == pytest.approx(33.4278)
    # Present once, never fetched again.
    again = run_snakemake(workdir, "--cores", "2", *pngs(PHOENIX, DEATH_VALLEY))
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(ncei.requests) == 3


@pytest.mark.integration
def test_bad_ids_and_bad_bodies_fail_only_their_station(ncei, tmp_path):
    unknown, html, cut = "USW00099999", "USW00012960", "USW00024230"
    ncei.behaviour[f"/all/{html}.dly"] = "html"
    ncei.behaviour[f"/all/{cut}.dly"] = "truncate"
    workdir = by_id_workflow(tmp_path, ncei.url, [unknown, html, cut])
    result = failing_run(workdir, unknown, html, cut, DEATH_VALLEY)
    plots = workdir / "results" / "plots"
    assert sorted(p.name for p in plots.iterdir()) == [f"{DEATH_VALLEY}.png"]
    errors = [line for line in result.stderr.splitlines() if "ERROR: station" in line]
    for station, problem in (
        (unknown, "HTTP 404"),
        (html, "web page (HTML)"),
        (cut, "transfer broken off"),
    ):
        (line,) = [e for e in errors if f"ERROR: station {station}:" in e]
        assert f"{ncei.url}/all/{station}.dly" in line and problem in line
        assert "set 'file:'" in line
    assert list((workdir / "resources").rglob("*.dly*")) == []  # no half file


@pytest.mark.integration
def test_offline_station_by_id_fails_alone(tmp_path):
    workdir = by_id_workflow(tmp_path, closed_port_url(), [PHOENIX])
    result = failing_run(workdir, PHOENIX, DEATH_VALLEY)
    assert (workdir / "results" / "plots" / f"{DEATH_VALLEY}.png").exists()
    assert not (workdir / "results" / "plots" / f"{PHOENIX}.png").exists()
    assert re.search(
        rf"ERROR: station {PHOENIX}: .*/all/{PHOENIX}\.dly: cannot download station "
        rf"{PHOENIX}: cannot connect .* -> check the network connection",
        result.stderr,
    )
    # Tried as often and as far apart as the config's download section says.
    log = (workdir / "logs" / "download" / f"{PHOENIX}.log").read_text()
    assert re.findall(
        r"attempt (\d) of 3: cannot connect .*; again in ([\d.]+) s", log
    ) == [
        ("1", f"{RETRY_PAUSE:g}"),
        ("2", f"{2 * RETRY_PAUSE:g}"),
    ]


def test_the_exercise_scratch_copy_needs_no_station_list(tmp_path, monkeypatch):
    from weatherplot.exercise import scratch_workflow

    # This run's parsed list knows Phoenix, not the second id-only station.
    monkeypatch.chdir(tmp_path)
    listing = tmp_path / STATION_LIST_METADATA
    listing.parent.mkdir(parents=True)
    phoenix = {"name": "PHOENIX AP", "country": "United States", "latitude": 33.4278}
    listing.write_text(json.dumps({PHOENIX: phoenix}))
    dly = tmp_path / "x.dly"
    dly.write_bytes(real_dly(PHOENIX))
    config = {"stations": [{"id": PHOENIX}, {"id": "USW00099999"}]}
    for entry in config["stations"]:
        entry["file"] = str(dly)
    stations = resolve_stations(config, tmp_path)
    assert all(s.get("station_list") for s in stations.values())
    scratch = scratch_workflow(tmp_path / "scratch", stations.values(), FIXTURE_DATA)
    nested = resolve_stations(read_config(scratch), scratch)
    # The nested snakemake would not ask for NOAA's list: no download, no network.
    assert station_list_ids(nested) == []
    assert nested[PHOENIX]["name"] == "PHOENIX AP"
    assert nested[PHOENIX]["latitude"] == pytest.approx(33.4278)
    assert nested["USW00099999"]["name"] == "USW00099999"


@pytest.mark.integration
def test_the_exercise_waits_for_the_station_lists_titles(tmp_path):
    workdir = by_id_workflow(tmp_path, closed_port_url(), [PHOENIX])
    dry = run_snakemake(workdir, "-n", "results/timings/exercise.json")
    assert planned_jobs(dry)["station_list_metadata"] == 1
