"""A synthetic road network that looks more like real regional roads than the uniform grid.

:class:`geo.routing.synthetic.GridSpec` is a uniform lattice of 1 km streets with a fast road
every 10 km: it has no hierarchy to exploit and every cut through it crosses hundreds of roads,
which is the worst case for OSRM's multi-level partition. Real regions are sparse between towns.
This network keeps the fast roads and drops most of the rest:

* primary roads (100 km/h) every 10 km in both directions, a node every 1 km;
* secondary roads (70 km/h) half-way between them, each 10 km stretch present with
  probability ``secondary_share``, ending on the primaries;
* towns at a ``town_share`` of the primary crossings: 2 × 2 km of residential streets
  (40 km/h) every 500 m, centred on the crossing.

Everything is connected through the primaries. Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from geo.routing.synthetic import GridSpec

HALF_KM = 0.5
"""Coordinates are kept in half-kilometre units (integers)."""


@dataclass(frozen=True)
class RegionalRoads:
    """What :func:`write_regional_pbf` wrote: every node, which are town nodes, town centres."""

    node_lonlat: np.ndarray
    """(n, 2) lon, lat of every node."""
    node_units: np.ndarray
    """(n, 2) x, y of every node in half-kilometre units."""
    in_town: np.ndarray
    """(n,) True for the nodes of town streets."""
    town_units: np.ndarray
    """(k, 2) x, y of the town centres (half-kilometre units)."""
    ways: int
    size_km: int

    def lonlat(self, units: np.ndarray) -> np.ndarray:
        """lon, lat of points given in half-kilometre units."""
        u = np.asarray(units, dtype=float).reshape(-1, 2)
        return GridSpec(size_km=float(self.size_km)).lonlat(u[:, 0] * HALF_KM, u[:, 1] * HALF_KM)


def write_regional_pbf(
    path: Path,
    size_km: int = 300,
    *,
    seed: int = 11,
    secondary_share: float = 0.5,
    town_share: float = 0.25,
) -> RegionalRoads:
    """Write the regional network (``size_km`` square, a multiple of 10) to ``path``."""
    import osmium

    rng = np.random.default_rng(seed)
    top = 2 * size_km  # extent in half-km units
    lines: list[tuple[str, float, list[tuple[int, int]]]] = []
    # Primary roads every 10 km (20 units), a node every 1 km (2 units).
    for k in range(0, top + 1, 20):
        lines.append(("primary", 100.0, [(x, k) for x in range(0, top + 1, 2)]))
        lines.append(("primary", 100.0, [(k, y) for y in range(0, top + 1, 2)]))
    # Secondary roads half-way between primaries, 10 km stretches, some missing.
    for a in range(0, top, 20):
        for b in range(0, top, 20):
            if rng.random() < secondary_share:
                lines.append(("secondary", 70.0, [(a + i, b + 10) for i in range(0, 21, 2)]))
            if rng.random() < secondary_share:
                lines.append(("secondary", 70.0, [(a + 10, b + i) for i in range(0, 21, 2)]))
    # Towns at some primary crossings: 2 × 2 km of streets every 500 m.
    crossings = np.array([(x, y) for x in range(20, top, 20) for y in range(20, top, 20)])
    towns = crossings[rng.random(len(crossings)) < town_share]
    for cx, cy in towns.tolist():
        for off in range(-2, 3):
            lines.append(("residential", 40.0, [(cx + i, cy + off) for i in range(-2, 3)]))
            lines.append(("residential", 40.0, [(cx + off, cy + i) for i in range(-2, 3)]))

    ids: dict[tuple[int, int], int] = {}
    town_nodes: set[int] = set()
    for kind, _, pts in lines:
        for p in pts:
            nid = ids.setdefault(p, len(ids) + 1)
            if kind == "residential":
                town_nodes.add(nid)
    units = np.array(sorted(ids, key=ids.__getitem__), dtype=float)
    spec = GridSpec(size_km=float(size_km))
    lonlat = spec.lonlat(units[:, 0] * HALF_KM, units[:, 1] * HALF_KM)
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for k, (lon, lat) in enumerate(lonlat.tolist(), start=1):
            writer.add_node(
                osmium.osm.mutable.Node(id=k, location=(lon, lat), version=1, timestamp=stamp)
            )
        for way_id, (kind, speed, pts) in enumerate(lines, start=1):
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way_id,
                    nodes=[ids[p] for p in pts],
                    tags={"highway": kind, "maxspeed": f"{speed:g}"},
                    version=1,
                    timestamp=stamp,
                )
            )
    finally:
        writer.close()
    in_town = np.zeros(len(units), dtype=bool)
    in_town[np.array(sorted(town_nodes), dtype=np.int64) - 1] = True
    return RegionalRoads(
        node_lonlat=lonlat,
        node_units=units,
        in_town=in_town,
        town_units=towns.astype(float).reshape(-1, 2),
        ways=len(lines),
        size_km=size_km,
    )
