"""Opening station files: gzip or plain, with clear errors for broken ones."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from ..errors import StationDataError

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, decompressed when it is gzip (told by its magic bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StationDataError(
            path, "file not found", hint="check the station's 'file' in the config"
        ) from None
    except IsADirectoryError:
        raise StationDataError(
            path,
            "is a directory, not a station file",
            hint="point 'file' at the station's file inside it",
        ) from None
    if not raw:
        raise StationDataError(
            path, "file is empty", hint="download the station file again"
        )
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise StationDataError(
                path,
                f"gzip data is truncated or corrupt ({exc})",
                hint="download the file again; 'gzip -t FILE' checks it",
            ) from None
        if not raw:
            raise StationDataError(
                path, "file is empty (after gunzip)", hint="download it again"
            )
    elif path.suffix == ".gz":
        raise StationDataError(
            path,
            "the name ends in .gz but the content is not gzip",
            hint="rename the file without .gz, or compress it with gzip",
        )
    return raw


def refuse_binary(path: str | os.PathLike, raw: bytes) -> None:
    """Text files hold no NUL bytes; binary ones (images, archives...) soon do."""
    if b"\0" in raw[:4096]:
        raise StationDataError(
            path,
            "this is a binary file, not a text station file",
            hint="give a GHCN-Daily .dly(.gz) or a CSV file",
        )


def decode_text(path: str | os.PathLike, raw: bytes) -> str:
    """Decode as UTF-8 (ASCII is a subset), naming the line of the first bad byte."""
    refuse_binary(path, raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise StationDataError(
            path,
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 text",
            line=line,
            hint="save the file as UTF-8 (or plain ASCII) text",
        ) from None
