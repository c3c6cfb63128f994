"""The network a :class:`~geo.routing.synthetic.spec.GridSpec` describes: nodes, OSM ways (in
the order written), turn restrictions and the edge table of the reference
(:func:`grid_network`). See :mod:`geo.routing.synthetic`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import ValidationError
from geo.geodesy import EARTH_RADIUS_M
from geo.routing.synthetic.reference import EdgeTable, shortest_times_s
from geo.routing.synthetic.spec import SIDES, GridSpec
from geo.types import BoolArray, FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SyntheticWay:
    """One OSM way of a synthetic network: node positions (into the node table) and tags."""

    nodes: IntArray
    tags: dict[str, str]


@dataclass(frozen=True)
class RoadNetwork:
    """A synthetic network: nodes, ways, restrictions and the edge table of the reference.

    Attributes
    ----------
    spec
        The layout it was made from.
    node_lonlat
        (N, 2) lon/lat of every node (positions index everything else).
    node_id
        OSM id of every node.
    ways
        The OSM ways, in the order written (way ids are 1, 2, ...).
    restrictions
        (from node, via node, to node, kind) per turn restriction, as node positions.
    restriction_ways
        (from way position, to way position) per restriction.
    edges
        The segments with their length (m, haversine on the mean earth radius) and speed.
    """

    spec: GridSpec
    node_lonlat: FloatArray
    node_id: IntArray
    ways: tuple[SyntheticWay, ...]
    restrictions: tuple[tuple[int, int, int, str], ...]
    restriction_ways: tuple[tuple[int, int], ...]
    edges: EdgeTable

    def node(self, col: npt.ArrayLike, row: npt.ArrayLike) -> IntArray:
        """Positions of main-grid nodes (column, row)."""
        c = np.atleast_1d(np.asarray(col, dtype=np.int64))
        r = np.atleast_1d(np.asarray(row, dtype=np.int64))
        return np.asarray(r * self.spec.n + c, dtype=np.int64)

    @property
    def village(self) -> int:
        """Position of the spur's village node (``spur`` only)."""
        return int(_extra_index(self, self.spec.spur_col, -4))

    def reference_times_s(
        self,
        sources: npt.ArrayLike,
        targets: npt.ArrayLike,
        *,
        speed_factor: float = 1.0,
        turn_s: float = 0.0,
    ) -> FloatArray:
        """Shortest drive times (s) from node positions ``sources`` to ``targets``.

        See :func:`geo.routing.synthetic.reference.shortest_times_s`: one-way streets and turn
        restrictions honoured, U-turns only at dead ends; each segment takes
        ``length_m / (speed_kmh × speed_factor)``; ``turn_s`` seconds are added to every change of
        direction of more than 30°. Returns shape (len(sources), len(targets)); ``inf`` where no
        drive exists.
        """
        return shortest_times_s(
            self.edges,
            self.node_lonlat,
            self.restrictions,
            sources,
            targets,
            speed_factor=speed_factor,
            turn_s=turn_s,
            origin_lat=self.spec.origin_lat,
        )


def _extra_index(net: RoadNetwork, col: float, row: float) -> int:
    """Position of the extra (non-grid) node at grid coordinates (col, row)."""
    target = net.spec.lonlat(col, row)[0]
    d = np.abs(net.node_lonlat - target).sum(axis=1)
    k = int(np.argmin(d))
    if d[k] > 1e-9:
        raise ValidationError(f"no node at grid coordinates ({col}, {row})")
    return k


def _haversine_m(a: FloatArray, b: FloatArray) -> FloatArray:
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=float)


def _runs(present: BoolArray, splits: set[int]) -> list[tuple[int, int]]:
    """Maximal runs [i, j] of nodes along a line joined by present segments, split at ``splits``.

    ``present[k]`` says whether the segment from node k to node k+1 exists.
    """
    out: list[tuple[int, int]] = []
    start: int | None = None
    for k, ok in enumerate(present.tolist()):
        if not ok:
            if start is not None and k > start:
                out.append((start, k))
            start = None
            continue
        if start is None:
            start = k
        if k + 1 in splits:
            out.append((start, k + 1))
            start = k + 1
    if start is not None and len(present) > start:
        out.append((start, len(present)))
    return out


def grid_network(spec: GridSpec | None = None) -> RoadNetwork:
    """The network a spec describes: nodes, ways (in the order written), restrictions, edges."""
    spec = spec or GridSpec()
    n = spec.n
    lonlat: list[FloatArray] = []
    ids: list[IntArray] = []
    # Main grid nodes first (id 1 + row * n + col), then the island's: as written since v1.
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    lonlat.append(spec.lonlat(cols.ravel(), rows.ravel()))
    ids.append(np.arange(1, 1 + n * n, dtype=np.int64))
    grids: list[tuple[int, int]] = [(n, 0)]  # (size, first position)
    if spec.island:
        ni = round(spec.island_size_km / spec.spacing_km) + 1
        offset = (spec.size_km + spec.island_gap_km) / spec.spacing_km
        ci, ri = np.meshgrid(np.arange(ni), np.arange(ni))
        lonlat.append(spec.lonlat(ci.ravel() + offset, ri.ravel()))
        ids.append(np.arange(1 + n * n, 1 + n * n + ni * ni, dtype=np.int64))
        grids.append((ni, n * n))
    n_grid = sum(len(i) for i in ids)

    extra_pos: dict[tuple[float, float], int] = {}
    extra_xy: list[tuple[float, float]] = []

    def extra(col: float, row: float) -> int:
        key = (float(col), float(row))
        if key not in extra_pos:
            extra_pos[key] = n_grid + len(extra_xy)
            extra_xy.append(key)
        return extra_pos[key]

    removed = np.zeros(n * n, dtype=bool)
    if spec.lake is not None:
        c0, r0, c1, r1 = spec.lake
        inside = (cols > c0) & (cols < c1) & (rows > r0) & (rows < r1)
        removed = inside.ravel()
    east = set(spec.oneway_east_rows)
    west = set(spec.oneway_west_rows)
    via_rows: dict[int, set[int]] = {}
    via_cols: dict[int, set[int]] = {}
    for tr in spec.restrictions:
        via_rows.setdefault(tr.row, set()).add(tr.col)
        via_cols.setdefault(tr.col, set()).add(tr.row)

    ways: list[SyntheticWay] = []
    for size, first in grids:
        grid_ids = first + np.arange(size * size, dtype=np.int64).reshape(size, size)
        main = first == 0
        for line in range(size):
            cls = spec.road_class(line)
            base = {"highway": cls, "maxspeed": f"{spec.speeds_kmh[cls]:g}"}
            for is_row, nodes in ((True, grid_ids[line, :]), (False, grid_ids[:, line])):
                gone = removed[nodes] if main else np.zeros(size, dtype=bool)
                present = ~(gone[:-1] | gone[1:])
                splits = (via_rows if is_row else via_cols).get(line, set()) if main else set()
                for i, j in _runs(present, splits):
                    seq = nodes[i : j + 1]
                    tags = dict(base)
                    if main and is_row and line in east:
                        tags["oneway"] = "yes"
                    elif main and is_row and line in west:
                        tags["oneway"] = "yes"
                        seq = seq[::-1]
                    ways.append(SyntheticWay(np.asarray(seq, dtype=np.int64), tags))

    # Motorway lattice: half a cell off the grid; exits by motorway_link to a grid node.
    mw_tags = {"highway": "motorway", "maxspeed": f"{spec.motorway_speed_kmh:g}", "oneway": "no"}
    link_tags = {
        "highway": "motorway_link",
        "maxspeed": f"{spec.link_speed_kmh:g}",
        "oneway": "no",
    }
    lines = spec.motorway_lines()
    for m in lines:
        along = np.arange(n - 1) + 0.5
        row_nodes = [extra(x, m + 0.5) for x in along]
        col_nodes = [extra(m + 0.5, y) for y in along]
        ways.append(SyntheticWay(np.asarray(row_nodes, dtype=np.int64), dict(mw_tags)))
        ways.append(SyntheticWay(np.asarray(col_nodes, dtype=np.int64), dict(mw_tags)))
        for k in range(spec.exit_every, n - 1, spec.exit_every):
            grid_row = int(m * n + k)  # grid node (k, m) below motorway node (k + 0.5, m + 0.5)
            grid_col = int(k * n + m)  # grid node (m, k) left of motorway node (m + 0.5, k + 0.5)
            for mw, g in ((extra(k + 0.5, m + 0.5), grid_row), (extra(m + 0.5, k + 0.5), grid_col)):
                if not removed[g]:
                    ways.append(SyntheticWay(np.array([mw, g], dtype=np.int64), dict(link_tags)))

    if spec.spur:
        sc = spec.spur_col
        res = {"highway": "residential", "maxspeed": f"{spec.speeds_kmh['residential']:g}"}
        road_in = [sc] + [extra(sc, -k) for k in range(1, 5)]
        road_out = (
            [extra(sc + k, -4) for k in range(0, 11)]
            + [extra(sc + 10, -k) for k in range(3, 0, -1)]
            + [sc + 10]
        )
        for spur_road in (road_in, road_out):
            ways.append(
                SyntheticWay(np.asarray(spur_road, dtype=np.int64), {**res, "oneway": "yes"})
            )

    if extra_xy:
        xy = np.asarray(extra_xy, dtype=float)
        lonlat.append(spec.lonlat(xy[:, 0], xy[:, 1]))
        first_id = int(ids[-1][-1]) + 1
        ids.append(np.arange(first_id, first_id + len(extra_xy), dtype=np.int64))
    node_lonlat = np.concatenate(lonlat)
    node_id = np.concatenate(ids)

    restrictions: list[tuple[int, int, int, str]] = []
    restriction_ways: list[tuple[int, int]] = []
    for tr in spec.restrictions:
        via = tr.row * n + tr.col
        fc, fr = SIDES[tr.from_side]
        tc, tr_ = SIDES[tr.to_side]
        p = (tr.row + fr) * n + tr.col + fc
        q = (tr.row + tr_) * n + tr.col + tc
        restrictions.append((int(p), int(via), int(q), tr.kind))
        restriction_ways.append((_way_with(ways, p, via), _way_with(ways, via, q)))

    u_parts, v_parts, spd, one, hw = [], [], [], [], []
    for w in ways:
        u_parts.append(w.nodes[:-1])
        v_parts.append(w.nodes[1:])
        k = len(w.nodes) - 1
        spd.append(np.full(k, float(w.tags["maxspeed"])))
        one.append(np.full(k, w.tags.get("oneway") == "yes"))
        hw.append(np.full(k, w.tags["highway"]))
    u = np.concatenate(u_parts)
    v = np.concatenate(v_parts)
    edges = EdgeTable(
        u=u.astype(np.int64),
        v=v.astype(np.int64),
        length_m=_haversine_m(node_lonlat[u], node_lonlat[v]),
        speed_kmh=np.concatenate(spd),
        oneway=np.concatenate(one),
        highway=np.concatenate(hw),
    )
    return RoadNetwork(
        spec=spec,
        node_lonlat=node_lonlat,
        node_id=node_id,
        ways=tuple(ways),
        restrictions=tuple(restrictions),
        restriction_ways=tuple(restriction_ways),
        edges=edges,
    )


def _way_with(ways: list[SyntheticWay], a: int, b: int) -> int:
    """Position of the way that has the segment a–b ending or starting at the junction."""
    for k, w in enumerate(ways):
        nodes = w.nodes.tolist()
        if (nodes[:2] == [a, b] or nodes[-2:] == [a, b]) or (
            nodes[:2] == [b, a] or nodes[-2:] == [b, a]
        ):
            return k
    raise ValidationError(f"no way ends at the restricted junction between nodes {a} and {b}")


__all__ = ["RoadNetwork", "SyntheticWay", "grid_network"]
