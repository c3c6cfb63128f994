"""Local road graphs: one sorted OSM extract, two engines (Valhalla tiles + an OSRM dataset).

A graph lives in ``<Settings.cache_dir>/graphs/<name>/`` with

* ``tiles/`` — Valhalla routing tiles built by ``valhalla_build_tiles`` (isochrones, routes,
  screening);
* ``osrm/graph.osrm.*`` — an OSRM dataset built by the ``osrm-bindings`` binaries from the same
  sorted extract (tables and routes), MLD by default or CH (``algorithm="ch"``);
* ``valhalla.json`` — the Valhalla configuration; rewritten when the graph is opened if it names
  another folder (a moved or copied cache) or was written by another Valhalla version;
* ``manifest.json`` — what the graph is (:class:`GraphManifest`): name, source extracts with
  their SHA-256, OSM data date, the area its road data covers, tile count and size, engine
  versions, OSRM algorithm, and the size and SHA-256 of every tile and OSRM file.

Opening a graph for routing (:func:`load_graph`, :func:`open_graph`) checks it against its
manifest: every listed file present with its size, always; and the SHA-256 of every file on the
first open in a process (see :func:`verify_graph` for the policy on very large graphs). A damaged
graph is refused with a message naming it and the command that rebuilds it.

The *covered area* is where the graph has roads: the cells of a ``cell_km`` grid that hold a road
node, merged and closed (gaps narrower than a few cells are filled). A point outside it cannot be
routed honestly, and answers near its boundary may be cut short by the end of the data.

The built-in ``demo`` graph is made from the extracts shipped in ``data/osm/`` (Harrisburg PA and
Columbus OH); :func:`ensure_demo_graph` builds it on first use in a few seconds, and again when the
extracts, the manifest format or an engine version changed, or the graph is damaged. Builds of one
graph are serialised across processes with a file lock.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.checksums import sha256_of
from geo.errors import EngineNotAvailableError, GraphBuildError, ValidationError
from geo.geodesy import KM_PER_DEG
from geo.settings import Settings, get_settings

DEMO_GRAPH = "demo"
DEMO_EXTRACTS = ("harrisburg.osm.pbf", "columbus.osm.pbf")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 2
"""2: one sorted extract, Valhalla tiles + OSRM dataset, engine versions, per-file checksums."""
DEFAULT_MAX_ISOCHRONE_MIN = 180.0
"""Longest isochrone contour the local engine is configured for (minutes)."""
DEFAULT_CELL_KM = 2.0
"""Cell size of the covered-area raster (km)."""
OSRM_DIR = "osrm"
OSRM_BASE = "graph.osrm"
OSRM_ALGORITHMS = ("mld", "ch")
DEFAULT_OSRM_ALGORITHM = "mld"
OSRM_BUILD_LEFTOVERS = (".ebg", ".cnbg", ".cnbg_to_ebg", ".enw", ".restrictions")
"""OSRM files only the build steps read (each tried removed: queries still load and answer)."""
FULL_CHECK_MAX_BYTES = 256 << 20
"""Graphs up to this size (tiles + OSRM, bytes) are checksummed in full on their first open in a
process: SHA-256 runs at ~0.4–1 GB/s here, so that costs at most ~0.3–0.6 s (the demo graph,
42 MB: 0.10 s idle, 0.28 s under load), within a single check's budget. Larger graphs (a US state
is several hundred MB) re-hash on opening only the files whose size or modification time differ
from the last full check (``.verified.json``); ``trialreach graph verify`` hashes everything."""
VERIFIED_STAMP = ".verified.json"
CONFIG_STAMP = "valhalla.json.version"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

FileEntry = tuple[str, int, str]
"""(path relative to the graph folder, size in bytes, SHA-256 hex)."""


@dataclass(frozen=True)
class GraphManifest:
    """What one local road graph is built from, what it holds, and where its data ends."""

    name: str
    path: Path
    sources: tuple[str, ...]
    """File names of the source extracts."""
    source_sha256: tuple[str, ...]
    osm_date: str
    """Newest OSM timestamp in the extracts (ISO date), or "" when the files carry none."""
    covered_area: BaseGeometry
    """(Multi)polygon in lon/lat where the graph has road data."""
    tile_count: int
    tiles_bytes: int
    built_at: str
    valhalla_version: str
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN
    osrm_version: str = ""
    """Version of ``osrm-bindings`` that built the OSRM dataset ("" = no OSRM data)."""
    osrm_algorithm: str = ""
    """``mld`` or ``ch``; "" when the graph has no OSRM data (built before manifest version 2)."""
    osrm_bytes: int = 0
    files: tuple[FileEntry, ...] = field(default_factory=tuple)
    """Every tile and OSRM file with its size and SHA-256 (empty for manifest version 1)."""
    manifest_version: int = MANIFEST_VERSION

    @property
    def tile_dir(self) -> Path:
        return self.path / "tiles"

    @property
    def config_path(self) -> Path:
        return self.path / "valhalla.json"

    @property
    def osrm_dir(self) -> Path:
        return self.path / OSRM_DIR

    @property
    def osrm_path(self) -> Path:
        """The OSRM dataset's base path (``osrm.OSRM(storage_config=...)``)."""
        return self.osrm_dir / OSRM_BASE

    @property
    def has_osrm(self) -> bool:
        """Whether the graph was built with an OSRM dataset."""
        return bool(self.osrm_algorithm)

    @property
    def data_label(self) -> str:
        """Provenance for results, e.g. ``OSM extract demo of 2015-02-06``."""
        return f"OSM extract {self.name} of {self.osm_date or 'unknown date'}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the covered area."""
        b = self.covered_area.bounds
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    @property
    def area_km2(self) -> float:
        """Approximate size of the covered area in km² (equirectangular at its centre)."""
        lat = self.covered_area.centroid.y
        k = KM_PER_DEG**2 * math.cos(math.radians(lat))
        return float(self.covered_area.area * k)

    @property
    def rebuild_hint(self) -> str:
        """The command that rebuilds this graph."""
        if self.name == DEMO_GRAPH:
            return "`trialreach graph remove demo` (it is rebuilt on next use)"
        return f"`trialreach graph build --pbf FILE --name {self.name}` ({', '.join(self.sources)})"

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": self.manifest_version,
            "name": self.name,
            "sources": list(self.sources),
            "source_sha256": list(self.source_sha256),
            "osm_date": self.osm_date,
            "covered_area": shapely.geometry.mapping(self.covered_area),
            "tile_count": self.tile_count,
            "tiles_bytes": self.tiles_bytes,
            "built_at": self.built_at,
            "valhalla_version": self.valhalla_version,
            "max_isochrone_min": self.max_isochrone_min,
            "osrm_version": self.osrm_version,
            "osrm_algorithm": self.osrm_algorithm,
            "osrm_bytes": self.osrm_bytes,
            "files": [list(f) for f in self.files],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> GraphManifest:
        return cls(
            name=str(data["name"]),
            path=path,
            sources=tuple(data["sources"]),
            source_sha256=tuple(data["source_sha256"]),
            osm_date=str(data.get("osm_date", "")),
            covered_area=shapely.geometry.shape(data["covered_area"]),
            tile_count=int(data["tile_count"]),
            tiles_bytes=int(data["tiles_bytes"]),
            built_at=str(data["built_at"]),
            valhalla_version=str(data.get("valhalla_version", "")),
            max_isochrone_min=float(data.get("max_isochrone_min", DEFAULT_MAX_ISOCHRONE_MIN)),
            osrm_version=str(data.get("osrm_version", "")),
            osrm_algorithm=str(data.get("osrm_algorithm", "")),
            osrm_bytes=int(data.get("osrm_bytes", 0)),
            files=tuple((str(f[0]), int(f[1]), str(f[2])) for f in data.get("files", [])),
            manifest_version=int(data.get("manifest_version", 1)),
        )


# --- engine plumbing --------------------------------------------------------------------------
_VALHALLA_MISSING = (
    "the Valhalla engine is not installed; install it with `pip install 'pyvalhalla>=3.9.1,<4'`"
)
_OSRM_MISSING = (
    "the OSRM engine is not installed; install it with `pip install 'osrm-bindings>=26.10,<27'`"
)


def valhalla_bin_dir() -> Path:
    """Folder of the Valhalla binaries shipped in the ``pyvalhalla`` wheel."""
    try:
        from valhalla._scripts import PYVALHALLA_BIN_DIR
    except ImportError as exc:
        raise EngineNotAvailableError(_VALHALLA_MISSING) from exc
    return Path(PYVALHALLA_BIN_DIR)


def osrm_bin_dir() -> Path:
    """Folder of the OSRM binaries (``osrm-extract`` …) shipped in the ``osrm-bindings`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("osrm")
    if spec is None or not spec.submodule_search_locations:
        raise EngineNotAvailableError(_OSRM_MISSING)
    return Path(next(iter(spec.submodule_search_locations))) / "bin"


def osrm_car_profile() -> Path:
    """The car profile bundled with ``osrm-bindings``."""
    return osrm_bin_dir().parent / "share" / "profiles" / "car.lua"


def _dist_version(*names: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for n in names:
        try:
            return version(n)
        except PackageNotFoundError:
            continue
    return ""


def valhalla_version() -> str:
    """Installed Valhalla version (``pyvalhalla``; "" when not installed)."""
    return _dist_version("pyvalhalla", "pyvalhalla-weekly")


def osrm_version() -> str:
    """Installed OSRM version (``osrm-bindings``; "" when not installed)."""
    return _dist_version("osrm-bindings")


def valhalla_config(
    tile_dir: Path,
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN,
    *,
    for_build: bool = False,
) -> dict[str, Any]:
    """Engine configuration for tiles in ``tile_dir`` (which must exist).

    Uses the one-to-many ``timedistancematrix`` algorithm (several times faster than the default
    for places × sites), large matrix limits (the router chunks requests itself), and isochrone
    contours up to ``max_isochrone_min``.
    """
    try:
        from valhalla.config import get_config
    except ImportError as exc:
        raise EngineNotAvailableError(_VALHALLA_MISSING) from exc
    cfg: dict[str, Any] = get_config(tile_extract="", tile_dir=tile_dir, verbose=False)
    cfg["mjolnir"]["tile_dir"] = str(tile_dir)
    cfg["mjolnir"]["tile_extract"] = ""
    cfg["mjolnir"]["traffic_extract"] = ""
    cfg["thor"]["source_to_target_algorithm"] = "timedistancematrix"
    # Queries log nothing (type ""); the tile build logs to its captured stdout.
    for section in ("mjolnir", "loki", "thor", "odin", "meili"):
        if isinstance(cfg.get(section), dict):
            cfg[section]["logging"] = {"type": "", "color": False, "long_request": 1e9}
    if for_build:
        cfg["mjolnir"]["logging"] = {"type": "std_out", "color": False}
    limits = cfg["service_limits"]
    limits["auto"]["max_matrix_location_pairs"] = 1_000_000
    limits["auto"]["max_matrix_distance"] = 3_000_000.0
    limits["auto"]["max_locations"] = 50
    limits["isochrone"]["max_time_contour"] = math.ceil(max_isochrone_min)
    limits["isochrone"]["max_contours"] = 4
    return cfg


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_valhalla_config(manifest: GraphManifest) -> Path:
    """Make ``valhalla.json`` fit this folder and the installed Valhalla; return its path.

    The config is rewritten (atomically) when it is missing, names another tile folder (the cache
    was moved or copied: the copy must use its own tiles) or was written by another Valhalla
    version (3.9 rejects a 3.5 config on every query; the tiles themselves still load).
    """
    cfg_path = manifest.config_path
    stamp = manifest.path / CONFIG_STAMP
    installed = valhalla_version()
    try:
        current = json.loads(cfg_path.read_text())
        fits = (
            current["mjolnir"]["tile_dir"] == str(manifest.tile_dir)
            and stamp.read_text().strip() == installed
        )
    except (OSError, ValueError, KeyError, TypeError):
        fits = False
    if not fits:
        cfg = valhalla_config(manifest.tile_dir, manifest.max_isochrone_min)
        try:
            _write_atomic(cfg_path, json.dumps(cfg, indent=1))
            _write_atomic(stamp, installed)
        except OSError as exc:
            raise EngineNotAvailableError(
                f"cannot write the Valhalla configuration of graph {manifest.name!r} in "
                f"{manifest.path}: {exc}"
            ) from exc
    return cfg_path


# --- reading extracts -------------------------------------------------------------------------
def _scan_extract(path: Path) -> tuple[np.ndarray[Any, np.dtype[np.float64]], datetime | None]:
    """Lon/lat of every node on a ``highway`` way, and the newest OSM timestamp seen."""
    import osmium

    coords: list[tuple[float, float]] = []
    newest: datetime | None = None
    epoch_floor = datetime(2000, 1, 1, tzinfo=UTC)  # files without timestamps report 1970
    try:
        processor = osmium.FileProcessor(str(path)).with_locations()
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way) or "highway" not in obj.tags:
                continue
            stamp = obj.timestamp
            if stamp is not None and stamp > epoch_floor and (newest is None or stamp > newest):
                newest = stamp
            for node in obj.nodes:
                loc = node.location
                if loc.valid():
                    coords.append((loc.lon, loc.lat))
        if newest is None:
            reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
            stamp_text = reader.header().get("osmosis_replication_timestamp", "")
            reader.close()
            if stamp_text:
                newest = datetime.fromisoformat(stamp_text.replace("Z", "+00:00"))
    except RuntimeError as exc:
        raise GraphBuildError(f"cannot read {path.name} as an OSM PBF extract: {exc}") from exc
    return np.asarray(coords, dtype=float).reshape(-1, 2), newest


def sort_extracts(paths: Sequence[Path], out: Path) -> Path:
    """Write one sorted, de-duplicated PBF of ``paths`` (one file or several) to ``out``.

    Both engines need input sorted by type and id; Valhalla 3.9 refuses unsorted input even for
    a single file (the shipped ``columbus.osm.pbf`` is one), so every build goes through here.
    """
    import osmium

    reader = osmium.MergeInputReader()
    writer = None
    try:
        for p in paths:
            reader.add_file(str(p))
        writer = osmium.SimpleWriter(str(out))
        reader.apply(writer, simplify=True)
    except RuntimeError as exc:
        raise GraphBuildError(f"cannot read and sort the extracts: {exc}") from exc
    finally:
        if writer is not None:
            writer.close()
    return out


def covered_area(coords: np.ndarray[Any, Any], cell_km: float = DEFAULT_CELL_KM) -> BaseGeometry:
    """Area where road nodes ``coords`` (lon, lat) lie: occupied grid cells, closed by 2 cells."""
    if len(coords) == 0:
        return shapely.Polygon()
    lat0 = float(np.mean(coords[:, 1]))
    dlat = cell_km / KM_PER_DEG
    dlon = dlat / max(0.05, math.cos(math.radians(lat0)))
    cells = np.unique(
        np.stack([np.floor(coords[:, 0] / dlon), np.floor(coords[:, 1] / dlat)], 1), axis=0
    )
    boxes = shapely.box(
        cells[:, 0] * dlon, cells[:, 1] * dlat, (cells[:, 0] + 1) * dlon, (cells[:, 1] + 1) * dlat
    )
    merged = shapely.union_all(boxes)
    # Close gaps of up to ~4 cells (fields, rivers) without reaching far beyond the roads; the
    # closing is done in a frame scaled to km so it is the same distance in every direction.
    scaled = shapely.affinity.scale(merged, xfact=1 / dlon, yfact=1 / dlat, origin=(0, 0))
    closed = scaled.buffer(2.0, join_style="mitre").buffer(-2.0, join_style="mitre")
    closed = shapely.affinity.scale(closed, xfact=dlon, yfact=dlat, origin=(0, 0))
    return shapely.simplify(shapely.make_valid(closed), min(dlon, dlat) / 4)


# --- graphs in the cache ----------------------------------------------------------------------
def graphs_dir(settings: Settings | None = None) -> Path:
    """Where local graphs are kept: ``<cache_dir>/graphs``."""
    return (settings or get_settings()).cache_dir / "graphs"


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValidationError(
            f"graph name {name!r} is not usable: use lower-case letters, digits, '-', '_' or '.'"
        )
    return name


_LOCKS: dict[str, Any] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def graph_lock(folder: Path, timeout_s: float = 1800.0) -> Iterator[None]:
    """Hold the cross-process lock of the graph in ``folder`` (re-entrant in one thread).

    Builds, removals and the checks of a graph on opening take it, so concurrent first uses of a
    graph build it once and never see a half-moved folder.
    """
    from filelock import FileLock, Timeout

    key = str(folder.parent / f".{folder.name}.lock")
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = FileLock(key)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=timeout_s)
    except Timeout as exc:
        raise GraphBuildError(
            f"road graph {folder.name!r} stayed locked by another process for {timeout_s:.0f} s; "
            f"if no build is running, delete {key}"
        ) from exc
    except OSError:
        # A read-only cache (shared, or on a read-only mount) cannot hold a lock file; nothing
        # can be built there either, so reading without the lock is safe.
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _run(cmd: list[str], cwd: Path, log: Path, what: str) -> None:
    """Run one build step with its output in ``log``; GraphBuildError with the log's tail."""
    with log.open("a") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-5:])
        raise GraphBuildError(f"{what} failed (exit {proc.returncode}); last lines:\n{tail}")


def _build_osrm(sorted_pbf: Path, algorithm: str, jobs: int, log: Path) -> None:
    """OSRM dataset next to ``sorted_pbf`` (named after it), then build leftovers removed."""
    bins = osrm_bin_dir()
    profile = osrm_car_profile()
    if not (bins / "osrm-extract").is_file() or not profile.is_file():
        raise EngineNotAvailableError(_OSRM_MISSING)
    base = sorted_pbf.with_name(OSRM_BASE)
    cwd = sorted_pbf.parent
    threads = ["-t", str(max(1, jobs))]
    _run(
        [str(bins / "osrm-extract"), "-p", str(profile), *threads, sorted_pbf.name],
        cwd,
        log,
        "osrm-extract",
    )
    if algorithm == "ch":
        _run([str(bins / "osrm-contract"), *threads, base.name], cwd, log, "osrm-contract")
    else:
        _run([str(bins / "osrm-partition"), *threads, base.name], cwd, log, "osrm-partition")
        _run([str(bins / "osrm-customize"), *threads, base.name], cwd, log, "osrm-customize")
    for suffix in OSRM_BUILD_LEFTOVERS:
        base.with_name(base.name + suffix).unlink(missing_ok=True)


def _file_entries(root: Path, files: Sequence[Path]) -> tuple[FileEntry, ...]:
    return tuple(
        (f.relative_to(root).as_posix(), f.stat().st_size, sha256_of(f)) for f in sorted(files)
    )


def build_graph(
    pbfs: Sequence[Path | str],
    name: str,
    settings: Settings | None = None,
    *,
    jobs: int = 2,
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN,
    cell_km: float = DEFAULT_CELL_KM,
    out_dir: Path | None = None,
    algorithm: str = DEFAULT_OSRM_ALGORITHM,
    osrm: bool = True,
) -> GraphManifest:
    """Build Valhalla tiles and an OSRM dataset from OSM extracts into the cache.

    The extracts are first merged into one sorted PBF; both engines are built from it (in
    parallel). The build happens in a temporary folder next to the target and is moved into place
    only when it succeeded, under the graph's file lock, so a failed build never leaves a half
    graph behind and concurrent builds of one graph run one after the other. A graph of the same
    name is replaced.

    Parameters
    ----------
    pbfs
        OSM ``.osm.pbf`` extracts (one or several; overlaps are de-duplicated).
    name
        Graph name (lower-case letters, digits, ``-``, ``_``, ``.``).
    jobs
        Threads for each engine's builder.
    max_isochrone_min
        Longest isochrone contour the Valhalla config allows (minutes).
    cell_km
        Cell size of the covered-area raster (km).
    out_dir
        The graph's folder (default ``<cache_dir>/graphs/<name>``).
    algorithm
        OSRM algorithm: ``mld`` (builds in seconds; default) or ``ch`` (contraction takes far
        longer; tables are several times faster).
    osrm
        Build the OSRM dataset (False: Valhalla tiles only).
    """
    _check_name(name)
    algorithm = algorithm.lower()
    if algorithm not in OSRM_ALGORITHMS:
        raise ValidationError(
            f"unknown OSRM algorithm {algorithm!r}; choose one of: {', '.join(OSRM_ALGORITHMS)}"
        )
    paths = [Path(p).expanduser() for p in pbfs]
    if not paths:
        raise ValidationError("give at least one OSM extract (.osm.pbf) to build a graph from")
    for p in paths:
        if not p.is_file():
            raise GraphBuildError(f"OSM extract not found: {p}")
        if not p.name.endswith(".pbf"):
            raise GraphBuildError(
                f"{p.name}: Valhalla reads only .osm.pbf files; convert it first "
                "(e.g. `osmium cat file.osm -o file.osm.pbf`)"
            )
    target = out_dir or graphs_dir(settings) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with graph_lock(target):
        return _build_locked(
            paths, name, target, jobs, max_isochrone_min, cell_km, algorithm if osrm else ""
        )


def _build_locked(
    paths: list[Path],
    name: str,
    target: Path,
    jobs: int,
    max_isochrone_min: float,
    cell_km: float,
    algorithm: str,
) -> GraphManifest:
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        coords_parts = []
        dates: list[datetime] = []
        for p in paths:
            c, newest = _scan_extract(p)
            coords_parts.append(c)
            if newest is not None:
                dates.append(newest)
        coords = np.concatenate(coords_parts) if coords_parts else np.zeros((0, 2))
        if len(coords) == 0:
            raise GraphBuildError(
                "the extracts hold no roads (no ways tagged highway=*); check the files"
            )
        area = covered_area(coords, cell_km)
        osrm_dir = work / OSRM_DIR
        osrm_dir.mkdir()
        sorted_pbf = sort_extracts(paths, osrm_dir / "graph.osm.pbf")
        tiles = work / "tiles"
        tiles.mkdir()
        cfg = valhalla_config(tiles, max_isochrone_min, for_build=True)
        (work / "valhalla.json").write_text(json.dumps(cfg, indent=1))
        exe = valhalla_bin_dir() / "valhalla_build_tiles"
        cmd = [str(exe), "-c", str(work / "valhalla.json"), "-j", str(max(1, jobs))]
        vlog = work / "valhalla-build.log"
        with vlog.open("w") as fh:
            # Valhalla's tile build and OSRM's chain run side by side (each mostly one thread).
            vproc = subprocess.Popen(
                [*cmd, str(sorted_pbf)], cwd=work, stdout=fh, stderr=subprocess.STDOUT
            )
            try:
                if algorithm:
                    _build_osrm(sorted_pbf, algorithm, jobs, work / "osrm-build.log")
            finally:
                vcode = vproc.wait()
        gph = sorted(tiles.rglob("*.gph"))
        if vcode != 0 or not gph:
            tail = "\n".join(vlog.read_text(errors="replace").strip().splitlines()[-5:])
            raise GraphBuildError(
                f"valhalla_build_tiles failed for {', '.join(p.name for p in paths)} "
                f"(exit {vcode}); last lines:\n{tail}"
            )
        # Leftovers of the build that queries do not need.
        for extra in [*work.glob("*.bin"), *work.glob("*.log"), sorted_pbf]:
            extra.unlink(missing_ok=True)
        osrm_files = sorted(osrm_dir.glob(OSRM_BASE + ".*")) if algorithm else []
        if not algorithm:
            shutil.rmtree(osrm_dir, ignore_errors=True)
        final_cfg = valhalla_config(tiles, max_isochrone_min)
        final_cfg["mjolnir"]["tile_dir"] = str(target / "tiles")
        (work / "valhalla.json").write_text(json.dumps(final_cfg, indent=1))
        installed = valhalla_version()
        (work / CONFIG_STAMP).write_text(installed)
        tile_entries = _file_entries(work, gph)
        osrm_entries = _file_entries(work, osrm_files)
        manifest = GraphManifest(
            name=name,
            path=target,
            sources=tuple(p.name for p in paths),
            source_sha256=tuple(sha256_of(p) for p in paths),
            osm_date=max(dates).date().isoformat() if dates else "",
            covered_area=area,
            tile_count=len(gph),
            tiles_bytes=sum(e[1] for e in tile_entries),
            built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            valhalla_version=installed,
            max_isochrone_min=max_isochrone_min,
            osrm_version=osrm_version() if algorithm else "",
            osrm_algorithm=algorithm,
            osrm_bytes=sum(e[1] for e in osrm_entries),
            files=tile_entries + osrm_entries,
        )
        (work / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1))
        if target.exists():
            old = target.with_name(f".{name}-old-{time.time_ns()}")
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        work.rename(target)
        _forget_verified(target)
        return manifest
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def read_manifest(path: Path) -> GraphManifest:
    """The manifest of the graph in folder ``path`` (not checked against the files)."""
    try:
        data = json.loads((path / MANIFEST).read_text())
        return GraphManifest.from_json(data, path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineNotAvailableError(
            f"the road graph in {path} is incomplete or damaged; rebuild it with "
            f"`trialreach graph build --pbf FILE --name {path.name}`"
        ) from exc


# --- verification -----------------------------------------------------------------------------
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


def osrm_problem(manifest: GraphManifest) -> str:
    """Why the graph's OSRM dataset cannot be used here ("" when it can)."""
    if not manifest.has_osrm:
        return (
            f"road graph {manifest.name!r} has no OSRM data (built by an older trialreach or "
            f"without it); rebuild it with {manifest.rebuild_hint}"
        )
    installed = osrm_version()
    if not installed:
        return _OSRM_MISSING
    if installed != manifest.osrm_version:
        return (
            f"road graph {manifest.name!r} holds OSRM data of osrm-bindings "
            f"{manifest.osrm_version}, but {installed} is installed (OSRM reads only its own "
            f"version's files); rebuild it with {manifest.rebuild_hint}"
        )
    return ""


def load_graph(name: str, settings: Settings | None = None) -> GraphManifest:
    """The graph called ``name``, checked and ready for routing (``demo`` is built on first use).

    See :func:`open_graph` for the checks.
    """
    settings = settings or get_settings()
    if name == DEMO_GRAPH:
        return ensure_demo_graph(settings)
    folder = graphs_dir(settings) / _check_name(name)
    with graph_lock(folder):
        if not (folder / MANIFEST).is_file():
            known = ", ".join(g.name for g in list_graphs(settings)) or "none yet"
            raise EngineNotAvailableError(
                f"no road graph called {name!r} (graphs: {known}); build one with "
                f"`trialreach graph build --pbf FILE --name {name}`"
            )
        return open_graph(read_manifest(folder))


def list_graphs(settings: Settings | None = None) -> list[GraphManifest]:
    """Every complete graph in the cache, by name."""
    root = graphs_dir(settings)
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not (folder / MANIFEST).is_file():
            continue
        try:
            out.append(read_manifest(folder))
        except EngineNotAvailableError:
            continue
    return out


def remove_graph(name: str, settings: Settings | None = None) -> bool:
    """Delete the graph called ``name`` from the cache; False when there was none."""
    folder = graphs_dir(settings) / _check_name(name)
    with graph_lock(folder):
        if not folder.exists():
            return False
        old = folder.with_name(f".{name}-old-{time.time_ns()}")
        folder.rename(old)
        _forget_verified(folder)
    shutil.rmtree(old, ignore_errors=True)
    return True


def demo_extracts(settings: Settings | None = None) -> list[Path]:
    """The shipped OSM extracts of the demo graph."""
    data = (settings or get_settings()).data_dir / "osm"
    return [data / f for f in DEMO_EXTRACTS]


def _demo_is_current(manifest: GraphManifest, extracts: Sequence[Path]) -> bool:
    return (
        manifest.manifest_version == MANIFEST_VERSION
        and manifest.valhalla_version == valhalla_version()
        and manifest.osrm_version == osrm_version()
        and manifest.has_osrm == bool(osrm_version())
        and manifest.source_sha256 == tuple(sha256_of(p) for p in extracts)
    )


def ensure_demo_graph(settings: Settings | None = None) -> GraphManifest:
    """The ``demo`` graph, checked; built from ``data/osm`` on first use and rebuilt when the
    extracts, the manifest format or an engine version changed, or when it is damaged."""
    settings = settings or get_settings()
    folder = graphs_dir(settings) / DEMO_GRAPH
    extracts = demo_extracts(settings)
    missing = [p.name for p in extracts if not p.is_file()]
    if missing:
        raise EngineNotAvailableError(
            f"the demo extracts are missing from {settings.data_dir / 'osm'}: {', '.join(missing)}"
        )
    with graph_lock(folder):
        if (folder / MANIFEST).is_file():
            try:
                manifest: GraphManifest | None = read_manifest(folder)
            except EngineNotAvailableError:
                manifest = None
            if manifest is not None and _demo_is_current(manifest, extracts):
                try:
                    return open_graph(manifest)
                except EngineNotAvailableError:
                    pass  # damaged: built again from the shipped extracts below
        # Without osrm-bindings (a dependency, but optional to Valhalla) the demo has tiles only.
        built = build_graph(extracts, DEMO_GRAPH, settings, osrm=bool(osrm_version()))
        return open_graph(built)


__all__ = [
    "DEFAULT_MAX_ISOCHRONE_MIN",
    "DEFAULT_OSRM_ALGORITHM",
    "DEMO_GRAPH",
    "MANIFEST_VERSION",
    "OSRM_ALGORITHMS",
    "GraphCheck",
    "GraphManifest",
    "build_graph",
    "covered_area",
    "demo_extracts",
    "ensure_demo_graph",
    "ensure_valhalla_config",
    "graph_lock",
    "graphs_dir",
    "list_graphs",
    "load_graph",
    "open_graph",
    "osrm_bin_dir",
    "osrm_problem",
    "osrm_version",
    "read_manifest",
    "remove_graph",
    "sort_extracts",
    "valhalla_bin_dir",
    "valhalla_config",
    "valhalla_version",
    "verify_graph",
]
