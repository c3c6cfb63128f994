"""Reading OSM extracts: roads and dates, one sorted file for both engines, the covered area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GraphBuildError
from geo.geodesy import KM_PER_DEG
from geo.routing.graphs.manifest import DEFAULT_CELL_KM


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
