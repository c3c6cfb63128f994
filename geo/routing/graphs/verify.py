"""Checking a graph's files against its manifest, and opening it for routing."""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from geo.checksums import sha256_of
from geo.errors import EngineNotAvailableError
from geo.routing.graphs.engines import ensure_valhalla_config
from geo.routing.graphs.folders import _write_atomic
from geo.routing.graphs.manifest import GraphManifest, partition_note

log = logging.getLogger(__name__)

FULL_CHECK_MAX_BYTES = 256 << 20
"""Graphs up to this size (tiles + OSRM, bytes) are checksummed in full on their first open in a
process: SHA-256 runs at ~0.4–1 GB/s here, so that costs at most ~0.3–0.6 s (the demo graph,
42 MB: 0.10 s idle, 0.28 s under load), within a single check's budget. Larger graphs (a US state
is several hundred MB) re-hash on opening only the files whose size or modification time differ
from the last full check (``.verified.json``); ``trialreach graph verify`` hashes everything."""
VERIFIED_STAMP = ".verified.json"


@dataclass(frozen=True)
class GraphCheck:
    """What :func:`verify_graph` found. ``problems`` is empty for a sound graph."""

    name: str
    problems: tuple[str, ...]
    files_checked: int
    bytes_hashed: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


_VERIFIED: dict[tuple[str, str], bool] = {}
_VERIFIED_GUARD = threading.Lock()


def _forget_verified(folder: Path) -> None:
    with _VERIFIED_GUARD:
        for key in [k for k in _VERIFIED if k[0] == str(folder)]:
            del _VERIFIED[key]


def _read_stamp(folder: Path, built_at: str) -> dict[str, list[int]]:
    try:
        data = json.loads((folder / VERIFIED_STAMP).read_text())
        if data.get("built_at") == built_at:
            return {str(k): [int(v[0]), int(v[1])] for k, v in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass
    return {}


def verify_graph(manifest: GraphManifest, *, checksums: bool | None = None) -> GraphCheck:
    """Check a graph's files against its manifest.

    Always: every listed tile and OSRM file exists with its recorded size, and the tile folder
    holds exactly ``tile_count`` tiles. Checksums: with ``checksums=True`` every file is hashed;
    with ``None`` (the policy on opening) every file is hashed when the graph is at most
    :data:`FULL_CHECK_MAX_BYTES`, else only files whose size or modification time changed since
    the last full check. A graph of manifest version 1 (no file list) is checked by tile count
    and total size only.
    """
    t0 = time.perf_counter()
    problems: list[str] = []
    folder = manifest.path
    if not folder.is_dir():
        problems.append(f"the folder {folder} is missing")
        return GraphCheck(manifest.name, tuple(problems), 0, 0, time.perf_counter() - t0)
    gph = list(manifest.tile_dir.rglob("*.gph")) if manifest.tile_dir.is_dir() else []
    if len(gph) != manifest.tile_count:
        problems.append(
            f"{len(gph)} Valhalla tiles found, the manifest lists {manifest.tile_count}"
        )
    if not manifest.files:
        size = sum(f.stat().st_size for f in gph)
        if size != manifest.tiles_bytes:
            problems.append(f"tiles hold {size} bytes, the manifest says {manifest.tiles_bytes}")
        return GraphCheck(manifest.name, tuple(problems), len(gph), 0, time.perf_counter() - t0)
    total = sum(e[1] for e in manifest.files)
    stamp = _read_stamp(folder, manifest.built_at)
    full = checksums if checksums is not None else total <= FULL_CHECK_MAX_BYTES
    hashed = 0
    seen: dict[str, list[int]] = {}
    for rel, size, digest in manifest.files:
        f = folder / rel
        try:
            st = f.stat()
        except OSError:
            problems.append(f"{rel} is missing")
            continue
        if st.st_size != size:
            problems.append(f"{rel} has {st.st_size} bytes, the manifest says {size}")
            continue
        if full or stamp.get(rel) != [st.st_size, st.st_mtime_ns]:
            hashed += st.st_size
            if sha256_of(f) != digest:
                problems.append(f"{rel} does not match its checksum (changed or damaged)")
                continue
        seen[rel] = [st.st_size, st.st_mtime_ns]
    if not problems and hashed:
        # Remember what was hashed; a read-only cache simply re-hashes next time.
        with suppress(OSError):
            _write_atomic(
                folder / VERIFIED_STAMP,
                json.dumps({"built_at": manifest.built_at, "files": seen}),
            )
    return GraphCheck(
        manifest.name, tuple(problems), len(manifest.files), hashed, time.perf_counter() - t0
    )


def damaged_message(check: GraphCheck, manifest: GraphManifest) -> str:
    """What is wrong with a graph and how to rebuild it, for an error."""
    shown = "; ".join(check.problems[:3])
    more = f" (and {len(check.problems) - 3} more)" if len(check.problems) > 3 else ""
    return (
        f"road graph {manifest.name!r} in {manifest.path} is damaged: {shown}{more}. "
        f"Its drive times cannot be trusted; rebuild it with {manifest.rebuild_hint}"
    )


def open_graph(manifest: GraphManifest) -> GraphManifest:
    """Check a graph for routing (once per process, see :func:`verify_graph`); fit its config.

    The first open in a process also logs a warning when the graph's OSRM tables are slow for
    want of a rebuild (:func:`~geo.routing.graphs.manifest.partition_note`).

    Raises :class:`~geo.errors.EngineNotAvailableError` naming the graph and how to rebuild it
    when a file is missing, has another size or another checksum.
    """
    key = (str(manifest.path), manifest.built_at)
    with _VERIFIED_GUARD:
        done = _VERIFIED.get(key, False)
    if not done:
        check = verify_graph(manifest)
        if not check.ok:
            raise EngineNotAvailableError(damaged_message(check, manifest))
        with _VERIFIED_GUARD:
            _VERIFIED[key] = True
        # Once per graph and process: an old partition is exact but slow, and says so.
        note = partition_note(manifest)
        if note:
            log.warning("%s", note)
    else:
        # Later opens in this process: presence and sizes only (a few stat calls).
        for rel, size, _ in manifest.files:
            try:
                ok = (manifest.path / rel).stat().st_size == size
            except OSError:
                ok = False
            if not ok:
                _forget_verified(manifest.path)
                return open_graph(manifest)
    if manifest.tile_dir.is_dir():
        ensure_valhalla_config(manifest)
    return manifest
