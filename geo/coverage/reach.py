"""Reach-bounded routing: only the (unit, site) pairs that can be within the limit.

No drive covers more than :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` in a straight line,
so pairs farther apart than the limit's reach are never routed (:func:`pairs_in_reach`, a 2-D
index on the sphere); the rest are routed in blocks of destinations (:func:`route_pairs`; both
in :mod:`geo.coverage.pairs`) and each unit gets its nearest site (:func:`nearest_from_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.coverage.inputs import (
    MAX_SPEED_KMH,
    IntArray,
    Progress,
    seconds_to_minutes,
)
from geo.coverage.pairs import PairTimes, pairs_in_reach, route_pairs
from geo.geodesy import haversine_km
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


def nearest_in_chunks(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    horizon_s: float | None,
    chunk_size: int = 5000,
    progress: Progress | None = None,
) -> NearestResult:
    """:meth:`Router.nearest` over ``origins`` in chunks (for progress and bounded memory).

    Second opinions are not asked (:meth:`Router.without_second_opinions`, which reaches through
    the process memory and ``auto``'s local engines): nothing here uses them.
    """
    router = router.without_second_opinions()
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
    progress: Progress | None = None,
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
    oi, di, _ = pairs_in_reach(o, d, reach_km(limit_s, max_speed_kmh))
    times = route_pairs(router, o, d, oi, di, progress=progress)
    return nearest_from_pairs(o, d, oi, di, times, limit_s, max_speed_kmh=max_speed_kmh)


def nearest_from_pairs(
    o: FloatArray,
    d: FloatArray,
    oi: IntArray,
    di: IntArray,
    times: PairTimes,
    limit_s: float,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[NearestResult, ReachStats]:
    """:func:`nearest_in_reach` from the routed pairs ``(oi, di)`` of :func:`pairs_in_reach`
    (``o``, ``d``: lon/lat arrays; ``times``: their drive times, wherever they were routed)."""
    n = len(o)
    engine = times.engine
    radius = reach_km(limit_s, max_speed_kmh)
    res = _empty_nearest(n, engine)
    index, duration, lower, upper, distance = (
        res.index.copy(),
        res.duration_s.copy(),
        res.lower_s.copy(),
        res.upper_s.copy(),
        res.distance_m.copy(),
    )
    method = np.full(n, "screened", dtype=object)
    labels = np.full(n, engine.label, dtype=object)
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
        engine=engine,
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
