"""Synthetic road grids as OpenStreetMap PBF files, for tests and benchmarks.

A square grid of ``size_km`` × ``size_km`` with a road every ``spacing_km``. Every
``primary_every``-th row and column is a fast road (``highway=primary``), the others are slow
(``highway=residential``); each way carries ``maxspeed`` so Valhalla uses exactly the speed given.
An optional *island* is a small grid east of the main one with no road to it: every trip between
the two is unreachable.

Because the speeds are known, the shortest drive time between two grid nodes can be computed by
hand (:meth:`GridSpec.dijkstra_s`, Dijkstra on the same grid) and compared with the engine.
Valhalla adds about 2 s per turn and its lengths are ~0.1 % longer (a different earth radius), and
its fastest routes avoid the outermost roads: keep test points two cells from the border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from geo.types import FloatArray

KM_PER_DEG_LAT = 6371.0088 * math.pi / 180.0
"""Kilometres per degree of latitude (mean earth radius)."""


@dataclass(frozen=True)
class GridSpec:
    """How a synthetic grid was laid out (everything needed to predict drive times)."""

    size_km: float = 100.0
    spacing_km: float = 1.0
    origin_lon: float = 0.05
    origin_lat: float = 0.05
    primary_every: int = 10
    speeds_kmh: dict[str, float] = field(
        default_factory=lambda: {"primary": 80.0, "residential": 40.0}
    )
    island: bool = False
    island_size_km: float = 10.0
    island_gap_km: float = 20.0
    timestamp: str = "2024-01-01T00:00:00Z"

    @property
    def n(self) -> int:
        """Nodes per row/column of the main grid."""
        return round(self.size_km / self.spacing_km) + 1

    @property
    def deg_lat(self) -> float:
        """Degrees of latitude per grid step."""
        return self.spacing_km / KM_PER_DEG_LAT

    @property
    def deg_lon(self) -> float:
        """Degrees of longitude per grid step (at the grid's middle latitude)."""
        mid = self.origin_lat + (self.n - 1) * self.deg_lat / 2
        return self.spacing_km / (KM_PER_DEG_LAT * math.cos(math.radians(mid)))

    def lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of grid coordinates (column, row), fractional allowed; shape (n, 2)."""
        c = np.atleast_1d(np.asarray(col, dtype=float))
        r = np.atleast_1d(np.asarray(row, dtype=float))
        return np.stack([self.origin_lon + c * self.deg_lon, self.origin_lat + r * self.deg_lat], 1)

    def island_lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of a node of the island grid (only meaningful when ``island``)."""
        offset = (self.size_km + self.island_gap_km) / self.spacing_km
        return self.lonlat(np.asarray(col, dtype=float) + offset, row)

    def road_class(self, index: int) -> str:
        """Road class of row/column ``index`` of the main grid."""
        return "primary" if index % self.primary_every == 0 else "residential"

    def dijkstra_s(self, sources: list[tuple[int, int]]) -> FloatArray:
        """Shortest drive times (s) from grid nodes ``(col, row)`` to every node (no turn costs).

        Returns an array of shape (len(sources), n_rows, n_cols).
        """
        import heapq

        n = self.n
        # Seconds to cross one cell along row r (horizontal) or column c (vertical).
        row_s = [self.spacing_km / self.speeds_kmh[self.road_class(r)] * 3600.0 for r in range(n)]
        col_s = [self.spacing_km / self.speeds_kmh[self.road_class(c)] * 3600.0 for c in range(n)]
        out = np.full((len(sources), n, n), np.inf)
        for k, (c0, r0) in enumerate(sources):
            best = out[k]
            best[r0, c0] = 0.0
            heap: list[tuple[float, int, int]] = [(0.0, r0, c0)]
            while heap:
                t, r, c = heapq.heappop(heap)
                if t > best[r, c]:
                    continue
                for rr, cc, dt in (
                    (r, c - 1, row_s[r]),
                    (r, c + 1, row_s[r]),
                    (r - 1, c, col_s[c]),
                    (r + 1, c, col_s[c]),
                ):
                    if 0 <= rr < n and 0 <= cc < n and t + dt < best[rr, cc]:
                        best[rr, cc] = t + dt
                        heapq.heappush(heap, (t + dt, rr, cc))
        return out


def write_grid_pbf(path: Path | str, spec: GridSpec | None = None) -> GridSpec:
    """Write a synthetic road grid to ``path`` (an ``.osm.pbf``); return its spec.

    The file is deterministic: the same spec gives the same bytes.
    """
    import osmium

    spec = spec or GridSpec()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    stamp = datetime.strptime(spec.timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    grids: list[tuple[int, float]] = [(spec.n, 0.0)]
    if spec.island:
        n_island = round(spec.island_size_km / spec.spacing_km) + 1
        grids.append((n_island, (spec.size_km + spec.island_gap_km) / spec.spacing_km))
    writer = osmium.SimpleWriter(str(path))
    try:
        node_id = 1
        node_ids: list[npt.NDArray[np.int64]] = []
        for n, offset in grids:
            ids = np.arange(node_id, node_id + n * n, dtype=np.int64).reshape(n, n)  # [row, col]
            cols, rows = np.meshgrid(np.arange(n), np.arange(n))
            ll = spec.lonlat(cols.ravel() + offset, rows.ravel())
            for k, (lon, lat) in zip(ids.ravel().tolist(), ll.tolist(), strict=True):
                writer.add_node(
                    osmium.osm.mutable.Node(id=k, location=(lon, lat), version=1, timestamp=stamp)
                )
            node_ids.append(ids)
            node_id += n * n
        way_id = 1
        for ids in node_ids:
            n = ids.shape[0]
            for line in range(n):
                cls = spec.road_class(line)
                tags = {"highway": cls, "maxspeed": f"{spec.speeds_kmh[cls]:g}"}
                for nodes in (ids[line, :], ids[:, line]):  # a row, then a column
                    writer.add_way(
                        osmium.osm.mutable.Way(
                            id=way_id,
                            nodes=nodes.tolist(),
                            tags=tags,
                            version=1,
                            timestamp=stamp,
                        )
                    )
                    way_id += 1
    finally:
        writer.close()
    return spec


__all__ = ["KM_PER_DEG_LAT", "GridSpec", "write_grid_pbf"]
