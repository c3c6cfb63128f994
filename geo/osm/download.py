"""Resumable, verified downloads of Geofabrik extracts into ``<cache_dir>/downloads``.

``<geofabrik_base_url>/<path>`` is streamed to ``<file>.part``; an interrupted download resumes
with an HTTP ``Range`` request (retried by the HTTP layer's policy: a try that received bytes does
not count against the retries); the finished file is checked against the ``.md5`` Geofabrik
publishes next to it and only then renamed to ``<file>`` (with ``<file>.md5`` beside it). A
verified file is reused without touching the network.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3

from geo._http import (
    RETRY_STATUS,
    HttpClient,
    transient_from_exception,
    transient_from_response,
)
from geo._retry import GaveUp, Transient
from geo.errors import GraphBuildError, NetworkError, NotFoundError
from geo.osm.geofabrik import Extract
from geo.osm.progress import CHUNK_BYTES, ProgressCallback, ProgressEvent, disk_error, emit
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "DownloadResult",
    "download_extract",
    "downloads_dir",
    "md5_of",
    "parse_md5_file",
]


@dataclass(frozen=True)
class DownloadResult:
    """A verified extract on disk."""

    extract: Extract
    path: Path
    md5: str
    size_bytes: int
    downloaded_bytes: int
    """Bytes fetched by this call (0 when a verified file was reused)."""
    resumed_from_bytes: int
    """Size of the partial download this call continued from (0 = fresh start)."""

    @property
    def reused(self) -> bool:
        return self.downloaded_bytes == 0


def downloads_dir(settings: Settings | None = None) -> Path:
    """Where extracts are kept: ``<cache_dir>/downloads``."""
    return (settings or get_settings()).cache_dir / "downloads"


def parse_md5_file(text: str, filename: str | None = None) -> str:
    """The checksum in a ``.md5`` file (``<md5>  <filename>``)."""
    first = text.strip().split()
    digest = first[0].lower() if first else ""
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        what = f" for {filename}" if filename else ""
        raise GraphBuildError(f"the checksum file{what} is not in md5sum format: {text[:80]!r}")
    return digest


def md5_of(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """MD5 of a file (hex), read in 1 MiB blocks."""
    h = hashlib.md5(usedforsecurity=False)
    done = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(block)
            done += len(block)
            if progress is not None:
                progress(done)
    return h.hexdigest()


@dataclass
class _Fetch:
    """State of one resumable download."""

    extract: Extract
    url: str
    part: Path
    expected_md5: str
    total: int | None = None
    resumed_from: int = 0
    fetched: int = 0
    requests_made: int = 0


def _remote_md5(client: HttpClient, extract: Extract, base_url: str) -> str:
    url = extract.url(base_url) + ".md5"
    try:
        response = client.request("GET", url)
    except NotFoundError as exc:
        raise GraphBuildError(
            f"Geofabrik has no extract at {extract.url(base_url)} (its .md5 is missing); the "
            "index may be out of date — check https://download.geofabrik.de/north-america/us.html "
            "or build from a file with `trialreach graph build --pbf FILE`"
        ) from exc
    except NetworkError as exc:
        raise NetworkError(f"cannot download {extract.filename}: {exc}") from exc
    return parse_md5_file(response.text, extract.filename)


def download_extract(
    extract: Extract,
    settings: Settings | None = None,
    *,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    refresh: bool = False,
) -> DownloadResult:
    """A verified copy of ``extract`` in ``<cache_dir>/downloads`` (downloaded or reused).

    A file verified earlier is reused without any network access (``refresh=True`` asks the
    server whether a newer one exists). A partial ``.part`` from an earlier run is resumed with an
    HTTP Range request when the server still publishes the same file (same MD5); otherwise it is
    discarded. Connection drops during the transfer are retried from where they stopped.

    Raises
    ------
    NetworkError
        The server could not be reached, or kept failing (say so: resume by running again).
    GraphBuildError
        Checksum mismatch (the download is deleted), disk full, missing extract on the server.
    """
    settings = settings or get_settings()
    client = client or HttpClient.from_settings("Geofabrik", settings)
    folder = downloads_dir(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(exc, folder) from exc
    final = folder / extract.filename
    md5_path = folder / (extract.filename + ".md5")
    label = extract.name

    local_md5 = _verified_local(final, md5_path, progress, label)
    if local_md5 is not None and not refresh:
        return DownloadResult(extract, final, local_md5, final.stat().st_size, 0, 0)
    expected = _remote_md5(client, extract, settings.geofabrik_base_url)
    if local_md5 == expected:
        return DownloadResult(extract, final, local_md5, final.stat().st_size, 0, 0)

    part = folder / (extract.filename + ".part")
    meta = folder / (extract.filename + ".part.json")
    _discard_stale_part(part, meta, expected)
    try:
        meta.write_text(json.dumps({"md5": expected, "url": extract.url("")}))
    except OSError as exc:
        raise disk_error(exc, folder) from exc
    state = _Fetch(extract, extract.url(settings.geofabrik_base_url), part, expected)
    _transfer(state, client, settings, progress)

    emit(progress, ProgressEvent("verify", label, 0, state.total, f"checking {extract.filename}"))
    got = md5_of(part, lambda n: emit(progress, ProgressEvent("verify", label, n, state.total)))
    if got != expected:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise GraphBuildError(
            f"checksum mismatch for {extract.filename}: expected MD5 {expected}, got {got}. The "
            "damaged download was deleted; run the command again to download it afresh (if it "
            "keeps happening, the file changed on the server while downloading — wait and retry)."
        )
    try:
        final.unlink(missing_ok=True)
        part.rename(final)
        md5_path.write_text(f"{expected}  {extract.filename}\n")
    except OSError as exc:
        raise disk_error(exc, folder) from exc
    meta.unlink(missing_ok=True)
    size = final.stat().st_size
    emit(progress, ProgressEvent("verify", label, size, size, f"{extract.filename} verified"))
    return DownloadResult(extract, final, expected, size, state.fetched, state.resumed_from)


def _verified_local(
    final: Path, md5_path: Path, progress: ProgressCallback | None, label: str
) -> str | None:
    """The MD5 of a complete earlier download that still matches its checksum file, else None."""
    if not (final.is_file() and md5_path.is_file()):
        return None
    try:
        recorded = parse_md5_file(md5_path.read_text(), final.name)
    except (OSError, GraphBuildError):
        return None
    size = final.stat().st_size
    got = md5_of(final, lambda n: emit(progress, ProgressEvent("verify", label, n, size)))
    if got == recorded:
        return got
    log.warning("%s no longer matches its checksum; downloading it again", final.name)
    final.unlink(missing_ok=True)
    md5_path.unlink(missing_ok=True)
    return None


def _discard_stale_part(part: Path, meta: Path, expected: str) -> None:
    """Delete a partial download that belongs to another version of the file."""
    if not part.exists():
        return
    try:
        started_for = json.loads(meta.read_text()).get("md5")
    except (OSError, ValueError, AttributeError):
        started_for = None
    if started_for != expected:
        log.info("discarding %s: it belongs to an older version of the extract", part.name)
        part.unlink(missing_ok=True)


def _transfer(
    state: _Fetch, client: HttpClient, settings: Settings, progress: ProgressCallback | None
) -> None:
    """Stream the file into ``state.part``, resuming after drops; raise after repeated failures.

    Each try asks for the bytes not yet on disk; the HTTP layer's retry policy decides when to try
    again (a try that received bytes does not count against ``settings.http_retries``).
    """
    label = state.extract.name

    def attempt() -> None:
        offset = state.part.stat().st_size if state.part.exists() else 0
        if state.requests_made == 0:
            state.resumed_from = offset
        headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself
        if offset:
            headers["Range"] = f"bytes={offset}-"
        state.requests_made += 1
        try:
            with client.session.get(
                state.url, headers=headers, stream=True, timeout=client.timeout_s
            ) as response:
                status = response.status_code
                if status == 416 and offset:
                    return  # the partial file is already complete; the checksum decides
                if status == 404:
                    raise GraphBuildError(
                        f"Geofabrik has no file at {state.url}; the index may be out of date — "
                        "build from a file with `trialreach graph build --pbf FILE`"
                    )
                if status in (200, 206):
                    _write_body(state, response, offset, progress, label)
                    return
                if status not in RETRY_STATUS:
                    raise NetworkError(
                        f"Geofabrik answered HTTP {status} for {state.extract.filename}; "
                        "try again later"
                    )
                raise transient_from_response(response)
        except _Interrupted as exc:
            raise Transient(exc.reason, progressed=exc.progressed) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise transient_from_exception(exc, client.timeout_s) from exc

    try:
        client.retrying(attempt, label=f"download of {state.part.name}")
    except GaveUp as gave_up:
        have = state.part.stat().st_size if state.part.exists() else 0
        of = f" of {state.total / 1e6:,.1f} MB" if state.total else ""
        raise NetworkError(
            f"downloading {state.extract.filename} failed: {gave_up.last.reason} after "
            f"{gave_up.failures} tries ({have / 1e6:,.1f} MB{of} kept). Check the network "
            "connection and run the command again: the download resumes where it stopped."
        ) from gave_up.last


class _Interrupted(Exception):
    def __init__(self, reason: str, progressed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progressed = progressed


def _write_body(
    state: _Fetch,
    response: requests.Response,
    offset: int,
    progress: ProgressCallback | None,
    label: str,
) -> bool:
    """Append (206) or write afresh (200) the body; raise :class:`_Interrupted` on a drop."""
    if response.status_code == 206 and not _range_starts_at(response, offset):
        state.part.unlink(missing_ok=True)  # not the bytes asked for: start afresh
        raise _Interrupted("the server sent another byte range than asked for", False)
    if response.status_code == 200 and offset:
        offset = 0  # the server ignored the Range and sends the whole file: start over
        if state.requests_made == 1:
            state.resumed_from = 0
    length = response.headers.get("Content-Length")
    remaining = int(length) if length and length.isdigit() else None
    if remaining is not None:
        state.total = offset + remaining
        free = shutil.disk_usage(state.part.parent).free
        if remaining > free:
            raise disk_error(OSError(errno.ENOSPC, "no space"), state.part.parent, remaining - free)
    done = offset
    wrote = False
    emit(
        progress,
        ProgressEvent(
            "download",
            label,
            done,
            state.total,
            f"resuming at {done / 1e6:,.1f} MB" if done else "",
        ),
    )
    try:
        with state.part.open("r+b" if offset and state.part.exists() else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            try:
                # read1 hands over every byte received, so a drop loses nothing already sent.
                while chunk := response.raw.read1(CHUNK_BYTES):
                    fh.write(chunk)
                    done += len(chunk)
                    state.fetched += len(chunk)
                    wrote = True
                    emit(progress, ProgressEvent("download", label, done, state.total))
            except (
                requests.RequestException,
                urllib3.exceptions.HTTPError,
                ConnectionError,
            ) as exc:
                raise _Interrupted(f"connection dropped ({type(exc).__name__})", wrote) from exc
    except OSError as exc:
        raise disk_error(exc, state.part.parent) from exc
    if state.total is not None and done < state.total:
        raise _Interrupted(f"connection closed at {done} of {state.total} bytes", wrote)
    return wrote


def _range_starts_at(response: requests.Response, offset: int) -> bool:
    """True when a 206 answer's ``Content-Range`` starts where the partial file ends."""
    text = response.headers.get("Content-Range", "")
    try:
        start = int(text.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset
