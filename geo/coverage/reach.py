"""Reach-bounded routing: only the (unit, site) pairs that can be within the limit.

No drive covers more than :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` in a straight line,
so pairs farther apart than the limit's reach are never routed (:func:`pairs_in_reach`, a 2-D
index on the sphere); the rest are routed in blocks per destination (:func:`route_pairs`).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from geo.coverage.inputs import (
    MAX_SPEED_KMH,
    IntArray,
    Progress,
    seconds_to_minutes,
)
from geo.geodesy import EARTH_RADIUS_KM, KM_PER_DEG, haversine_km, pairwise_km
from geo.routing.base import NearestResult, Router, concat_nearest, reach_bound_m
from geo.types import EngineInfo, FloatArray


# --------------------------------------------------------------------------------------------
# Nearest site for every unit (chunked)
# --------------------------------------------------------------------------------------------
def _empty_nearest(n: int, engine: EngineInfo) -> NearestResult:
    nan = np.full(n, np.nan)
    return NearestResult(
        index=np.full(n, -1, dtype=np.int64),
        duration_s=nan,
        lower_s=nan.copy(),
        upper_s=nan.copy(),
        distance_m=nan.copy(),
        engine=engine,
        edge_warning=np.zeros(n, dtype=bool),
        method=np.full(n, "none"),
    )


def without_second_opinions(router: Router) -> Router:
    """``router`` with its second opinions switched off (a shallow copy; else ``router``).

    Coverage reports one time per unit and never reads a second engine's opinion
    (:mod:`geo.routing.second_opinion`), so asking for one would only cost time: the copy's
    band is empty, so no time falls in it. The ``auto`` engine's local engines are switched
    off the same way. Answers, labels and provenance are unchanged.
    """
    from geo.routing.second_opinion import SecondOpinionRouter

    if isinstance(router, SecondOpinionRouter):
        quiet = copy.copy(router)
        quiet.band = (math.inf, math.inf)
        return quiet
    local = getattr(router, "local", None)
    if isinstance(local, list) and any(isinstance(r, SecondOpinionRouter) for r in local):
        quiet_auto = copy.copy(router)
        quiet_auto.local = [without_second_opinions(r) for r in local]  # type: ignore[attr-defined]
        return quiet_auto
    return router


def nearest_in_chunks(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    horizon_s: float | None,
    chunk_size: int = 5000,
    progress: Progress | None = None,
) -> NearestResult:
    """:meth:`Router.nearest` over ``origins`` in chunks (for progress and bounded memory).

    Second opinions are not asked (:func:`without_second_opinions`): nothing here uses them.
    """
    router = without_second_opinions(router)
    n = len(origins)
    parts: list[NearestResult] = []
    for start in range(0, n, max(1, chunk_size)):
        parts.append(router.nearest(origins[start : start + chunk_size], destinations, horizon_s))
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    if not parts:
        return _empty_nearest(0, router.info)
    return concat_nearest(parts)


# --------------------------------------------------------------------------------------------
# Reach-bounded routing: only the (unit, site) pairs that can be within the limit
# --------------------------------------------------------------------------------------------
def reach_km(limit_s: float, max_speed_kmh: float = MAX_SPEED_KMH) -> float:
    """Straight-line km beyond which no drive can take at most ``limit_s`` seconds.

    The same bound as the data-edge rule: no drive covers more than ``max_speed_kmh``
    (:data:`geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`) as the crow flies
    (:func:`geo.routing.base.reach_bound_m`, in km).
    """
    return reach_bound_m(float(limit_s), float(max_speed_kmh)) / 1000.0


def _unit_vectors(xy: FloatArray) -> FloatArray:
    lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def pairs_in_reach(
    origins: FloatArray, destinations: FloatArray, radius_km: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (origin, destination) pair at most ``radius_km`` apart on the great circle.

    A 2-D spatial index on the sphere: both point sets go into KD-trees on unit vectors, where
    the chord length is a monotone function of the great-circle distance, so the query radius
    is exact at any latitude (no latitude bands, no projection distortion). The candidates are
    then checked with the haversine distance (km), the same formula as the data-edge rule.
    Points with NaN coordinates never pair.

    Returns
    -------
    origin, destination : numpy.ndarray of int64
        Positions in the inputs, sorted by destination then origin.
    km : numpy.ndarray
        Great-circle km of each pair.
    """
    o_ok = np.flatnonzero(np.isfinite(origins).all(axis=1))
    d_ok = np.flatnonzero(np.isfinite(destinations).all(axis=1))
    empty = np.zeros(0, dtype=np.int64)
    if o_ok.size == 0 or d_ok.size == 0 or not radius_km >= 0:
        return empty, empty.copy(), np.zeros(0)
    angle = min(radius_km / EARTH_RADIUS_KM, math.pi)
    chord = 2.0 * math.sin(angle / 2.0) * (1 + 1e-9) + 1e-12
    t_o = cKDTree(_unit_vectors(origins[o_ok]))
    t_d = cKDTree(_unit_vectors(destinations[d_ok]))
    found = t_d.sparse_distance_matrix(t_o, chord, output_type="ndarray")
    di = d_ok[found["i"].astype(np.int64)]
    oi = o_ok[found["j"].astype(np.int64)]
    km = pairwise_km(origins[oi], destinations[di])
    keep = km <= radius_km
    oi, di, km = oi[keep], di[keep], km[keep]
    order = np.lexsort((oi, di))
    return oi[order], di[order], km[order]


BLOCK_KM = 50.0
"""Destinations within one cell of this size (km) are asked in one table call: sites and
candidate hospitals cluster in cities, and a table engine answers (the places near any of them)
× (all of them) at little more than the cost of one of them (OSRM: a search per place). 81
Chicago hospitals × their 2,245 places in reach on the national synthetic graph: 4.7 s of CPU in
one call vs 31 s one call per hospital."""


@dataclass(frozen=True)
class PairTimes:
    """Drive times of sparse (origin → destination) pairs, with per-pair provenance."""

    duration_s: FloatArray
    distance_m: FloatArray
    estimated: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.object_]
    edge_warning: npt.NDArray[np.bool_]
    engine: EngineInfo
    calls: int
    """Engine calls made (one per block of destinations)."""
    cells: int = 0
    """Table cells computed (origins × destinations of every call; at least the pairs)."""


def destination_cells(xy: FloatArray, block_km: float) -> IntArray:
    """A cell number per point: cells of about ``block_km`` × ``block_km`` (lon/lat grid whose
    column width follows the latitude of its row). NaN points get -1."""
    dlat = float(block_km) / KM_PER_DEG
    ok = np.isfinite(xy).all(axis=1)
    row = np.floor(np.where(ok, xy[:, 1], 0.0) / dlat)
    coslat = np.clip(np.cos(np.radians((row + 0.5) * dlat)), 0.05, None)
    col = np.floor(np.where(ok, xy[:, 0], 0.0) * coslat / dlat)
    return np.where(ok, row.astype(np.int64) * 1_000_000 + col.astype(np.int64), -1)


def route_pairs(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    oi: IntArray,
    di: IntArray,
    *,
    block_km: float | None = BLOCK_KM,
) -> PairTimes:
    """Drive times for exactly the pairs ``(origins[oi[k]] → destinations[di[k]])``.

    Pairs are blocked by destination: the destinations of one cell of ``block_km``
    (:func:`destination_cells`; ``None``: each destination alone) make one table call through
    :meth:`Router.drive_times` (the exact table engine where the router has one) of (every
    origin paired with any of them) × (them). Only the asked pairs are read from it; the extra
    cells are the price of one call instead of many (``cells`` counts them). Direction: origin
    (population unit) → destination (site).
    """
    n = len(oi)
    dur = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    est = np.zeros(n, dtype=bool)
    labels = np.full(n, router.info.label, dtype=object)
    edge = np.zeros(n, dtype=bool)
    if n == 0:
        return PairTimes(dur, dist, est, labels, edge, router.info, 0, 0)
    key = di if block_km is None else destination_cells(destinations, block_km)[di]
    order = np.argsort(key, kind="stable")
    _, starts = np.unique(key[order], return_index=True)
    bounds = [*starts.tolist(), n]
    cells = 0
    for a, b in itertools.pairwise(bounds):  # one engine call per block of destinations
        rows = order[a:b]
        dests, dloc = np.unique(di[rows], return_inverse=True)
        orgs, oloc = np.unique(oi[rows], return_inverse=True)
        m = router.drive_times(origins[orgs], destinations[dests])
        cells += len(orgs) * len(dests)
        dur[rows] = m.duration_s[oloc, dloc]
        dist[rows] = m.distance_m[oloc, dloc]
        est[rows] = m.cell_estimated()[oloc, dloc]
        labels[rows] = m.cell_labels()[oloc, dloc]
        if m.edge_warning is not None:
            edge[rows] = m.edge_warning[oloc, dloc]
    return PairTimes(dur, dist, est, labels, edge, router.info, len(bounds) - 1, cells)


def nearest_in_reach_chunks(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    limit_s: float,
    chunk_size: int = 5000,
    progress: Progress | None = None,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[NearestResult, ReachStats]:
    """:func:`nearest_in_reach` over ``origins`` in chunks; the counts are summed."""
    n = len(origins)
    parts: list[NearestResult] = []
    stats: list[ReachStats] = []
    for start in range(0, n, max(1, chunk_size)):
        near, st = nearest_in_reach(
            router,
            origins[start : start + chunk_size],
            destinations,
            limit_s,
            max_speed_kmh=max_speed_kmh,
        )
        parts.append(near)
        stats.append(st)
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    radius = reach_km(limit_s, max_speed_kmh)
    total = ReachStats(
        pairs_asked=sum(s.pairs_asked for s in stats),
        pairs_possible=sum(s.pairs_possible for s in stats),
        reach_km=radius,
        max_speed_kmh=float(max_speed_kmh),
        engine_calls=sum(s.engine_calls for s in stats),
    )
    if not parts:
        return _empty_nearest(0, router.info), total
    return concat_nearest(parts), total


@dataclass(frozen=True)
class ReachStats:
    """How much routing a reach-bounded run asked for."""

    pairs_asked: int
    """Pairs whose drive time the engine was asked for (inside the reach)."""
    pairs_possible: int
    """All located origin × destination pairs (what an unbounded run would route)."""
    reach_km: float
    max_speed_kmh: float
    engine_calls: int


def nearest_in_reach(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    limit_s: float,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[NearestResult, ReachStats]:
    """Each origin's quickest destination, routing only the pairs inside the limit's reach.

    A destination farther than :func:`reach_km` in a straight line cannot be within
    ``limit_s``; those pairs are never routed. Per origin:

    - a routed time at most the limit is exact (nothing beyond the reach can beat it);
    - a routed time over the limit is exact only if no site beyond the reach could be quicker
      by the straight-line bound; otherwise only bounds are reported (``lower_s`` from the
      bound, ``upper_s`` the routed time), both over the limit;
    - no site within reach: ``outside`` by bound — ``lower_s`` is the straight line to the
      nearest site at ``max_speed_kmh`` (over the limit), ``upper_s`` NaN, method
      ``screened``;
    - sites within reach but no route to any of them: unknown (NaN bounds), never outside
      (an unbounded run might call it outside when a farther site routes; unknown is the
      cautious answer);
    - an unroutable in-reach cell flagged near the data edge sets ``edge_warning``.
    """
    o = np.asarray(origins, dtype=float).reshape(-1, 2)
    d = np.asarray(destinations, dtype=float).reshape(-1, 2)
    n = len(o)
    radius = reach_km(limit_s, max_speed_kmh)
    oi, di, _ = pairs_in_reach(o, d, radius)
    times = route_pairs(router, o, d, oi, di)
    res = _empty_nearest(n, router.info)
    index, duration, lower, upper, distance = (
        res.index.copy(),
        res.duration_s.copy(),
        res.lower_s.copy(),
        res.upper_s.copy(),
        res.distance_m.copy(),
    )
    method = np.full(n, "screened", dtype=object)
    labels = np.full(n, router.info.label, dtype=object)
    estimated = np.zeros(n, dtype=bool)
    edge = np.zeros(n, dtype=bool)
    # Quickest finite routed pair per origin (vectorised: sort by origin, then time).
    finite = np.isfinite(times.duration_s)
    fo = oi[finite]
    order = np.lexsort((times.duration_s[finite], fo))
    best_o, first = np.unique(fo[order], return_index=True)
    pick = np.flatnonzero(finite)[order[first]]
    best_s = times.duration_s[pick]
    # Straight-line bound of the quickest site *beyond* the reach, per origin with a pair.
    ok_d = np.isfinite(d).all(axis=1)
    beyond_s = np.full(n, np.inf)
    located = np.flatnonzero(np.isfinite(o).all(axis=1))
    step = max(1, 2_000_000 // max(1, int(ok_d.sum())))
    for s in range(0, len(located), step):  # bounded-memory blocks of the dense bound
        rows = located[s : s + step]
        km = haversine_km(o[rows], d[ok_d])
        km = np.where(km > radius, km, np.inf)
        if km.shape[1]:
            beyond_s[rows] = km.min(axis=1) / max_speed_kmh * 3600.0
    limit_min = round(limit_s / 60.0, 6)
    over = seconds_to_minutes(best_s) > limit_min
    exact = ~over | (beyond_s[best_o] >= best_s)
    ex_o, ex_p = best_o[exact], pick[exact]
    index[ex_o] = di[ex_p]
    duration[ex_o] = best_s[exact]
    lower[ex_o] = best_s[exact]
    upper[ex_o] = best_s[exact]
    distance[ex_o] = times.distance_m[ex_p]
    bo, bp = best_o[~exact], pick[~exact]
    lower[bo] = beyond_s[bo]
    upper[bo] = times.duration_s[bp]
    for rows_o, rows_p in ((ex_o, ex_p), (bo, bp)):
        estimated[rows_o] = times.estimated[rows_p]
        labels[rows_o] = times.labels[rows_p]
        edge[rows_o] = times.edge_warning[rows_p]
        method[rows_o] = np.where(times.estimated[rows_p], "estimated", "routed")
    # No site within the reach at all: outside by the straight-line bound of the nearest site.
    # Sites within the reach but no route to any of them: unknown (the unit may be off the road
    # data), never outside — more cautious than an unbounded run, which would call it outside
    # if some farther site happened to route.
    has_pair = np.zeros(n, dtype=bool)
    has_pair[oi] = True
    has_best = np.zeros(n, dtype=bool)
    has_best[best_o] = True
    none = np.isfinite(o).all(axis=1) & ~has_pair & np.isfinite(beyond_s)
    lower[none] = beyond_s[none]
    method[has_pair & ~has_best] = "routed"
    doubt = np.zeros(n, dtype=bool)
    doubt[oi[~finite & times.edge_warning]] = True
    edge |= doubt
    nearest = NearestResult(
        index=index,
        duration_s=duration,
        lower_s=lower,
        upper_s=upper,
        distance_m=distance,
        engine=router.info,
        edge_warning=edge,
        method=method.astype(str),
        labels=labels.astype(str),
        estimated=estimated,
    )
    located_d = int(ok_d.sum())
    stats = ReachStats(
        pairs_asked=len(oi),
        pairs_possible=len(located) * located_d,
        reach_km=radius,
        max_speed_kmh=float(max_speed_kmh),
        engine_calls=times.calls,
    )
    return nearest, stats
