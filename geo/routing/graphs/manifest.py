"""What a local road graph is: its manifest (:class:`GraphManifest`) and its file names."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EngineNotAvailableError
from geo.geodesy import KM_PER_DEG

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
OSRM_MLD_CELL_SIZES = (32, 512)
"""Cell sizes of OSRM's MLD partition (edge-based nodes per cell, level 1 up), passed to
``osrm-partition --max-cell-sizes``. OSRM's default (128, 4096, 65536, 2097152) makes a graph
smaller than ~2 million edge-based nodes one top-level cell, and OSRM's many-to-many search
then explores the whole overlay graph once per place (a table's cost grows with the graph for
every place it holds). With small top-level cells a place's search stays inside its own cell:
2,000 × 20 on the demo roads 7.1–12.2 s → 0.95–1.3 s, 2,000 × 10 on the 150 km grid
31 s → 1.8 s, values identical (docs/engine.md, "Benchmarks"). Two levels, not one: the
searches from the sites cross the rest of the graph on the 512-cells' overlay."""


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
    osrm_cell_sizes: tuple[int, ...] = ()
    """MLD partition cell sizes the OSRM dataset was built with (() = OSRM's default, or CH)."""
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
            "osrm_cell_sizes": list(self.osrm_cell_sizes),
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
            osrm_cell_sizes=tuple(int(c) for c in data.get("osrm_cell_sizes", [])),
            files=tuple((str(f[0]), int(f[1]), str(f[2])) for f in data.get("files", [])),
            manifest_version=int(data.get("manifest_version", 1)),
        )


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


def partition_note(manifest: GraphManifest) -> str:
    """Why the graph's OSRM tables are slow, and the command that fixes it ("" when they are not).

    A graph built before :data:`OSRM_MLD_CELL_SIZES` (or with other cell sizes) answers exactly
    the same, but its tables take several times longer (docs/engine.md, "Benchmarks"). CH
    datasets have no partition. The text names the graph, never a place.
    """
    if manifest.osrm_algorithm != "mld" or manifest.osrm_cell_sizes == OSRM_MLD_CELL_SIZES:
        return ""
    built = (
        "OSRM's default partition"
        if not manifest.osrm_cell_sizes
        else "MLD cells of " + ", ".join(str(c) for c in manifest.osrm_cell_sizes)
    )
    return (
        f"road graph {manifest.name!r} was built with {built}: its drive times are exact but "
        f"its tables are slow; rebuild with {manifest.rebuild_hint}"
    )
