"""The plot job's side of the warm plot server, and the wire format both sides speak
(docs/plot-server.md).

Every plot job imports this module, started with ``python -S``: with built-in modules
only (``_socket``, not ``socket``; no ``json``, ``struct``, ``hmac`` or
``multiprocessing``) the job's process costs ~20 ms of CPU instead of ~90 ms
(docs/performance.md). Never import the server or worker modules from here.
"""

import _socket
import os
import sys

ENV_VAR = "WEATHERPLOT_PLOT_SERVER"  # "PID:AUTHKEY_HEX:SOCKET_PATH", for the jobs
# What the worker takes from the job's environment: Snakemake sets the thread counts
# from the rule's threads, and the temp dir may be per job.
JOB_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TMPDIR",
)


def seconds_setting(name: str, default: int) -> int:
    """A deadline in whole seconds: the environment variable ``name`` if it is a
    positive whole number, else ``default`` (tests shorten or lengthen deadlines
    with it instead of racing them)."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


# A job waits this long at most for a worker to take it.
ANSWER_SECONDS = seconds_setting("WEATHERPLOT_PLOT_ANSWER_SECONDS", 60)
# Once a worker took it, the job waits at most this long for the plot: the rule's
# runtime: resource (rules/plots.smk passes it in seconds), else an hour. A stopped
# or stuck worker then fails its job instead of hanging it (and the run) for ever.
PLOT_SECONDS_VAR = "WEATHERPLOT_PLOT_SECONDS"
PLOT_SECONDS = 3600
REQUEST_MAGIC = b"weatherplot-plot-request-2"
READY, REFUSED_PREFIX, EXIT_PREFIX = b"ready", b"refused: ", b"exit "


class Unavailable(Exception):
    """No worker took the job, or none can still write: plot in this process."""


class BadFrame(ValueError):
    """A malformed frame or request."""


def peer(sock) -> tuple[int, int]:
    """(pid, uid) of the process at the other end, as the kernel recorded them."""
    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    return (
        int.from_bytes(creds[0:4], sys.byteorder, signed=True),
        int.from_bytes(creds[4:8], sys.byteorder, signed=False),
    )


def parse_address(value: str) -> tuple[int, bytes, str]:
    """``PID:AUTHKEY_HEX:PATH`` -> (server pid, authkey, socket path)."""
    pid, key, path = value.split(":", 2)
    return int(pid), bytes.fromhex(key), path


def send_frame(sock, payload: bytes, fds: tuple[int, ...] = ()) -> None:
    """Send one frame; ``fds`` go along with its first byte."""
    data = len(payload).to_bytes(4, "big") + payload
    if fds:
        fd_bytes = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fd_bytes)
        sent = sock.sendmsg([data], [rights])
        data = data[sent:]
    if data:
        sock.sendall(data)


def recv_exactly(sock, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise EOFError("the connection was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock, limit: int = 4096, head: bytes = b"") -> bytes:
    """One frame's payload; ``head``: the first bytes of its header, already read."""
    size = int.from_bytes(head + recv_exactly(sock, 4 - len(head)), "big")
    if size > limit:
        raise BadFrame(f"a frame of {size} bytes (at most {limit})")
    return recv_exactly(sock, size)


def encode_request(
    authkey: bytes, argv: list[str], cwd: str, env: dict[str, str], started: float
) -> bytes:
    """The job's request: NUL-separated fields (no path, argument or environment
    value can hold a NUL byte)."""
    fields = [REQUEST_MAGIC, authkey.hex().encode(), repr(float(started)).encode()]
    fields += [os.fsencode(cwd), *map(os.fsencode, argv)]
    fields += [os.fsencode(f"{name}={value}") for name, value in env.items()]
    return b"\0".join(fields)


def decode_request(payload: bytes) -> tuple[bytes, dict]:
    """(authkey, request) from :func:`encode_request`'s bytes; :class:`BadFrame` if
    they are not a request. The request's content is checked by the worker."""
    fields = payload.split(b"\0")
    if len(fields) < 8 or fields[0] != REQUEST_MAGIC:
        raise BadFrame("not a plot request")
    try:
        authkey = bytes.fromhex(fields[1].decode("ascii"))
        started = float(fields[2])
    except ValueError:
        raise BadFrame("malformed key or start time") from None
    strings = [os.fsdecode(field) for field in fields[3:]]
    env = {}
    for item in strings[5:]:
        name, equals, value = item.partition("=")
        if not equals:
            raise BadFrame(f"malformed environment entry {item!r}")
        env[name] = value
    request = {"argv": strings[1:5], "cwd": strings[0], "env": env, "started": started}
    return authkey, request


def parse_answer(payload: bytes) -> int:
    """The exit code of an ``exit N`` answer; :class:`Unavailable` for a refusal,
    :class:`BadFrame` for anything else."""
    if payload.startswith(REFUSED_PREFIX):
        reason = payload[len(REFUSED_PREFIX) :].decode(errors="replace")
        raise Unavailable(f"the plot server refused the job: {reason}")
    if not payload.startswith(EXIT_PREFIX):
        raise BadFrame(f"bad answer {payload[:80]!r}")
    digits = payload[len(EXIT_PREFIX) :]
    if not (digits.isdigit() and len(digits) <= 3 and int(digits) <= 255):
        raise BadFrame(f"bad answer {payload[:80]!r}")
    return int(digits)


def request_plot(address: str, argv: list[str], started: float) -> int:
    """Have a worker of this run's server plot for this job; return its exit code.

    Raises :class:`Unavailable` when the job may plot by itself: no worker took the
    job, or the one that did has exited without a valid answer.
    """
    try:
        server_pid, authkey, path = parse_address(address)
    except ValueError:
        raise Unavailable(f"malformed {ENV_VAR}") from None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(ANSWER_SECONDS)  # connecting, and a worker taking the job
        try:
            sock.connect(path)
            # Before sending anything: is this our run's server? (A stale path whose
            # server died may be bound by another process.)
            if peer(sock) != (server_pid, os.getuid()):
                raise Unavailable(f"{path} is not this run's plot server")
        except OSError as error:
            raise Unavailable(f"cannot reach the plot server: {error}") from None
        try:
            taken = recv_frame(sock) == READY
        except TimeoutError:
            raise Unavailable("the plot server did not take the job in time") from None
        except (OSError, EOFError, BadFrame):
            taken = False
        if not taken:
            raise Unavailable("the plot server did not take the job")
        deadline = seconds_setting(PLOT_SECONDS_VAR, PLOT_SECONDS)
        sock.settimeout(deadline)  # the worker plots: as long as runtime: allows
        try:
            return _hand_over(sock, authkey, argv, started)
        except TimeoutError:
            return _give_up(sock, deadline)
    finally:
        sock.close()


def _give_up(sock, deadline: int) -> int:
    """The plot overran its deadline: fail the job (plotting again here could race a
    worker that still writes). Shutting down our side is a hang-up to the server,
    which kills the worker; its end closing tells us nobody writes any more."""
    print(
        f"ERROR: the plot server's worker did not finish this plot within "
        f"{deadline:g} s (the rule's runtime); it is killed and the job fails",
        file=sys.stderr,
    )
    try:
        sock.shutdown(_socket.SHUT_WR)
        sock.settimeout(ANSWER_SECONDS)
        while sock.recv(4096):
            pass
    except OSError:
        pass
    return 1


def _hand_over(sock, authkey: bytes, argv: list[str], started: float) -> int:
    # The worker finds this process's start time and run (session) by itself.
    env = {name: os.environ[name] for name in JOB_ENV if name in os.environ}
    request = encode_request(authkey, argv, os.getcwd(), env, started)  # noqa: PTH109
    try:
        # Our stdout and stderr go along: the worker's messages reach the job's
        # streams, which Snakemake shows.
        send_frame(sock, request, fds=(1, 2))
    except OSError as error:
        raise Unavailable(f"the plot server hung up: {error}") from None
    try:
        return parse_answer(recv_frame(sock))
    except TimeoutError:
        raise
    except (OSError, EOFError, BadFrame) as error:
        why = "it stopped" if isinstance(error, EOFError) else str(error)
    # A worker may have been plotting: it holds this connection until it exits, so
    # wait until every end is closed before this job writes the same files.
    print(
        f"the plot server gave no valid answer ({why}); waiting until its worker "
        "is gone",
        file=sys.stderr,
    )
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:  # still held past the deadline: the caller gives up
        raise
    except OSError:
        pass
    raise Unavailable("no worker of the plot server is running this job any more")
