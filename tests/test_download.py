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

import png_checks
import pytest
from helpers import (
    DEATH_VALLEY,
    FIXTURE_DATA,
    FIXTURES,
    OXFORD,
    REPO,
    copy_workflow,
    planned_jobs,
    read_config,
    run_snakemake,
    station_file,
    write_config,
)
from PIL import Image

from weatherplot.announce import missing_plots_note, stale_report_note
from weatherplot.download import DownloadError, fetch
from weatherplot.errors import StationDataError
from weatherplot.ghcnd_download import (
    download_station,
    station_list_titles,
    unnamed_stations_warning,
)
from weatherplot.io.ghcnd_meta import (
    read_ghcnd_countries,
    read_ghcnd_stations,
    station_metadata,
)
from weatherplot.stations import (
    STATION_LIST_METADATA,
    ConfigError,
    read_station_list_metadata,
    resolve_stations,
    station_list_attempt,
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
                server.trickled += 1
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


def start_ncei(port: int = 0):
    """A local server in NCEI's layout on ``port`` (any free one for 0); ``.url`` is
    its ``ghcnd_url``. Stop it with :func:`stop_ncei`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.requests, server.behaviour = [], {}
    server.trickled = 0  # bytes of a "trickle" body sent so far
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
    server.catalog = catalog
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def stop_ncei(server) -> None:
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def ncei():
    """A local server in NCEI's layout; ``.url`` is its ``ghcnd_url``."""
    server = start_ncei()
    yield server
    stop_ncei(server)


def closed_port_url() -> str:
    """A URL nothing listens on: what "offline" looks like to the client."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- NOAA's metadata files ---------------------------------------------------------


def test_station_list_reader_reads_noaa_fixed_width():
    stations = read_ghcnd_stations(META / "ghcnd-stations-sample.txt")
    assert len(stations) == 1116  # every line of the sample
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
    countries = read_ghcnd_countries(META / "ghcnd-countries.txt")
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
    listing.write_text('{"stations": {"X": {"name": "LISTED", "country": "Germany"}}}')
    info = {"id": "X", "name": "Mine", "station_list": str(listing)}
    merged = title_info(info, {"latitude": 50.0, "name": "FROM FILE"})
    assert merged["name"] == "Mine"  # the config wins
    assert merged["latitude"] == 50.0 and merged["country"] == "Germany"
    del info["name"]
    assert title_info(info, {})["name"] == "LISTED"


# --- NOAA's station list is optional ----------------------------------------------


def test_station_list_offline_is_unavailable_with_a_reason_not_an_error(tmp_path):
    wanted = [OXFORD, PHOENIX]
    found = station_list_titles(wanted, closed_port_url(), tmp_path, pause=0.01)
    assert found["stations"] == {}
    assert (
        "ghcnd-stations.txt: cannot download NOAA's station metadata: cannot "
        "connect" in found["unavailable"]
    )
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    (line,) = unnamed_stations_warning(wanted, found).splitlines()
    assert line.startswith(f"WARNING: no name for {OXFORD}, {PHOENIX}: NOAA's")
    assert "give 'name:' in the station's entry in config/config.yaml" in line
    assert "run once online" in line
    # Written as the job writes it, it asks the next run for another attempt.
    listing = tmp_path / "station-metadata.json"
    listing.write_text(json.dumps({**found, "attempt": 1}))
    assert station_list_attempt(listing) == 2
    assert title_info({"id": OXFORD, "station_list": str(listing)}, {}) == {
        "id": OXFORD,
        "station_list": str(listing),
    }


def test_station_list_is_kept_and_fetched_again_only_when_needed(ncei, tmp_path):
    found = station_list_titles([PHOENIX, "NOWHERE0000"], ncei.url, tmp_path)
    row = ncei.catalog[PHOENIX]  # the real values the served list line holds
    assert found == {
        "stations": {
            PHOENIX: {
                "name": "PHOENIX AP",
                "country": "United States",
                **{k: float(row[k]) for k in ("latitude", "longitude", "elevation_m")},
            }
        }
    }
    assert "NOWHERE0000: not in NOAA's station list" in unnamed_stations_warning(
        [PHOENIX, "NOWHERE0000"], found
    ).replace("no name for ", "")
    assert len(ncei.requests) == 2
    assert station_list_titles([PHOENIX], ncei.url, tmp_path) == {
        "stations": {PHOENIX: found["stations"][PHOENIX]}
    }
    assert len(ncei.requests) == 2  # kept: no network needed
    # A corrupt kept list is said, then fetched again by the next run.
    kept = tmp_path / "ghcnd-stations.txt"
    kept.write_text(kept.read_text().replace("33.4278", "north..."))
    broken = station_list_titles([PHOENIX], ncei.url, tmp_path)
    assert "not a number" in broken["unavailable"] and not kept.exists()
    assert station_list_titles([PHOENIX], ncei.url, tmp_path)["stations"]
    assert len(ncei.requests) == 4
    # Another ghcnd_url: the lists come from there.
    station_list_titles([PHOENIX], ncei.url + "/", tmp_path)
    assert len(ncei.requests) == 4  # the same place, written differently
    station_list_titles([PHOENIX], ncei.url.replace("127.0.0.1", "localhost"), tmp_path)
    assert len(ncei.requests) == 6


def test_an_older_runs_station_list_file_is_made_again(tmp_path):
    listing = tmp_path / "station-metadata.json"
    assert station_list_attempt(listing) == 1  # none yet
    listing.write_text(json.dumps({PHOENIX: {"name": "PHOENIX AP"}}))  # old layout
    assert read_station_list_metadata(listing) is None
    assert station_list_attempt(listing) == 1  # a new param: Snakemake reruns it
    named = {"stations": {PHOENIX: {"name": "PHOENIX AP"}}, "attempt": 3}
    listing.write_text(json.dumps(named))
    assert station_list_attempt(listing) == 3  # has the list: the same, no rerun


# --- what a failed run says at the end -----------------------------------------


def test_closing_note_points_to_the_log_that_exists(tmp_path):
    plots, logs = tmp_path / "results" / "plots", tmp_path / "logs"
    plots.mkdir(parents=True)
    (plots / f"{DEATH_VALLEY}.png").write_bytes(b"png")
    (logs / "plot_station").mkdir(parents=True)
    (logs / "download").mkdir()
    (logs / "plot_station" / f"{OXFORD}.log").write_text("bad file")
    (logs / "download" / f"{PHOENIX}.log").write_text("offline")
    note = missing_plots_note(
        [DEATH_VALLEY, OXFORD, PHOENIX, "X1"], plots, logs_dir=logs
    )
    assert note.startswith("No plot for 3 of 4 station(s): ")
    assert f"{OXFORD} (why: {logs}/plot_station/{OXFORD}.log)" in note
    assert (
        f"{PHOENIX} (why: {logs}/download/{PHOENIX}.log; its plot job never ran)"
        in note
    )
    assert "X1 (why: its plot job never ran; see the errors above)" in note
    assert "plot_station/<id>.log" not in note and "\n" not in note


def test_a_report_older_than_its_inputs_is_said_to_be_out_of_date(tmp_path):
    report, inputs = tmp_path / "timing_report.html", []
    assert stale_report_note(report, inputs) is None  # none: nothing to say
    for name in ("a.json", "b.json"):
        inputs.append(tmp_path / name)
        inputs[-1].write_text("{}")
    report.write_text("<html>")
    os.utime(report, (time.time() + 5, time.time() + 5))
    assert stale_report_note(report, inputs) is None  # current
    os.utime(inputs[1], (time.time() + 10, time.time() + 10))
    note = stale_report_note(report, [*inputs, tmp_path / "c.json"])
    assert note.startswith(f"{tmp_path}/ holds the timing report of an earlier run (")
    assert "out of date: this run could not rebuild it (2 of its inputs" in note


# --- the download itself ---------------------------------------------------------


def test_download_is_the_real_file_and_atomic(ncei, tmp_path):
    dest = tmp_path / "all" / f"{PHOENIX}.dly"
    size = download_station(PHOENIX, f"{ncei.url}/all/{PHOENIX}.dly", dest, "data")
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
        download_station(station, ncei.url + path, dest, "data", pause=0.01)
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
    ("behaviour", "timeout", "deadline", "problem", "requests"),
    [
        ("stall", 0.5, 600.0, "no answer within 0.5 s", 2),
        # The deadline covers the retries too: none is left for a second attempt.
        ("trickle", 5.0, 1.0, "not complete after 1 s", 1),
    ],
)
def test_stalling_or_trickling_server_times_out(
    ncei, tmp_path, behaviour, timeout, deadline, problem, requests
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
    assert ncei.requests.count(path) == requests
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def dribbling_server():
    """A server on 127.0.0.1 that answers every request with a status line and then
    its headers one byte every 0.5 s (for 60 s): each read gets a byte well within
    any time-out, the headers never end. ``.url``; ``.requests``: how many came."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    requests = []

    def answer(connection):
        with connection:
            connection.recv(65536)
            requests.append(time.monotonic())
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for byte in b"X-Slow: " + b"y" * 120:
                if stop.wait(0.5):
                    return
                connection.sendall(bytes([byte]))

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    yield type(
        "Server", (), {"url": f"http://127.0.0.1:{port}/x.dly", "requests": requests}
    )
    stop.set()
    listener.close()


def test_one_deadline_covers_the_headers_and_every_retry(dribbling_server, tmp_path):
    """A byte of the headers every 0.5 s, a time-out of 1 s, a deadline of 2 s and
    3 attempts: the fetch ends with the deadline's error (the old code read on for
    as long as the headers came, and started the deadline again for each retry)."""
    outcome = _bounded(
        lambda: fetch(
            dribbling_server.url,
            tmp_path / "x.dly",
            timeout=1,
            deadline=2,
            attempts=3,
            pause=0.01,
        ),
        within=2 + 10,  # generous: the old code took 60 s an attempt here
    )
    error = outcome.get("error")
    assert isinstance(error, DownloadError), outcome
    assert "not complete after 2 s (0 bytes so far)" in str(error)
    assert len(dribbling_server.requests) == 1  # no retry after the deadline
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def silent_resolver(monkeypatch):
    """socket.getaddrinfo replaced by a resolver that never answers (until the test
    ends); yields the hosts it was asked for."""
    never = threading.Event()
    asked = []

    def resolve(host, *args, **kwargs):
        asked.append(host)
        never.wait(120)
        raise socket.gaierror("released")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield asked
    never.set()


def test_the_deadline_covers_the_look_up_of_every_attempt(tmp_path, silent_resolver):
    """A resolver that never answers, a time-out of 5 s, a deadline of 1 s: the
    look-up is cut at the deadline, and no attempt starts after it."""
    outcome = _bounded(
        lambda: fetch(
            "http://mirror.invalid/all/X.dly",
            tmp_path / "x.dly",
            timeout=5,
            deadline=1,
            attempts=3,
            pause=0.01,
        ),
        within=1 + 10,  # the old code: 5 s for each of 3 attempts
    )
    assert isinstance(outcome.get("error"), DownloadError), outcome
    assert "not complete after 1 s" in str(outcome["error"])
    assert silent_resolver == ["mirror.invalid"]
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
        # Mid-transfer: the .part file is open and the server has sent a few of
        # the body's promised 1,000,000 bytes (it trickles 300 at most). The wait
        # is on those events; the 60 s only catch a hang.
        deadline = time.monotonic() + 60
        while not (part.exists() and ncei.trickled >= 3):
            assert time.monotonic() < deadline, "the transfer never began"
            assert child.poll() is None, "the download ended before it was killed"
            time.sleep(0.05)
        assert child.poll() is None  # still transferring
    finally:
        child.kill()
        child.wait(10)
    assert not dest.exists()  # killed mid-transfer: no file under the real name
    del ncei.behaviour[path]
    download_station(PHOENIX, ncei.url + path, dest, "data")
    assert dest.read_bytes() == real_dly(PHOENIX) and not part.exists()


def test_offline_id_without_local_file_is_told_both(tmp_path):
    url = closed_port_url() + "/all/USW00023813.dly"  # Phoenix's id, mistyped
    with pytest.raises(StationDataError) as caught:
        download_station(
            "USW00023813",
            url,
            tmp_path / "x.dly",
            "data",
            pause=0.01,
        )
    message = str(caught.value)
    assert "cannot download station USW00023813: cannot connect" in message
    assert (
        "and no local file was found at data/USW00023813.dly.gz, "
        "data/USW00023813.dly, data/USW00023813.csv.gz or data/USW00023813.csv"
        in message
    )
    assert "check the network connection" in message
    assert "if the id is mistyped, check the id 'USW00023813'" in message


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


def test_a_dns_look_up_that_never_answers_is_inside_the_time_out(
    tmp_path, silent_resolver
):
    """A resolver that never answers (the system's look-up has no time-out of its
    own): the download still fails after its retries, each bounded by ``timeout``."""
    outcome = _bounded(
        lambda: fetch(
            "http://mirror.invalid/all/X.dly",
            tmp_path / "x.dly",
            timeout=0.5,
            attempts=2,
            pause=0.01,
        )
    )
    assert isinstance(outcome.get("error"), DownloadError), outcome
    assert "DNS look-up of mirror.invalid not answered within 0.5 s" in str(
        outcome["error"]
    )
    assert silent_resolver == ["mirror.invalid"] * 2
    assert list(tmp_path.iterdir()) == []


def test_offline_fails_after_bounded_retries(tmp_path):
    url = closed_port_url() + f"/all/{PHOENIX}.dly"
    outcome = _bounded(
        lambda: download_station(PHOENIX, url, tmp_path / "x.dly", "data", pause=0.01)
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
    png_checks.check_panels(workdir / "results" / "plots" / f"{PHOENIX}.png")
    assert sorted(ncei.requests) == [
        f"/all/{PHOENIX}.dly",
        "/ghcnd-countries.txt",
        "/ghcnd-stations.txt",
    ]  # the local station needed nothing
    # The title the job drew (the PNG's Title) is NOAA's station list's entry,
    # worked out here from the served files' fixed-width columns, and the years of
    # the raw .dly (columns 12-15 of each line).
    (line,) = [
        x
        for x in ncei.files["/ghcnd-stations.txt"].decode().splitlines()
        if x.startswith(PHOENIX)
    ]
    lat, lon, elevation = float(line[12:20]), float(line[21:30]), float(line[31:37])
    name = line[41:71].strip()
    countries = dict(
        (x[:2], x[3:].strip())
        for x in ncei.files["/ghcnd-countries.txt"].decode().splitlines()
    )
    years = sorted({int(x[11:15]) for x in real_dly(PHOENIX).decode().splitlines()})
    expected = (
        f"{name} ({PHOENIX}) · {countries[PHOENIX[:2]]}, {abs(lat):.2f}°N, "
        f"{abs(lon):.2f}°W, {elevation:.0f} m · {years[0]}–{years[-1]}"
    )
    assert (name, lat, lon) == ("PHOENIX AP", 33.4278, -112.0036)
    with Image.open(workdir / "results" / "plots" / f"{PHOENIX}.png") as image:
        assert image.info["Title"] == expected
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
        rf"{PHOENIX}: cannot connect .*, and no local file was found at "
        rf"data/{PHOENIX}\.dly\.gz, .* -> check the network connection",
        result.stderr,
    )
    # The closing note points to the log that exists: the plot job never ran.
    assert (
        f"{PHOENIX} (why: logs/download/{PHOENIX}.log; its plot job never ran)"
        in result.stderr
    )
    assert not (workdir / "logs" / "plot_station" / f"{PHOENIX}.log").exists()
    # Tried as often and as far apart as the config's download section says.
    log = (workdir / "logs" / "download" / f"{PHOENIX}.log").read_text()
    assert re.findall(
        r"attempt (\d) of 3: cannot connect .*; again in ([\d.]+) s", log
    ) == [
        ("1", f"{RETRY_PAUSE:g}"),
        ("2", f"{2 * RETRY_PAUSE:g}"),
    ]


def test_the_exercise_scratch_copy_needs_no_station_list(tmp_path, monkeypatch):
    from weatherplot.scratch import scratch_workflow

    # This run's parsed list knows Phoenix, not the second id-only station.
    monkeypatch.chdir(tmp_path)
    listing = tmp_path / STATION_LIST_METADATA
    listing.parent.mkdir(parents=True)
    phoenix = {"name": "PHOENIX AP", "country": "United States", "latitude": 33.4278}
    listing.write_text(json.dumps({"stations": {PHOENIX: phoenix}}))
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


# --- optional: NOAA's list offline never blocks a plot or the report ------------

ORLANDO = "USW00012815"
ODD_NAME = r"A $\notacommand$ B"  # text, not mathtext (it failed the plot job)


def unnamed_workflow(tmp_path: Path, ghcnd_url: str) -> Path:
    """Death Valley (named, with an odd name) and Oxford from its local file with no
    name anywhere (left out of stations.csv): only NOAA's list could name it."""
    workdir = tmp_path / "wf"
    copy_workflow(workdir, [DEATH_VALLEY, OXFORD])
    drop_from_catalog(workdir, OXFORD, ORLANDO)
    config = read_config(workdir)
    config["stations"][0]["name"] = ODD_NAME
    config["ghcnd_url"] = ghcnd_url
    config["download"] = {"retry_pause_seconds": RETRY_PAUSE}
    write_config(workdir, config)
    return workdir


def drop_from_catalog(workdir: Path, *ids: str) -> None:
    catalog = workdir / "data" / "stations.csv"
    lines = catalog.read_text().splitlines(True)
    catalog.write_text("".join(x for x in lines if not x.startswith(ids)))


def warning_lines(result) -> list[str]:
    return [x for x in result.stderr.splitlines() if x.startswith("WARNING: no name")]


def plot_log(workdir: Path, station: str) -> str:
    return (workdir / "logs" / "plot_station" / f"{station}.log").read_text()


@pytest.mark.integration
def test_offline_a_local_file_plots_titled_by_id_and_the_name_comes_later(tmp_path):
    url = closed_port_url()  # offline now; a server listens there later
    workdir = unnamed_workflow(tmp_path, url)
    report = workdir / "results" / "report" / "timing_report.html"
    listing = workdir / STATION_LIST_METADATA

    # The default target: the report, so the exercise too, whose scratch copy gets
    # the titles from this run's file and needs no network either.
    first = run_snakemake(workdir, "--cores", "2")
    assert report.exists() and (workdir / "results/plots" / f"{OXFORD}.png").exists()
    (line,) = warning_lines(first)  # one line for the run, not one per plot
    assert line.startswith(f"WARNING: no name for {OXFORD}: NOAA's station list is ")
    assert "cannot connect" in line and "run once online" in line
    assert "give 'name:' in the station's entry in config/config.yaml" in line
    assert "titled by its id" in plot_log(workdir, OXFORD)
    assert "unavailable" in json.loads(listing.read_text())
    exercise = workdir / "results" / "timings" / "exercise.json"
    timed = exercise.stat().st_mtime_ns

    # Still offline: the list is tried again, the run succeeds again, and the
    # exercise (whose figures no title changes) is not timed again.
    second = run_snakemake(workdir, "--cores", "2")
    assert len(warning_lines(second)) == 1
    assert exercise.stat().st_mtime_ns == timed

    # Online: the next run puts the name in (and replots only that station).
    port = int(url.rsplit(":", 1)[1])
    server = start_ncei(port)
    try:
        server.files["/ghcnd-stations.txt"] += station_list_line(
            server.catalog[OXFORD]
        ).encode()
        death_valley = workdir / "results" / "plots" / f"{DEATH_VALLEY}.png"
        kept = death_valley.stat().st_mtime_ns
        named = run_snakemake(workdir, "--cores", "2")
        assert warning_lines(named) == []
        assert death_valley.stat().st_mtime_ns == kept  # only Oxford's plot again
        assert "titled by its id" not in plot_log(workdir, OXFORD)
        info = resolve_stations(read_config(workdir), workdir)[OXFORD]
        info["station_list"] = str(workdir / info["station_list"])
        assert title_info(info, {})["name"] == "OXFORD"
        again = run_snakemake(workdir, "--cores", "2")
        assert "Nothing to be done" in again.stdout + again.stderr
        assert sorted(server.requests) == [
            "/ghcnd-countries.txt",
            "/ghcnd-stations.txt",
        ]
    finally:
        stop_ncei(server)
    assert ODD_NAME not in (workdir / "logs" / "plot_server.log").read_text()

    # Offline again, a truncated station file with no name anywhere: its own error
    # (the kept list names what it can), and the report left is said to be stale.
    dly = gzip.decompress(station_file(ORLANDO).read_bytes())
    (workdir / "data" / f"{ORLANDO}.dly").write_bytes(dly[: len(dly) // 2 + 7])
    config = read_config(workdir)
    config["stations"].append({"id": ORLANDO})
    write_config(workdir, config)
    failed = run_snakemake(workdir, "--cores", "2", check=False)
    assert failed.returncode != 0
    # The plot job's error, or the exercise's when it ran first (it has priority
    # and times the same file; the run then stops before the plot job): either
    # names the station, the file and the line, and the closing note says which.
    said = re.search(
        rf"ERROR: (exercise: serial baseline: )?station {ORLANDO}: "
        rf"data/{ORLANDO}\.dly, line \d+",
        failed.stderr,
    )
    assert said, failed.stderr[-3000:]
    why = "its plot job never ran" if said[1] else f"logs/plot_station/{ORLANDO}.log"
    assert f"{ORLANDO} (why: {why}" in failed.stderr
    assert "results/report/ holds the timing report of an earlier run (" in (
        failed.stderr
    )
    assert report.exists()  # nothing lost
    assert title_info(info, {})["name"] == "OXFORD"  # named from the kept list


@pytest.mark.integration
def test_the_size_cap_holds_for_noaas_station_list_too(tmp_path):
    """download.max_megabytes is the cap of every download: the station list's job
    ignored it (it passed the retries only). Under a cap below the list's size the
    list is unavailable with the cap as the reason, and no plot is lost for it."""
    server = start_ncei()
    try:
        workdir = unnamed_workflow(tmp_path, server.url)
        config = read_config(workdir)
        config["download"]["max_megabytes"] = 0.01  # the list sample is ~96 KB
        write_config(workdir, config)
        run_snakemake(workdir, "--cores", "1", STATION_LIST_METADATA)
    finally:
        stop_ncei(server)
    listing = json.loads((workdir / STATION_LIST_METADATA).read_text())
    assert "over the size cap of 10,000 bytes" in listing["unavailable"]
    assert listing["stations"] == {}
