"""Coverage sets: which population units each candidate site covers, as sparse pairs.

Only pairs that *can* be within the limit are timed: a 2-D spatial index on the sphere
(:func:`geo.coverage.pairs_in_reach`) finds every (unit, candidate) pair within the limit's
straight-line reach (exact radius for the estimate engine; ``MAX_SPEED_KMH`` × limit for routing
engines), and only those are timed. A routing engine is asked once per block of candidates
(a cell of :data:`geo.coverage.BLOCK_KM`, :func:`geo.coverage.pair_blocks`) for exactly the
units within their reach (:func:`geo.coverage.route_pairs`), never per chunk of units.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.coverage import (
    BLOCK_KM,
    MAX_SPEED_KMH,
    IntArray,
    Progress,
    pairs_in_reach,
    reach_km,
    route_pairs,
    seconds_to_minutes,
    time_block,
)
from geo.routing.base import Router
from geo.types import EngineInfo, FloatArray


@dataclass(frozen=True)
class CoverageSets:
    """Sparse unit × candidate pairs with a drive of at most ``limit_s``.

    Parallel arrays ``unit``, ``candidate`` (positions in the inputs) and ``duration_s``,
    sorted by candidate then unit.
    """

    unit: IntArray
    candidate: IntArray
    duration_s: FloatArray
    n_units: int
    n_candidates: int
    limit_s: float
    engine: EngineInfo
    pairs_routed: int = 0
    """Pairs whose drive time was computed (inside the straight-line reach)."""
    pairs_possible: int = 0
    """Located units × located candidates (what an unbounded run would time)."""
    engine_calls: int = 0
    """Routing-engine calls made (one per block of candidates with units in reach; 0 for the
    estimate)."""
    elapsed_s: float = 0.0

    def __len__(self) -> int:
        return len(self.unit)

    def units_covered_by(self, candidate: int) -> IntArray:
        lo, hi = np.searchsorted(self.candidate, [candidate, candidate + 1])
        return self.unit[lo:hi]


def _seconds_for_km(router: Router) -> Callable[[FloatArray], FloatArray] | None:
    """The estimate engine's time-from-distance model (no engine call), else None."""
    if not router.is_estimate:
        return None
    model = getattr(router, "seconds_for_km", None)
    return model if callable(model) else None


def screening_radius_km(
    router: Router, limit_s: float, max_speed_kmh: float = MAX_SPEED_KMH
) -> float:
    """Straight-line km beyond which no drive can be within ``limit_s``.

    The engine's own bound (:meth:`Router.reach_bound_m`): exact for the estimate engine (its
    time grows with distance); for routed engines, the distance covered at
    ``MAX_SPEED_KMH`` as the crow flies (or at ``max_speed_kmh`` when another speed is given).
    """
    if router.is_estimate or max_speed_kmh == MAX_SPEED_KMH:
        return router.reach_bound_m(limit_s) / 1000.0
    return reach_km(limit_s, max_speed_kmh)


def finish_sets(
    unit: list[IntArray],
    cand: list[IntArray],
    secs: list[FloatArray],
    n_units: int,
    n_cand: int,
    limit_s: float,
    engine: EngineInfo,
    routed: int,
    *,
    possible: int = 0,
    calls: int = 0,
    elapsed_s: float = 0.0,
) -> CoverageSets:
    """Join blocks of kept pairs into one :class:`CoverageSets` (sorted by candidate, unit)."""
    u = np.concatenate(unit) if unit else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cand) if cand else np.zeros(0, dtype=np.int64)
    s = np.concatenate(secs) if secs else np.zeros(0)
    order = np.lexsort((u, c))
    return CoverageSets(
        unit=u[order].astype(np.int64),
        candidate=c[order].astype(np.int64),
        duration_s=s[order],
        n_units=n_units,
        n_candidates=n_cand,
        limit_s=limit_s,
        engine=engine,
        pairs_routed=routed,
        pairs_possible=possible,
        engine_calls=calls,
        elapsed_s=elapsed_s,
    )


def time_pairs(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    ui: IntArray,
    ci: IntArray,
    km: FloatArray,
    *,
    block_km: float | None = BLOCK_KM,
    progress: Progress | None = None,
) -> tuple[FloatArray, int]:
    """Seconds for the pairs ``unit_xy[ui] → cand_xy[ci]`` and the engine calls made.

    The estimate engine times them from their straight-line km (no call); a routing engine is
    asked once per block of candidates (:func:`geo.coverage.route_pairs`; ``None``: once per
    candidate). ``progress(done, total)`` counts pairs as blocks finish.
    """
    model = _seconds_for_km(router)
    if model is not None:
        if progress is not None:
            progress(len(ui), len(ui))
        return np.asarray(model(km), dtype=float), 0
    times = route_pairs(router, unit_xy, cand_xy, ui, ci, block_km=block_km, progress=progress)
    return times.duration_s, times.calls


def block_seconds(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    ui: IntArray,
    ci: IntArray,
    km: FloatArray,
) -> tuple[FloatArray, int]:
    """Seconds for the pairs of *one* block (:func:`geo.coverage.pair_blocks`) and the calls
    made: the estimate engine's time from the straight-line km, else one table
    (:func:`geo.coverage.time_block`). What a Dask task of :mod:`geo.distributed` runs."""
    model = _seconds_for_km(router)
    if model is not None:
        return np.asarray(model(km), dtype=float), 0
    times = time_block(router, unit_xy, cand_xy, ui, ci)
    return times.duration_s, times.calls


def within_limit(seconds: FloatArray, limit_s: float) -> npt.NDArray[np.bool_]:
    """Which times are at most the limit (minutes rounded as in every verdict)."""
    ok = np.isfinite(seconds) & (seconds_to_minutes(seconds) <= round(limit_s / 60.0, 6))
    return np.asarray(ok, dtype=bool)


def pairs_within(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    unit_offset: int = 0,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[IntArray, IntArray, FloatArray, int]:
    """Pairs (unit, candidate, seconds) with a drive of at most ``limit_s``.

    Screens by straight-line distance first (see :func:`screening_radius_km`), then times only
    the remaining pairs, one engine call per block of candidates. Units/candidates with NaN
    coordinates never pair. Returns unit positions shifted by ``unit_offset`` and the number
    of pairs timed.
    """
    if len(unit_xy) == 0 or len(cand_xy) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), 0
    radius_km = screening_radius_km(router, limit_s, max_speed_kmh)
    ui, ci, km = pairs_in_reach(unit_xy, cand_xy, radius_km)
    seconds, _ = time_pairs(router, unit_xy, cand_xy, ui, ci, km)
    keep = within_limit(seconds, limit_s)
    return (
        ui[keep].astype(np.int64) + unit_offset,
        ci[keep].astype(np.int64),
        np.asarray(seconds, dtype=float)[keep],
        int(ui.size),
    )


def coverage_sets(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
    block_km: float | None = BLOCK_KM,
    progress: Progress | None = None,
) -> CoverageSets:
    """Which units each candidate covers (drive ≤ ``limit_s``), as sparse pairs.

    One 2-D spatial index query (:func:`geo.coverage.pairs_in_reach`) finds exactly the (unit,
    candidate) pairs within the reach; only those are timed (unit → candidate), **one engine
    call per block of candidates** (a cell of ``block_km``, split by candidate where its table
    would be too large; :func:`geo.coverage.pair_blocks`) holding all of their units
    (``block_km=None``: one call per candidate); a block is never cut further (a cut cell
    would cost its candidates a second table). ``progress(done, total)`` counts pairs as
    blocks finish. ``pairs_routed`` counts the pairs asked, ``pairs_possible`` all located
    pairs, ``engine_calls`` the calls made.
    """
    started = time.perf_counter()
    radius_km = screening_radius_km(router, limit_s, max_speed_kmh)
    ui, ci, km = pairs_in_reach(unit_xy, cand_xy, radius_km)
    seconds, calls = time_pairs(
        router, unit_xy, cand_xy, ui, ci, km, block_km=block_km, progress=progress
    )
    keep = within_limit(seconds, limit_s)
    return finish_sets(
        [ui[keep]],
        [ci[keep]],
        [seconds[keep]],
        len(unit_xy),
        len(cand_xy),
        limit_s,
        router.info,
        int(ui.size),
        possible=located_pairs(unit_xy, cand_xy),
        calls=calls,
        elapsed_s=time.perf_counter() - started,
    )


def located_pairs(unit_xy: FloatArray, cand_xy: FloatArray) -> int:
    """Units with coordinates × candidates with coordinates."""
    return int(np.isfinite(unit_xy).all(axis=1).sum()) * int(np.isfinite(cand_xy).all(axis=1).sum())
