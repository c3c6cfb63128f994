"""Local road graphs: Valhalla tiles built from OpenStreetMap extracts, kept in the user's cache.

A graph lives in ``<Settings.cache_dir>/graphs/<name>/`` with

* ``tiles/`` — Valhalla routing tiles built by ``valhalla_build_tiles``;
* ``valhalla.json`` — the engine configuration used to build and to query them;
* ``manifest.json`` — what the graph is (:class:`GraphManifest`): name, source extracts with
  their SHA-256, OSM data date, the area its road data covers, tile count and size.

The *covered area* is where the graph has roads: the cells of a ``cell_km`` grid that hold a road
node, merged and closed (gaps narrower than a few cells are filled). A point outside it cannot be
routed honestly, and answers near its boundary may be cut short by the end of the data.

The built-in ``demo`` graph is made from the extracts shipped in ``data/osm/`` (Harrisburg PA and
Columbus OH); :func:`ensure_demo_graph` builds it on first use in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EngineNotAvailableError, GraphBuildError, ValidationError
from geo.settings import Settings, get_settings

DEMO_GRAPH = "demo"
DEMO_EXTRACTS = ("harrisburg.osm.pbf", "columbus.osm.pbf")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
DEFAULT_MAX_ISOCHRONE_MIN = 180.0
"""Longest isochrone contour the local engine is configured for (minutes)."""
DEFAULT_CELL_KM = 2.0
"""Cell size of the covered-area raster (km)."""
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class GraphManifest:
    """What one local road graph is built from and where its data ends."""

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

    @property
    def tile_dir(self) -> Path:
        return self.path / "tiles"

    @property
    def config_path(self) -> Path:
        return self.path / "valhalla.json"

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
        k = (6371.0088 * math.pi / 180.0) ** 2 * math.cos(math.radians(lat))
        return float(self.covered_area.area * k)

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
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
        )


# --- Valhalla plumbing ------------------------------------------------------------------------
def valhalla_bin_dir() -> Path:
    """Folder of the Valhalla binaries shipped in the ``pyvalhalla-weekly`` wheel."""
    try:
        from valhalla._scripts import PYVALHALLA_BIN_DIR
    except ImportError:
        try:
            out = subprocess.run(
                [_python(), "-m", "valhalla", "print_bin_path"],
                check=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EngineNotAvailableError(
                "the Valhalla engine is not installed; install it with "
                "`pip install pyvalhalla-weekly==3.5.1.post1.dev248`"
            ) from exc
        return Path(out.stdout.strip().splitlines()[-1])
    return Path(PYVALHALLA_BIN_DIR)


def _python() -> str:
    import sys

    return sys.executable


def valhalla_version() -> str:
    try:
        from importlib.metadata import version

        return version("pyvalhalla-weekly")
    except Exception:  # metadata missing: not fatal for a manifest
        return ""


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
        raise EngineNotAvailableError(
            "the Valhalla engine is not installed; install it with "
            "`pip install pyvalhalla-weekly==3.5.1.post1.dev248`"
        ) from exc
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


# --- reading extracts -------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def _merged_input(paths: Sequence[Path], work: Path) -> list[Path]:
    """One sorted, de-duplicated PBF for several extracts (Valhalla needs sorted unique ids)."""
    if len(paths) == 1:
        return [paths[0].resolve()]
    import osmium

    merged = work / "merged.osm.pbf"
    reader = osmium.MergeInputReader()
    for p in paths:
        reader.add_file(str(p))
    writer = osmium.SimpleWriter(str(merged))
    try:
        reader.apply(writer, simplify=True)
    except RuntimeError as exc:
        raise GraphBuildError(f"cannot merge the extracts: {exc}") from exc
    finally:
        writer.close()
    return [merged]


def covered_area(coords: np.ndarray[Any, Any], cell_km: float = DEFAULT_CELL_KM) -> BaseGeometry:
    """Area where road nodes ``coords`` (lon, lat) lie: occupied grid cells, closed by 2 cells."""
    if len(coords) == 0:
        return shapely.Polygon()
    lat0 = float(np.mean(coords[:, 1]))
    dlat = cell_km / (6371.0088 * math.pi / 180.0)
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


def build_graph(
    pbfs: Sequence[Path | str],
    name: str,
    settings: Settings | None = None,
    *,
    jobs: int = 2,
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN,
    cell_km: float = DEFAULT_CELL_KM,
    out_dir: Path | None = None,
) -> GraphManifest:
    """Build Valhalla tiles from OSM ``.osm.pbf`` extracts into the cache; replace any old build.

    The build happens in a temporary folder next to the target and is moved into place only when
    it succeeded, so a failed build never leaves a half graph behind. ``out_dir`` overrides the
    graph's folder (default ``<cache_dir>/graphs/<name>``).
    """
    _check_name(name)
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
        tiles = work / "tiles"
        tiles.mkdir()
        cfg = valhalla_config(tiles, max_isochrone_min, for_build=True)
        (work / "valhalla.json").write_text(json.dumps(cfg, indent=1))
        exe = valhalla_bin_dir() / "valhalla_build_tiles"
        cmd = [str(exe), "-c", str(work / "valhalla.json"), "-j", str(max(1, jobs))]
        cmd += [str(p) for p in _merged_input(paths, work)]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        gph = sorted(tiles.rglob("*.gph"))
        if proc.returncode != 0 or not gph:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            raise GraphBuildError(
                f"valhalla_build_tiles failed for {', '.join(p.name for p in paths)} "
                f"(exit {proc.returncode}); last lines:\n{tail}"
            )
        # Leftovers of the build that queries do not need.
        for extra in [*work.glob("*.bin"), work / "merged.osm.pbf"]:
            extra.unlink(missing_ok=True)
        final_tiles = target / "tiles"
        final_cfg = valhalla_config(tiles, max_isochrone_min)
        final_cfg["mjolnir"]["tile_dir"] = str(final_tiles)
        (work / "valhalla.json").write_text(json.dumps(final_cfg, indent=1))
        manifest = GraphManifest(
            name=name,
            path=target,
            sources=tuple(p.name for p in paths),
            source_sha256=tuple(_sha256(p) for p in paths),
            osm_date=max(dates).date().isoformat() if dates else "",
            covered_area=area,
            tile_count=len(gph),
            tiles_bytes=sum(f.stat().st_size for f in gph),
            built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            valhalla_version=valhalla_version(),
            max_isochrone_min=max_isochrone_min,
        )
        (work / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1))
        if target.exists():
            old = target.with_name(f".{name}-old-{time.time_ns()}")
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        work.rename(target)
        return manifest
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def read_manifest(path: Path) -> GraphManifest:
    """The manifest of the graph in folder ``path``."""
    try:
        data = json.loads((path / MANIFEST).read_text())
        return GraphManifest.from_json(data, path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineNotAvailableError(
            f"the road graph in {path} is incomplete or damaged; rebuild it with "
            f"`trialreach graph build --pbf FILE --name {path.name}`"
        ) from exc


def load_graph(name: str, settings: Settings | None = None) -> GraphManifest:
    """The graph called ``name`` (``demo`` is built on first use)."""
    settings = settings or get_settings()
    if name == DEMO_GRAPH:
        return ensure_demo_graph(settings)
    folder = graphs_dir(settings) / _check_name(name)
    if not (folder / MANIFEST).is_file():
        known = ", ".join(g.name for g in list_graphs(settings)) or "none yet"
        raise EngineNotAvailableError(
            f"no road graph called {name!r} (graphs: {known}); build one with "
            f"`trialreach graph build --pbf FILE --name {name}`"
        )
    return read_manifest(folder)


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


def demo_extracts(settings: Settings | None = None) -> list[Path]:
    """The shipped OSM extracts of the demo graph."""
    data = (settings or get_settings()).data_dir / "osm"
    return [data / f for f in DEMO_EXTRACTS]


def ensure_demo_graph(settings: Settings | None = None) -> GraphManifest:
    """The ``demo`` graph, built from ``data/osm`` on first use (or when the extracts changed)."""
    settings = settings or get_settings()
    folder = graphs_dir(settings) / DEMO_GRAPH
    extracts = demo_extracts(settings)
    missing = [p.name for p in extracts if not p.is_file()]
    if missing:
        raise EngineNotAvailableError(
            f"the demo extracts are missing from {settings.data_dir / 'osm'}: {', '.join(missing)}"
        )
    if (folder / MANIFEST).is_file():
        try:
            manifest = read_manifest(folder)
        except EngineNotAvailableError:
            manifest = None
        if manifest is not None and manifest.source_sha256 == tuple(_sha256(p) for p in extracts):
            return manifest
    return build_graph(extracts, DEMO_GRAPH, settings)


__all__ = [
    "DEFAULT_MAX_ISOCHRONE_MIN",
    "DEMO_GRAPH",
    "GraphManifest",
    "build_graph",
    "covered_area",
    "demo_extracts",
    "ensure_demo_graph",
    "graphs_dir",
    "list_graphs",
    "load_graph",
    "read_manifest",
    "valhalla_bin_dir",
    "valhalla_config",
]
