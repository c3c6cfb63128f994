"""Clip an OpenStreetMap extract to the roads a site set's drives can use (pyosmium).

Only the roads (``highway=*``, ferries) with at least one node in the reach area are kept, whole,
with every node they use and their turn restrictions. This drops buildings, land use and far-away
roads: the clipped file is a small fraction of the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GraphBuildError
from geo.osm.progress import ProgressCallback, ProgressEvent, disk_error, emit

__all__ = ["ClipResult", "clip_extract"]


@dataclass(frozen=True)
class ClipResult:
    """Counts of a clip: road ways seen in the source and what was written."""

    source: Path
    path: Path
    road_ways_in: int
    road_ways_out: int
    nodes_out: int
    relations_out: int
    size_bytes: int


def _is_road(tags: Any) -> bool:
    return "highway" in tags or tags.get("route") == "ferry"


def clip_extract(
    source: Path,
    area: BaseGeometry,
    out: Path,
    *,
    progress: ProgressCallback | None = None,
    label: str = "",
    chunk_ways: int = 200_000,
) -> ClipResult:
    """Write to ``out`` the roads of ``source`` that enter ``area``.

    Kept: ways tagged ``highway=*`` or ``route=ferry`` whose line touches ``area`` (whole, so a
    road leaving the area is not cut), every node they use (with its tags: signals, barriers),
    and ``type=restriction`` relations that mention a kept way. Everything else (buildings, land
    use, far roads) is dropped. The output is sorted like the input, as Valhalla needs.

    Way geometries are made by libosmium (WKB) and tested against ``area`` in batches of
    ``chunk_ways`` with shapely, so no Python code runs per node.
    """
    import osmium

    label = label or source.name
    if out.exists():
        out.unlink()
    prepared = shapely.Polygon() if area.is_empty else area
    shapely.prepare(prepared)
    tracker = osmium.IdTracker()
    wkb = osmium.geom.WKBFactory()
    lines: list[Any] = []  # WKB hex strings, or shapely geometries for degenerate ways
    ids: list[int] = []
    road_ways = 0
    kept = 0

    def flush() -> int:
        if not ids:
            return 0
        geoms = np.empty(len(lines), dtype=object)
        is_wkb = np.fromiter((isinstance(g, str) for g in lines), bool, len(lines))
        geoms[is_wkb] = shapely.from_wkb(np.array(lines, dtype=object)[is_wkb])
        geoms[~is_wkb] = np.array(lines, dtype=object)[~is_wkb]
        keep = shapely.intersects(prepared, geoms)
        way_ids = np.asarray(ids, dtype=np.int64)[keep]
        for wid in way_ids.tolist():
            tracker.add_way(wid)
        lines.clear()
        ids.clear()
        return len(way_ids)

    def degenerate(way: Any) -> BaseGeometry | None:
        """A way libosmium cannot make a line of (one distinct point, missing nodes)."""
        pts = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
        if not pts:
            return None
        return shapely.Point(pts[0]) if len(set(pts)) == 1 else shapely.LineString(pts)

    try:
        ways = osmium.FileProcessor(str(source)).with_locations()
        ways = ways.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        for way in cast(Iterable[Any], ways):
            if not _is_road(way.tags):
                continue
            road_ways += 1
            try:
                lines.append(wkb.create_linestring(way))
            except (RuntimeError, osmium.InvalidLocationError):
                geom = degenerate(way)
                if geom is None:
                    continue
                lines.append(geom)
            ids.append(way.id)
            if len(ids) >= chunk_ways:
                kept += flush()
                emit(progress, ProgressEvent("clip", label, road_ways, None))
        kept += flush()
        restrictions = osmium.FileProcessor(str(source), osmium.osm.RELATION).with_filter(
            osmium.filter.TagFilter(("type", "restriction"))
        )
        for rel in restrictions:
            if tracker.contains_any_references(rel):
                tracker.add_relation(rel.id)
        tracker.complete_backward_references(str(source), relation_depth=0)
        writer = osmium.SimpleWriter(str(out))
        try:
            osmium.apply(str(source), tracker.id_filter(), writer)
        finally:
            writer.close()
    except RuntimeError as exc:
        out.unlink(missing_ok=True)
        raise GraphBuildError(f"cannot clip {source.name}: {exc}") from exc
    except OSError as exc:
        out.unlink(missing_ok=True)
        raise disk_error(exc, out.parent) from exc
    nodes_out = len(tracker.node_ids())
    rels_out = len(tracker.relation_ids())
    emit(
        progress,
        ProgressEvent("clip", label, road_ways, road_ways, f"kept {kept:,} of {road_ways:,} roads"),
    )
    return ClipResult(
        source=source,
        path=out,
        road_ways_in=road_ways,
        road_ways_out=len(tracker.way_ids()),
        nodes_out=nodes_out,
        relations_out=rels_out,
        size_bytes=out.stat().st_size,
    )
