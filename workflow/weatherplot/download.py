"""Fetch a file over HTTP(S) into place, whole or not at all, within a time-out per
socket operation and one deadline for the whole fetch (the DNS look-up and each
header line too), with retries for passing trouble and a size cap; the guarantees
and why a rule and not Snakemake's HTTP plugin: docs/downloads.md. Standard library
only: the download job needs neither NumPy nor requests.
"""

from __future__ import annotations

import contextvars
import http.client
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 16
USER_AGENT = "weatherplot (Snakemake workflow; +https://www.ncei.noaa.gov/)"
# Not worth retrying: the server understood and said no.
PERMANENT = range(400, 500)
RETRY_STATUS = {408, 425, 429}


# The running fetch's end (time.monotonic()) and its time-out for one socket
# operation, for the sockets it opens (in this thread); see _wait().
_BOUNDS: contextvars.ContextVar[tuple[float, float]] = contextvars.ContextVar(
    "weatherplot_download_bounds"
)

# Far above any real file (the largest GHCN-Daily .dly is a few MB, NOAA's station
# list about 11 MB); config: download.max_megabytes.
MAX_BYTES = 200 * 1000**2


class DownloadError(RuntimeError):
    """A download that failed for good; the message says what happened."""

    def __init__(
        self, url: str, problem: str, *, retryable: bool = False, missing: bool = False
    ):
        # (url, problem) as the args: pickle rebuilds an exception as cls(*args).
        super().__init__(url, problem)
        self.url = url
        self.problem = problem
        self.retryable = retryable
        self.missing = missing  # the server has no such file (404, 410)

    def __str__(self):
        return f"{self.url}: {self.problem}"


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    check: Callable[[Path], None] | None = None,
    timeout: float = 30.0,
    deadline: float = 600.0,
    attempts: int = 3,
    pause: float = 2.0,
    max_bytes: int = MAX_BYTES,
    log: Callable[[str], None] = lambda message: None,
) -> int:
    """Download ``url`` to ``dest`` atomically; returns the number of bytes.

    ``check(path)`` is called on the complete temporary file and may raise to refuse
    it (it is then deleted). Raises :class:`DownloadError` after ``attempts`` tries
    for passing trouble, at once for a 4xx answer.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    end = time.monotonic() + deadline  # one deadline for every attempt
    bounds = _BOUNDS.set((end, timeout))
    try:
        for attempt in range(1, attempts + 1):
            try:
                size = _fetch_once(
                    url, part, timeout=timeout, deadline=deadline, max_bytes=max_bytes
                )
                if check is not None:
                    check(part)
                part.replace(dest)
                log(f"downloaded {url} ({size:,} bytes) -> {dest}")
                return size
            except DownloadError as error:
                wait = pause * 2 ** (attempt - 1)
                if not error.retryable or attempt == attempts:
                    raise
                if time.monotonic() + wait >= end:
                    log(f"attempt {attempt}: {error.problem}; no time left to retry")
                    raise
                log(
                    f"attempt {attempt} of {attempts}: {error.problem}; "
                    f"again in {wait:g} s"
                )
                time.sleep(wait)
            finally:
                part.unlink(missing_ok=True)
    finally:
        _BOUNDS.reset(bounds)


def _too_big(url: str, size: int, max_bytes: int) -> DownloadError:
    return DownloadError(
        url,
        f"the body is over the size cap of {max_bytes:,} bytes ({size:,} bytes): "
        "not a station file; raise download.max_megabytes if it is",
    )


def _fetch_once(
    url: str, part: Path, *, timeout: float, deadline: float, max_bytes: int
) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    size = 0
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            expected = response.headers.get("Content-Length")
            announced = int(expected) if expected and expected.isdigit() else None
            if announced and announced > max_bytes:  # said up front: none is read
                raise _too_big(url, announced, max_bytes)
            with part.open("wb") as out:
                while chunk := response.read1(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                    if size > max_bytes:  # no or a false Content-Length
                        raise _too_big(url, size, max_bytes)
                out.flush()
                os.fsync(out.fileno())
    except urllib.error.HTTPError as error:
        raise DownloadError(
            url,
            f"HTTP {error.code} {error.reason}",
            retryable=error.code not in PERMANENT or error.code in RETRY_STATUS,
            missing=error.code in (404, 410),
        ) from None
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None)  # a URLError's (connecting)
        if isinstance(reason, FileNotFoundError):  # a file:// mirror
            raise DownloadError(url, "no such file", missing=True) from None
        if _overdue():  # whichever wait it cut: the look-up, connect or a read
            problem = (
                f"not complete after {deadline:g} s ({size:,} bytes so far): the "
                "server is too slow"
            )
        elif isinstance(error, urllib.error.URLError):
            problem = f"cannot connect ({reason})"
        elif isinstance(error, TimeoutError):
            problem = f"no answer within {timeout:g} s (time-out)"
        else:  # reset, IncompleteRead
            problem = f"transfer broken off ({error})"
        raise DownloadError(url, problem, retryable=True) from None
    if announced is not None and size != announced:
        problem = f"transfer broken off: {size:,} of {announced:,} bytes"
        raise DownloadError(url, problem, retryable=True)
    return size


def _wait() -> float:
    """How long the next socket operation may wait: the fetch's time-out, cut to what
    is left of its deadline (TimeoutError when nothing is)."""
    end, timeout = _BOUNDS.get()
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    return min(timeout, left)


def _overdue() -> bool:
    return time.monotonic() >= _BOUNDS.get()[0]


class _BoundedReads:
    """A socket whose every read (the status line, each header, the body) waits
    no longer than the fetch's time-out, nor past its deadline: http.client reads
    the headers line by line, each read bounded by the time-out alone, so a server
    sending a byte now and then could hold it for ever."""

    def recv_into(self, *args, **kwargs):
        self.settimeout(_wait())
        return super().recv_into(*args, **kwargs)


class _Socket(_BoundedReads, socket.socket):
    pass


class _SSLSocket(_BoundedReads, ssl.SSLSocket):
    pass


def _resolve(host: str, port: int, timeout: float) -> list:
    """``socket.getaddrinfo`` within ``timeout``: the look-up itself has none, and
    a resolver that does not answer would hold the job past every other bound. The
    look-up runs on in its (daemon) thread; the job goes on without it."""
    found: dict = {}
    done = threading.Event()

    def look_up() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            found["error"] = error
        finally:
            done.set()

    threading.Thread(target=look_up, daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"DNS look-up of {host} not answered within {timeout:g} s")
    if "error" in found:
        raise found["error"]
    return found["infos"]


def _create_connection(address, timeout=None, source_address=None, *args):
    """``socket.create_connection`` with the look-up bounded by the time-out too
    (urllib gives no ``source_address``)."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in _resolve(host, port, _wait()):
        sock = _Socket(family, kind, proto)
        try:
            sock.settimeout(_wait())
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address for {host}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _create_connection


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _create_connection
        # This connection's own context (made for it): its TLS socket reads bounded.
        self._context.sslsocket_class = _SSLSocket


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the URL's scheme: https to http would send the
    rest of the transfer in the clear, and no mirror of NCEI's layout needs it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old = urllib.parse.urlsplit(req.full_url).scheme
        new = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl)).scheme
        if new != old:
            raise DownloadError(
                req.full_url,
                f"redirected (HTTP {code}) from {old} to {new} ({newurl}): refused; "
                "if that place is right, set 'ghcnd_url' to it",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _SameSchemeRedirects)
