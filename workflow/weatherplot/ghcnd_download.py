"""Downloads from NOAA's GHCN-Daily archive (``ghcnd_url``, NCEI's layout): a
station's ``.dly`` and the station and country lists that title stations given by id
alone, each checked; a failure is one line naming the station or list, the URL and
what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from .download import DownloadError, fetch
from .errors import StationDataError
from .stations import DOWNLOAD_DIR, local_candidates

STATION_LIST_FILES = ("ghcnd-stations.txt", "ghcnd-countries.txt")


def download_station(
    station_id: str, url: str, dest: str | os.PathLike, data_dir: str, **fetch_args
):
    """Fetch one GHCN-Daily ``.dly`` from NOAA to ``dest``, atomically, checked.

    Raises :class:`StationDataError` with one line naming the id, the URL, the local
    files looked for in ``data_dir`` (a mistyped id offline is told both) and what to
    do."""
    try:
        return fetch(url, dest, check=_dly_check(station_id, url), **fetch_args)
    except DownloadError as error:
        base = url.rsplit("/all/", 1)[0]
        check_id = (
            f"check the id {station_id!r} in NOAA's station list "
            f"({base}/ghcnd-stations.txt)"
        )
        if error.missing:
            todo = check_id
        else:
            todo = (
                "check the network connection and 'ghcnd_url' in the config; "
                f"if the id is mistyped, {check_id}"
            )
        *files, last = local_candidates(station_id, data_dir)
        problem = (
            f"cannot download station {station_id}: {error.problem}, and no local "
            f"file was found at {', '.join(files)} or {last}"
        )
        raise StationDataError(
            url,
            problem,
            hint=f"{todo}; or download the file by hand and set 'file:' in the "
            "station's config entry",
        ) from None


def _dly_check(station_id: str, url: str):
    from .io.ghcnd import read_ghcnd

    def check(path: Path) -> None:
        with path.open("rb") as handle:
            head = handle.read(512)
        if head.lstrip()[:1] == b"<":
            raise DownloadError(
                url, "the server sent a web page (HTML), not a GHCN-Daily .dly file"
            )
        if not head.startswith(station_id.encode()):
            raise DownloadError(
                url,
                f"the body is not a GHCN-Daily .dly file of {station_id} "
                f"(it starts {head[:30]!r})",
            )
        try:
            read_ghcnd(path)  # every line whole: catches a transfer cut mid-line
        except StationDataError as error:
            raise DownloadError(
                url,
                f"the body is not a whole .dly file ({error.problem})",
                retryable=True,
            ) from None

    return check


def fetch_settings(download: dict, log) -> dict:
    """:func:`~weatherplot.download.fetch`'s settings from the config's ``download``
    section, the same for a station's file and for NOAA's lists."""
    return {
        "attempts": download["attempts"],
        "pause": download["retry_pause_seconds"],
        "max_bytes": int(download["max_megabytes"] * 1000**2),
        "log": log,
    }


def station_list_titles(
    wanted: list[str],
    ghcnd_url: str,
    folder: str | os.PathLike = DOWNLOAD_DIR,
    **fetch_args,
) -> dict:
    """Title metadata of the ``wanted`` ids from NOAA's station and country lists,
    as :func:`read_station_list_metadata` reads it back. Never raises for what is
    optional: a list that cannot be downloaded (offline) or read gives
    ``{"unavailable": reason, "stations": {}}``, and the plots show the id.

    The lists are kept in ``folder`` (``ghcnd-stations.txt``, ``ghcnd-countries.txt``)
    and fetched again only when missing, corrupt or from another ``ghcnd_url``."""
    from .io.ghcnd_meta import station_metadata

    folder = Path(folder)
    base = ghcnd_url.rstrip("/")
    source = folder / "ghcnd-lists.source"  # which ghcnd_url the kept lists are from
    paths = [folder / name for name in STATION_LIST_FILES]
    try:
        kept_from = source.read_text(encoding="utf-8").strip()
    except OSError:
        kept_from = None
    try:
        for path in paths:
            if kept_from != base or not path.is_file():
                download_station_list(f"{base}/{path.name}", path, **fetch_args)
        folder.mkdir(parents=True, exist_ok=True)
        source.write_text(base + "\n", encoding="utf-8")
        return {"stations": station_metadata(*paths, wanted)}
    except StationDataError as error:
        if error.path in map(str, paths):  # a corrupt kept list: fetched anew next run
            for path in paths:
                path.unlink(missing_ok=True)
        return {"unavailable": f"{error.path}: {error.problem}", "stations": {}}


def unnamed_stations_warning(wanted: list[str], found: dict) -> str | None:
    """The run's one warning line for the stations NOAA's list could not name (None
    when it named them all): which, why, and how to get the name."""
    unnamed = sorted(set(wanted) - set(found["stations"]))
    if not unnamed:
        return None
    ids = ", ".join(unnamed[:10]) + (
        f" and {len(unnamed) - 10} more" if len(unnamed) > 10 else ""
    )
    if "unavailable" in found:
        why = f"NOAA's station list is not available ({found['unavailable']})"
        todo = (
            "give 'name:' in the station's entry in config/config.yaml, or run once "
            "online (each run tries the list again until it has it)"
        )
    else:
        why = "not in NOAA's station list"
        todo = "give 'name:' in the station's entry in config/config.yaml"
    return (
        f"WARNING: no name for {ids}: {why}; their plots show the id as title: {todo}"
    )


def download_station_list(url: str, dest: str | os.PathLike, **fetch_args) -> int:
    """Fetch NOAA's ``ghcnd-stations.txt`` or ``ghcnd-countries.txt``, checked."""

    def check(path: Path) -> None:
        with path.open("rb") as handle:
            head = handle.read(512)
        if head.lstrip()[:1] == b"<" or not head[:2].isalpha():
            raise DownloadError(
                url, f"the body is not NOAA's station or country list ({head[:30]!r})"
            )

    try:
        return fetch(url, dest, check=check, **fetch_args)
    except DownloadError as error:
        raise StationDataError(
            url,
            f"cannot download NOAA's station metadata: {error.problem}",
            hint="check the network connection and 'ghcnd_url' in the config; or "
            "give the station's 'name' (country, latitude, longitude, elevation_m) "
            "in its config entry",
        ) from None
