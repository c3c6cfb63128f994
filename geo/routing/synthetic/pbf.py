"""Writing a synthetic network as an OpenStreetMap ``.osm.pbf`` (deterministic bytes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from geo.routing.synthetic.network import RoadNetwork, grid_network
from geo.routing.synthetic.spec import GridSpec


def write_grid_pbf(path: Path | str, spec: GridSpec | None = None) -> GridSpec:
    """Write a synthetic road network to ``path`` (an ``.osm.pbf``); return its spec.

    The file is deterministic: the same spec gives the same bytes. Use :func:`grid_network` for
    the same network as an edge table (the independent reference).
    """
    write_network_pbf(path, spec)
    return spec or GridSpec()


def write_network_pbf(path: Path | str, spec: GridSpec | None = None) -> RoadNetwork:
    """Write the network of ``spec`` to ``path`` (an ``.osm.pbf``) and return it."""
    import osmium

    net = grid_network(spec)
    spec = net.spec
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    stamp = datetime.strptime(spec.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    used = np.zeros(len(net.node_id), dtype=bool)
    for w in net.ways:
        used[w.nodes] = True
    writer = osmium.SimpleWriter(str(path))
    try:
        for k in np.flatnonzero(used).tolist():
            lon, lat = net.node_lonlat[k].tolist()
            writer.add_node(
                osmium.osm.mutable.Node(
                    id=int(net.node_id[k]), location=(lon, lat), version=1, timestamp=stamp
                )
            )
        for way_id, w in enumerate(net.ways, start=1):
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way_id,
                    nodes=net.node_id[w.nodes].tolist(),
                    tags=w.tags,
                    version=1,
                    timestamp=stamp,
                )
            )
        for rel_id, ((_, via, _, kind), (wf, wt)) in enumerate(
            zip(net.restrictions, net.restriction_ways, strict=True), start=1
        ):
            members: list[tuple[str, int, str]] = [
                ("w", wf + 1, "from"),
                ("n", int(net.node_id[via]), "via"),
                ("w", wt + 1, "to"),
            ]
            tags: dict[str, Any] = {"type": "restriction", "restriction": kind}
            writer.add_relation(
                osmium.osm.mutable.Relation(
                    id=rel_id, members=members, tags=tags, version=1, timestamp=stamp
                )
            )
    finally:
        writer.close()
    return net


__all__ = ["write_grid_pbf", "write_network_pbf"]
