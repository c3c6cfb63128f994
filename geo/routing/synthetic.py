"""Synthetic road networks as OpenStreetMap PBF files, with an independent reference for tests.

A square grid of ``size_km`` × ``size_km`` with a road every ``spacing_km``. Every
``primary_every``-th row and column is a fast road (``highway=primary``), the others are slow
(``highway=residential``); every way carries ``maxspeed``. Optional features, each off by
default (the default spec writes the same bytes as before they existed):

* **island** — a small grid east of the main one with no road to it: every trip between the two
  is unreachable (no ferry either).
* **motorway lattice** (``motorway_every``) — ``highway=motorway`` (``maxspeed`` =
  ``motorway_speed_kmh``, ``oneway=no``) along rows and columns half a cell off the grid, so they
  cross the streets on bridges (no shared node); motorways share a node where they cross each
  other. They connect to the grid only at exits: a ``highway=motorway_link`` from the motorway
  node next to every ``exit_every``-th grid line down to that grid node.
* **one-way rows** (``oneway_east_rows``/``oneway_west_rows``) — ``oneway=yes`` streets.
* **one-way spur** (``spur``) — a village south of the grid reached by a short one-way road in
  (4 cells) and left by a long one-way road out (14 cells): trips to and from it differ by a
  known amount.
* **turn restrictions** (``restrictions``) — OSM relations ``type=restriction`` at chosen grid
  junctions (the ways are split there, as OSM requires).
* **lake** (``lake``) — the grid's roads strictly inside a rectangle are left out: its middle is
  kilometres from any road.

:func:`grid_network` returns the network as nodes, ways and an edge table (from node, to node,
length in m, speed in km/h, one-way); :meth:`RoadNetwork.reference_times_s` computes shortest
drive times on it with scipy's Dijkstra on the edge-expanded graph, honouring one-way streets and
turn restrictions (no U-turns except at dead ends). It shares nothing with the routing engines:
it is the independent reference of the truth harness (``tests/truth``). Engines add turn costs
and apply their own speed models (OSRM's car profile drives at 80 % of ``maxspeed``);
:meth:`GridSpec.dijkstra_s` remains as the simple hand reference of the plain grid.
Keep test points two cells from the border: Valhalla's fastest routes avoid the outermost roads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import ValidationError
from geo.geodesy import EARTH_RADIUS_M, KM_PER_DEG
from geo.types import BoolArray, FloatArray

KM_PER_DEG_LAT = KM_PER_DEG
"""Kilometres per degree of latitude (mean earth radius)."""

IntArray = npt.NDArray[np.int64]
_SIDES: dict[str, tuple[int, int]] = {"W": (-1, 0), "E": (1, 0), "S": (0, -1), "N": (0, 1)}


@dataclass(frozen=True)
class TurnRestriction:
    """An OSM turn restriction at grid junction (``col``, ``row``) of the main grid.

    ``from_side`` is the arm the driver arrives from and ``to_side`` the arm they leave by, each
    one of ``W``, ``E``, ``S``, ``N`` (so arriving from ``W`` means driving east). ``kind`` is the
    OSM ``restriction`` value: ``no_*`` forbids this one turn, ``only_*`` forbids every other
    way out for a driver arriving from ``from_side`` (e.g. ``only_straight_on``).
    """

    col: int
    row: int
    from_side: str
    to_side: str
    kind: str = "no_left_turn"

    def __post_init__(self) -> None:
        if self.from_side not in _SIDES or self.to_side not in _SIDES:
            raise ValidationError("turn restriction sides must be one of W, E, S, N")
        if not (self.kind.startswith("no_") or self.kind.startswith("only_")):
            raise ValidationError(f"turn restriction kind must be no_* or only_*: {self.kind}")


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
    motorway_every: int = 0
    """A motorway every this many cells, rows and columns (0: none)."""
    motorway_speed_kmh: float = 110.0
    exit_every: int = 10
    """A motorway exit at every this many grid lines crossed."""
    link_speed_kmh: float = 60.0
    oneway_east_rows: tuple[int, ...] = ()
    oneway_west_rows: tuple[int, ...] = ()
    spur: bool = False
    restrictions: tuple[TurnRestriction, ...] = ()
    lake: tuple[int, int, int, int] | None = None
    """(col0, row0, col1, row1): grid roads strictly inside this rectangle are left out."""

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

    @property
    def spur_col(self) -> int:
        """Grid column where the one-way spur's road in starts (a primary column)."""
        return (self.n // 2) // self.primary_every * self.primary_every

    def lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of grid coordinates (column, row), fractional allowed; shape (n, 2)."""
        c = np.atleast_1d(np.asarray(col, dtype=float))
        r = np.atleast_1d(np.asarray(row, dtype=float))
        return np.stack([self.origin_lon + c * self.deg_lon, self.origin_lat + r * self.deg_lat], 1)

    def island_lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of a node of the island grid (only meaningful when ``island``)."""
        offset = (self.size_km + self.island_gap_km) / self.spacing_km
        return self.lonlat(np.asarray(col, dtype=float) + offset, row)

    def village_lonlat(self) -> FloatArray:
        """(lon, lat) of the spur's village (only meaningful when ``spur``); shape (1, 2)."""
        return self.lonlat(self.spur_col, -4)

    def lake_centre_lonlat(self) -> FloatArray:
        """(lon, lat) of the middle of the lake (only meaningful with ``lake``); shape (1, 2)."""
        if self.lake is None:
            raise ValidationError("this grid has no lake")
        c0, r0, c1, r1 = self.lake
        return self.lonlat((c0 + c1) / 2, (r0 + r1) / 2)

    def road_class(self, index: int) -> str:
        """Road class of row/column ``index`` of the main grid."""
        return "primary" if index % self.primary_every == 0 else "residential"

    def motorway_lines(self) -> list[int]:
        """Grid indices m whose motorway runs at m + 0.5 (rows and columns alike)."""
        if self.motorway_every <= 0:
            return []
        return list(range(self.motorway_every, self.n - 1, self.motorway_every))

    def dijkstra_s(self, sources: list[tuple[int, int]]) -> FloatArray:
        """Shortest drive times (s) from grid nodes ``(col, row)`` to every node (no turn costs).

        The plain grid only (primary and residential roads at nominal spacing; the optional
        features are ignored: use :meth:`RoadNetwork.reference_times_s` for them).
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


@dataclass(frozen=True)
class SyntheticWay:
    """One OSM way of a synthetic network: node positions (into the node table) and tags."""

    nodes: IntArray
    tags: dict[str, str]


@dataclass(frozen=True)
class EdgeTable:
    """Road segments between consecutive way nodes (one row per segment).

    ``oneway`` segments can be driven from ``u`` to ``v`` only.
    """

    u: IntArray
    v: IntArray
    length_m: FloatArray
    speed_kmh: FloatArray
    oneway: BoolArray
    highway: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.u)


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

        Dijkstra (scipy.sparse.csgraph) on the edge-expanded graph: a state is a directed
        segment, so one-way streets and turn restrictions are honoured exactly; U-turns are
        allowed only at dead ends. Each segment takes ``length_m / (speed_kmh × speed_factor)``;
        ``turn_s`` seconds are added to every change of direction of more than 30°.
        Returns shape (len(sources), len(targets)); ``inf`` where no drive exists.
        """
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
        from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

        src = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        tgt = np.atleast_1d(np.asarray(targets, dtype=np.int64))
        e = self.edges
        n_nodes = len(self.node_lonlat)
        two = ~e.oneway
        tail = np.concatenate([e.u, e.v[two]])
        head = np.concatenate([e.v, e.u[two]])
        secs = e.length_m / (e.speed_kmh * speed_factor / 3.6)
        cost = np.concatenate([secs, secs[two]])
        n_arcs = len(tail)
        order = np.argsort(tail, kind="stable")
        start = np.searchsorted(tail[order], np.arange(n_nodes + 1))
        outdeg = np.diff(start)
        # Transitions a → b where b leaves the node a arrives at.
        cnt = outdeg[head]
        a = np.repeat(np.arange(n_arcs), cnt)
        offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        b = order[start[head[a]] + offs]
        # Undirected degree: a U-turn (b returns to a's tail) only where the road ends.
        pairs = np.unique(np.sort(np.stack([e.u, e.v], 1), axis=1), axis=0)
        degree = np.bincount(pairs.ravel(), minlength=n_nodes)
        uturn = head[b] == tail[a]
        keep = ~uturn | (degree[head[a]] <= 1)
        arc_key = tail * n_nodes + head
        key_order = np.argsort(arc_key)

        def arc_of(t: int, h: int) -> int | None:
            k = int(np.searchsorted(arc_key[key_order], t * n_nodes + h))
            if k < n_arcs and arc_key[key_order[k]] == t * n_nodes + h:
                return int(key_order[k])
            return None

        banned: list[int] = []
        for p, via, q, kind in self.restrictions:
            fa, ta = arc_of(p, via), arc_of(via, q)
            if fa is None or ta is None:
                continue
            if kind.startswith("no_"):
                banned.append(fa * n_arcs + ta)
            else:
                others = order[start[via] : start[via + 1]]
                banned.extend(fa * n_arcs + int(o) for o in others if o != ta)
        if banned:
            keep &= ~np.isin(a * n_arcs + b, np.asarray(banned, dtype=np.int64))
        a, b = a[keep], b[keep]
        weight = cost[b]
        if turn_s:
            xy = self.node_lonlat * np.array([math.cos(math.radians(self.spec.origin_lat)), 1.0])
            va = xy[head[a]] - xy[tail[a]]
            vb = xy[head[b]] - xy[tail[b]]
            cos = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
            weight = weight + turn_s * (cos < math.cos(math.radians(30.0)))
        # Virtual nodes: source i → segments leaving it; segments arriving → target j.
        s_base, t_base = n_arcs, n_arcs + len(src)
        s_rows, s_cols = _grouped(np.arange(len(src)) + s_base, src, order, start)
        in_order = np.argsort(head, kind="stable")
        in_start = np.searchsorted(head[in_order], np.arange(n_nodes + 1))
        t_cols, t_rows = _grouped(np.arange(len(tgt)) + t_base, tgt, in_order, in_start)
        rows = np.concatenate([a, s_rows, t_rows])
        cols = np.concatenate([b, s_cols, t_cols])
        tiny = 1e-9  # scipy drops explicit zeros: an arrival costs (next to) nothing
        data = np.concatenate([weight, cost[s_cols], np.full(len(t_rows), tiny)])
        size = t_base + len(tgt)
        graph = csr_matrix((data, (rows, cols)), shape=(size, size))
        dist = dijkstra(graph, directed=True, indices=s_base + np.arange(len(src)))
        out = np.asarray(dist[:, t_base:], dtype=float) - tiny
        out[src[:, None] == tgt[None, :]] = 0.0
        return np.where(np.isfinite(out), np.maximum(out, 0.0), np.inf)


def _grouped(
    labels: IntArray, nodes: IntArray, order: IntArray, start: IntArray
) -> tuple[IntArray, IntArray]:
    """(label, arc) pairs: every arc of ``order[start[v]:start[v + 1]]`` for each node v of
    ``nodes``, paired with that node's label (vectorised)."""
    counts = start[nodes + 1] - start[nodes]
    first = np.repeat(start[nodes], counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(labels, counts), order[first + offs]


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
        fc, fr = _SIDES[tr.from_side]
        tc, tr_ = _SIDES[tr.to_side]
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


__all__ = [
    "KM_PER_DEG_LAT",
    "EdgeTable",
    "GridSpec",
    "RoadNetwork",
    "SyntheticWay",
    "TurnRestriction",
    "grid_network",
    "write_grid_pbf",
    "write_network_pbf",
]
