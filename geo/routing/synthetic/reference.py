"""The independent reference of the truth harness: shortest drive times on a synthetic network.

Dijkstra (``scipy.sparse.csgraph``) on the edge-expanded graph of an :class:`EdgeTable`: a state
is a directed segment, so one-way streets and turn restrictions are honoured exactly; U-turns
only at dead ends. It shares nothing with the routing engines (``tests/truth``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.types import BoolArray, FloatArray

IntArray = npt.NDArray[np.int64]


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


def shortest_times_s(
    edges: EdgeTable,
    node_lonlat: FloatArray,
    restrictions: Sequence[tuple[int, int, int, str]],
    sources: npt.ArrayLike,
    targets: npt.ArrayLike,
    *,
    speed_factor: float = 1.0,
    turn_s: float = 0.0,
    origin_lat: float = 0.0,
) -> FloatArray:
    """Shortest drive times (s) from node positions ``sources`` to ``targets``.

    Dijkstra (scipy.sparse.csgraph) on the edge-expanded graph: a state is a directed
    segment, so one-way streets and turn restrictions are honoured exactly; U-turns are
    allowed only at dead ends. Each segment takes ``length_m / (speed_kmh × speed_factor)``;
    ``turn_s`` seconds are added to every change of direction of more than 30°.
    Turn angles are measured on ``node_lonlat`` with longitudes scaled by the cosine of
    ``origin_lat`` (degrees). Returns shape (len(sources), len(targets)); ``inf`` where no
    drive exists.
    """
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
    from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

    src = np.atleast_1d(np.asarray(sources, dtype=np.int64))
    tgt = np.atleast_1d(np.asarray(targets, dtype=np.int64))
    e = edges
    n_nodes = len(node_lonlat)
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
    for p, via, q, kind in restrictions:
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
        xy = node_lonlat * np.array([math.cos(math.radians(origin_lat)), 1.0])
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


__all__ = ["EdgeTable", "shortest_times_s"]
