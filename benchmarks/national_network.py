"""A national-size synthetic road network over the contiguous U.S. extent (generated, not shipped).

Used by ``bench_national.py``. The network is fake; the places routed on it are real (ZCTA
internal points, NCI centres, HIFLD hospitals), *moved onto the nearest road of the fake
network* first (:func:`snap_to_lattice`), the way a routing engine snaps a place to its nearest
road — the move is reported, so nobody reads these drive times as real ones.

Layout (lon/lat lattice over lon −124.8…−66.9, lat 24.4…49.4):

* **secondary roads** (``highway=secondary``, ``maxspeed`` = ``secondary_kmh``) along every
  meridian and parallel of a lattice with ``spacing_km`` between lines (at the mean latitude);
  they meet at every crossing (shared node);
* **motorways** (``highway=motorway``, ``maxspeed`` = ``motorway_kmh``, ``oneway=no``) parallel
  to every ``motorway_every``-th lattice line, offset by ``offset_km`` so they cross the
  secondary roads on bridges (no shared node); motorways share a node where they cross each
  other; a ``highway=motorway_link`` joins the motorway to the lattice crossing next to it at
  every ``exit_every``-th crossing.

Every way is cut into pieces of at most ``way_nodes`` nodes (OSM ways are short).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from geo.geodesy import KM_PER_DEG

LON0, LON1 = -124.8, -66.9
LAT0, LAT1 = 24.4, 49.4


@dataclass(frozen=True)
class NationalSpec:
    """How the lattice is laid out (km at the mean latitude, speeds in km/h)."""

    spacing_km: float = 10.0
    motorway_every: int = 8
    exit_every: int = 2
    offset_km: float = 1.5
    secondary_kmh: int = 90
    motorway_kmh: int = 120
    way_nodes: int = 50

    @property
    def dlat(self) -> float:
        return self.spacing_km / KM_PER_DEG

    @property
    def dlon(self) -> float:
        return self.spacing_km / (KM_PER_DEG * math.cos(math.radians((LAT0 + LAT1) / 2)))

    @property
    def lons(self) -> npt.NDArray[np.float64]:
        n = math.floor((LON1 - LON0) / self.dlon) + 1
        return np.asarray(LON0 + self.dlon * np.arange(n), dtype=np.float64)

    @property
    def lats(self) -> npt.NDArray[np.float64]:
        n = math.floor((LAT1 - LAT0) / self.dlat) + 1
        return np.asarray(LAT0 + self.dlat * np.arange(n), dtype=np.float64)


@dataclass(frozen=True)
class NetworkStats:
    nodes: int
    ways: int
    secondary_km: float
    motorway_km: float
    pbf_bytes: int


def write_national_pbf(path: Path, spec: NationalSpec) -> NetworkStats:
    """Write the lattice as an OSM PBF at ``path``; returns its size."""
    import osmium

    lons, lats = spec.lons, spec.lats
    nc, nr = len(lons), len(lats)
    off_lat = spec.offset_km / KM_PER_DEG
    off_lon = off_lat * spec.dlon / spec.dlat
    mcols = np.arange(0, nc, spec.motorway_every)[:-1]  # motorway beside these columns
    mrows = np.arange(0, nr, spec.motorway_every)[:-1]

    # Node ids: lattice crossings 1..nc*nr; motorway nodes after them.
    def grid_id(i: npt.ArrayLike, j: npt.ArrayLike) -> npt.NDArray[np.int64]:
        return (np.asarray(j, dtype=np.int64) * nc + np.asarray(i, dtype=np.int64) + 1).astype(
            np.int64
        )

    base = nc * nr + 1
    # Motorway row r (beside lattice row j=mrows[r]) has a node at every lattice column i
    # (bridge over secondary column i) and at every motorway column crossing.
    mrow_id = base + np.arange(len(mrows))[:, None] * nc + np.arange(nc)[None, :]
    base2 = base + len(mrows) * nc
    mcol_id = base2 + np.arange(len(mcols))[:, None] * nr + np.arange(nr)[None, :]
    base3 = base2 + len(mcols) * nr
    cross_id = base3 + np.arange(len(mrows))[:, None] * len(mcols) + np.arange(len(mcols))[None, :]

    writer = osmium.SimpleWriter(str(path))
    n_nodes = 0
    n_ways = 0
    sec_km = mot_km = 0.0
    way_id = 0

    def node(nid: int, lon: float, lat: float) -> None:
        writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), version=1))

    def way(ids: list[int], tags: dict[str, str]) -> None:
        nonlocal way_id, n_ways
        step = max(2, spec.way_nodes) - 1
        for s in range(0, len(ids) - 1, step):
            way_id += 1
            n_ways += 1
            writer.add_way(
                osmium.osm.mutable.Way(id=way_id, nodes=ids[s : s + step + 1], tags=tags, version=1)
            )

    try:
        # Nodes (sorted by id, as OSM files are).
        for j in range(nr):
            for i in range(nc):
                node(int(grid_id(i, j)), float(lons[i]), float(lats[j]))
        n_nodes += nc * nr
        for r, j in enumerate(mrows.tolist()):
            for i in range(nc):
                node(int(mrow_id[r, i]), float(lons[i]), float(lats[j] + off_lat))
        n_nodes += len(mrows) * nc
        for c, i in enumerate(mcols.tolist()):
            for j in range(nr):
                node(int(mcol_id[c, j]), float(lons[i] + off_lon), float(lats[j]))
        n_nodes += len(mcols) * nr
        for r, j in enumerate(mrows.tolist()):
            for c, i in enumerate(mcols.tolist()):
                node(int(cross_id[r, c]), float(lons[i] + off_lon), float(lats[j] + off_lat))
        n_nodes += len(mrows) * len(mcols)
        sec = {"highway": "secondary", "maxspeed": str(spec.secondary_kmh)}
        mot = {"highway": "motorway", "maxspeed": str(spec.motorway_kmh), "oneway": "no"}
        link = {"highway": "motorway_link", "maxspeed": "60", "oneway": "no"}
        mean_cos = math.cos(math.radians((LAT0 + LAT1) / 2))
        for j in range(nr):
            way(grid_id(np.arange(nc), j).tolist(), sec)
            sec_km += (lons[-1] - lons[0]) * KM_PER_DEG * math.cos(math.radians(lats[j]))
        for i in range(nc):
            way(grid_id(i, np.arange(nr)).tolist(), sec)
            sec_km += (lats[-1] - lats[0]) * KM_PER_DEG
        for r, j in enumerate(mrows.tolist()):
            # Along the row: lattice-column bridges, with the motorway-column crossings inserted.
            ids: list[int] = []
            cset = {int(i): c for c, i in enumerate(mcols.tolist())}
            for i in range(nc):
                ids.append(int(mrow_id[r, i]))
                if i in cset:
                    ids.append(int(cross_id[r, cset[i]]))
            way(ids, mot)
            mot_km += (lons[-1] - lons[0]) * KM_PER_DEG * mean_cos
            for i in range(0, nc, spec.exit_every):
                way([int(mrow_id[r, i]), int(grid_id(i, j))], link)
        for c, i in enumerate(mcols.tolist()):
            ids = []
            rset = {int(j): r for r, j in enumerate(mrows.tolist())}
            for j in range(nr):
                ids.append(int(mcol_id[c, j]))
                if j in rset:
                    ids.append(int(cross_id[rset[j], c]))
            way(ids, mot)
            mot_km += (lats[-1] - lats[0]) * KM_PER_DEG
            for j in range(0, nr, spec.exit_every):
                way([int(mcol_id[c, j]), int(grid_id(i, j))], link)
    finally:
        writer.close()
    return NetworkStats(n_nodes, n_ways, sec_km, mot_km, path.stat().st_size)


def snap_to_lattice(
    xy: npt.NDArray[np.float64], spec: NationalSpec
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Move each (lon, lat) onto the nearest secondary road of the lattice (vectorised).

    Returns the moved points, the move in km (NaN where not moved) and which points were inside
    the lattice's extent. Points outside the extent (Alaska, Hawaii, Puerto Rico, islands) are
    left where they are: they are off the network and the engines say so.
    """
    lon, lat = xy[:, 0], xy[:, 1]
    inside = (
        np.isfinite(lon)
        & (lon >= LON0)
        & (lon <= spec.lons[-1])
        & (lat >= LAT0)
        & (lat <= spec.lats[-1])
    )
    col = np.round((lon - LON0) / spec.dlon) * spec.dlon + LON0
    row = np.round((lat - LAT0) / spec.dlat) * spec.dlat + LAT0
    d_col_km = np.abs(lon - col) * KM_PER_DEG * np.cos(np.radians(lat))
    d_row_km = np.abs(lat - row) * KM_PER_DEG
    to_col = d_col_km <= d_row_km
    out = xy.copy()
    out[inside & to_col, 0] = col[inside & to_col]
    out[inside & ~to_col, 1] = row[inside & ~to_col]
    moved = np.where(inside, np.minimum(d_col_km, d_row_km), np.nan)
    return out, moved, inside
