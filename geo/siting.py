"""Where more sites would help most: the maximal covering location problem (MCLP).

:func:`suggest_sites` chooses ``k`` candidate sites that bring the most people newly within the
rule (Church & ReVelle 1974). It is solved exactly as an integer program (the HiGHS solver,
in-process) and compared with the greedy answer, which is quick but can miss the optimum.
:func:`coverage_sets` finds which population units each candidate covers, as sparse pairs: drive
times are only computed between points that *can* be within the limit (see
:mod:`geo.coverage`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.coverage import (
    DEFAULT_MIN_BEDS,
    MAX_SPEED_KMH,
    IntArray,
    Progress,
    lonlat_of,
    nearest_in_reach_chunks,
    pairs_in_reach,
    population_frame,
    route_pairs,
    seconds_to_minutes,
    site_points,
)
from geo.errors import ValidationError
from geo.population import PopulationKind
from geo.routing.base import Router
from geo.routing.estimate import EstimateRouter
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.types import EngineInfo, FloatArray


# --------------------------------------------------------------------------------------------
# Coverage sets: which units each candidate covers (sparse)
# --------------------------------------------------------------------------------------------
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
    """Pairs whose drive time was computed (after the straight-line screen)."""

    def __len__(self) -> int:
        return len(self.unit)

    def units_covered_by(self, candidate: int) -> IntArray:
        lo, hi = np.searchsorted(self.candidate, [candidate, candidate + 1])
        return self.unit[lo:hi]


def screening_radius_km(
    router: Router, limit_s: float, max_speed_kmh: float = MAX_SPEED_KMH
) -> float:
    """Straight-line km beyond which no drive can be within ``limit_s``.

    Exact for the estimate engine (its time grows with distance); for routed engines, the
    distance covered at ``max_speed_kmh`` as the crow flies.
    """
    if isinstance(router, EstimateRouter):
        km = float(router.km_for_seconds(np.array([limit_s]))[0])
        return km * (1 + 1e-9) + 1e-9
    return limit_s / 3600.0 * max_speed_kmh


def finish_sets(
    unit: list[IntArray],
    cand: list[IntArray],
    secs: list[FloatArray],
    n_units: int,
    n_cand: int,
    limit_s: float,
    engine: EngineInfo,
    routed: int,
) -> CoverageSets:
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
    )


def pairs_within(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    unit_offset: int = 0,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[IntArray, IntArray, FloatArray, int]:
    """Pairs (unit, candidate, seconds) with a drive of at most ``limit_s`` for one chunk.

    Screens by straight-line distance first (see :func:`screening_radius_km`), then routes only
    the remaining pairs. Units/candidates with NaN coordinates never pair. Returns unit
    positions shifted by ``unit_offset`` and the number of pairs routed.
    """
    if len(unit_xy) == 0 or len(cand_xy) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), 0
    radius_km = screening_radius_km(router, limit_s, max_speed_kmh)
    # 2-D spatial index (KD-trees on the sphere): exactly the pairs within the reach.
    ui, ci, km = pairs_in_reach(unit_xy, cand_xy, radius_km)
    limit_min = round(limit_s / 60.0, 6)
    if isinstance(router, EstimateRouter):
        seconds = router.seconds_for_km(km)
    else:
        # Route exactly the pairs in reach, blocked per candidate (unit → candidate).
        seconds = route_pairs(router, unit_xy, cand_xy, ui, ci).duration_s
    routed = int(ui.size)
    keep = np.isfinite(seconds) & (seconds_to_minutes(seconds) <= limit_min)
    return (
        ui[keep].astype(np.int64) + unit_offset,
        ci[keep].astype(np.int64),
        np.asarray(seconds, dtype=float)[keep],
        routed,
    )


def coverage_sets(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    chunk_size: int = 1000,
    max_speed_kmh: float = MAX_SPEED_KMH,
    progress: Progress | None = None,
) -> CoverageSets:
    """Which units each candidate covers (drive ≤ ``limit_s``), as sparse pairs.

    Units are processed in chunks (sorted by latitude, for locality); within a chunk a 2-D
    spatial index (:func:`geo.coverage.pairs_in_reach`) finds exactly the (unit, candidate)
    pairs within the reach, and only those are routed, blocked per candidate
    (:func:`geo.coverage.route_pairs`). 33,791 ZCTAs × 8,013 hospitals take seconds with the
    estimate engine and never build the dense matrix; ``pairs_routed`` counts the pairs asked.
    """
    n = len(unit_xy)
    order = np.argsort(np.where(np.isfinite(unit_xy[:, 1]), unit_xy[:, 1], np.inf), kind="stable")
    units: list[IntArray] = []
    cands: list[IntArray] = []
    secs: list[FloatArray] = []
    routed = 0
    for start in range(0, n, max(1, chunk_size)):
        idx = order[start : start + chunk_size]
        u, c, s, r = pairs_within(
            router, unit_xy[idx], cand_xy, limit_s, max_speed_kmh=max_speed_kmh
        )
        units.append(idx[u])
        cands.append(c)
        secs.append(s)
        routed += r
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    return finish_sets(units, cands, secs, n, len(cand_xy), limit_s, router.info, routed)


# --------------------------------------------------------------------------------------------
# Maximal covering location problem
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MclpSolution:
    """Chosen candidates (positions) of one method, with gains in the order listed."""

    method: str
    chosen: tuple[int, ...]
    gains: tuple[float, ...]
    """Population newly covered by each chosen candidate, in the order listed (they sum to
    :attr:`gain`). For the ILP the order is the greedy order within the chosen set."""
    unique: tuple[float, ...]
    """Population only that candidate covers (among the existing sites and the chosen ones)."""
    gain: float
    status: str
    solve_s: float


def _unique_gains(
    chosen: Sequence[int], sets: CoverageSets, weights: FloatArray, covered0: npt.NDArray[np.bool_]
) -> tuple[float, ...]:
    """Population that only this chosen candidate covers (existing sites count as covering)."""
    count = covered0.astype(np.int64) * (len(chosen) + 1)
    for c in chosen:
        np.add.at(count, sets.units_covered_by(c), 1)
    return tuple(
        float(weights[u][count[u] == 1].sum()) for u in (sets.units_covered_by(c) for c in chosen)
    )


def _marginal_order(
    chosen: Sequence[int], sets: CoverageSets, weights: FloatArray, covered0: npt.NDArray[np.bool_]
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Order chosen candidates by marginal gain (greedy within the set), with those gains."""
    remaining = list(chosen)
    covered = covered0.copy()
    order: list[int] = []
    gains: list[float] = []
    while remaining:
        g = [
            float(weights[u][~covered[u]].sum())
            for u in (sets.units_covered_by(c) for c in remaining)
        ]
        best = int(np.argmax(g))
        cand = remaining.pop(best)
        order.append(cand)
        gains.append(g[best])
        covered[sets.units_covered_by(cand)] = True
    return tuple(order), tuple(gains)


def greedy_mclp(
    sets: CoverageSets, weights: FloatArray, k: int, covered0: npt.NDArray[np.bool_] | None = None
) -> MclpSolution:
    """Greedy MCLP: repeatedly add the candidate covering the most still-uncovered population.

    Ties go to the lower candidate position. Stops early when no candidate adds anyone.
    """
    started = time.perf_counter()
    covered = np.zeros(sets.n_units, dtype=bool) if covered0 is None else covered0.copy()
    start_covered = covered.copy()
    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(k):
        open_w = np.where(covered[sets.unit], 0.0, weights[sets.unit])
        by_cand = np.bincount(sets.candidate, weights=open_w, minlength=sets.n_candidates)
        best = int(np.argmax(by_cand)) if by_cand.size else -1
        if best < 0 or by_cand[best] <= 0:
            break
        chosen.append(best)
        gains.append(float(by_cand[best]))
        covered[sets.units_covered_by(best)] = True
    return MclpSolution(
        method="greedy",
        chosen=tuple(chosen),
        gains=tuple(gains),
        unique=_unique_gains(chosen, sets, weights, start_covered),
        gain=math.fsum(gains),
        status="heuristic",
        solve_s=time.perf_counter() - started,
    )


def solve_mclp(
    sets: CoverageSets,
    weights: FloatArray,
    k: int,
    covered0: npt.NDArray[np.bool_] | None = None,
    *,
    time_limit_s: float = 120.0,
    warm_start: MclpSolution | None = None,
) -> MclpSolution:
    """Exact MCLP as an integer program (HiGHS).

    maximise Σ wᵢ yᵢ  subject to  Σ xⱼ ≤ k,  yᵢ ≤ Σ_{j covers i} xⱼ,  xⱼ ∈ {0, 1},  0 ≤ yᵢ ≤ 1

    over the units not already covered (``covered0``). Units with the same set of candidates
    are merged first (their weights add), which shrinks national instances a lot. ``status`` is
    ``optimal`` when HiGHS proved optimality, else what it reached (e.g. a time limit).
    """
    import highspy

    started = time.perf_counter()
    covered = np.zeros(sets.n_units, dtype=bool) if covered0 is None else covered0
    open_pair = ~covered[sets.unit] & (weights[sets.unit] > 0)
    u, c = sets.unit[open_pair], sets.candidate[open_pair]
    if u.size == 0 or k <= 0:
        return MclpSolution(
            "ilp", (), (), (), 0.0, "nothing to gain", time.perf_counter() - started
        )
    # Group units by their candidate set (pairs sorted by unit, then candidate).
    by_unit = np.lexsort((c, u))
    u, c = u[by_unit], c[by_unit]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    ends = np.r_[starts[1:], u.size]
    groups: dict[bytes, int] = {}
    group_w: list[float] = []
    group_c: list[npt.NDArray[np.int64]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        key = c[s:e].tobytes()
        g = groups.get(key)
        if g is None:
            groups[key] = len(group_w)
            group_w.append(float(weights[u[s]]))
            group_c.append(c[s:e])
        else:
            group_w[g] += float(weights[u[s]])
    useful = np.unique(c)
    n_x, n_y = len(useful), len(group_w)
    # Columns: x_j (binary, one per useful candidate) then y_g (0..1, one per unit group).
    h = highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    cost = np.r_[np.zeros(n_x), np.asarray(group_w, dtype=float)]
    h.addVars(n_x + n_y, np.zeros(n_x + n_y), np.ones(n_x + n_y))
    h.changeColsCost(n_x + n_y, np.arange(n_x + n_y, dtype=np.int32), cost)
    h.changeColsIntegrality(
        n_x,
        np.arange(n_x, dtype=np.int32),
        np.full(n_x, highspy.HighsVarType.kInteger),
    )
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    # Row 0: sum x <= k. Row 1 + g: y_g - sum_{j covers g} x_j <= 0.
    sizes = np.array([len(gc) for gc in group_c], dtype=np.int64)
    cand_cols = np.searchsorted(useful, np.concatenate(group_c)).astype(np.int32)
    row_starts = np.r_[0, n_x, n_x + np.cumsum(sizes + 1)[:-1]].astype(np.int32)
    y_cols = (n_x + np.arange(n_y)).astype(np.int32)
    # Each cover row holds y_g first, then its candidates.
    cover_idx = np.insert(cand_cols, np.r_[0, np.cumsum(sizes)[:-1]], y_cols)
    cover_val = np.ones(cover_idx.size)
    first = np.r_[0, np.cumsum(sizes + 1)[:-1]]
    cover_val[:] = -1.0
    cover_val[first] = 1.0
    indices = np.r_[np.arange(n_x, dtype=np.int32), cover_idx].astype(np.int32)
    values = np.r_[np.ones(n_x), cover_val]
    lower = np.full(n_y + 1, -inf)
    upper = np.r_[float(k), np.zeros(n_y)]
    h.addRows(n_y + 1, lower, upper, indices.size, row_starts, indices, values)
    if warm_start is not None:
        picked = np.isin(useful, np.asarray(warm_start.chosen, dtype=np.int64))
        sol = highspy.HighsSolution()
        sol.col_value = list(np.r_[picked.astype(float), np.zeros(n_y)])
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    values_out = np.asarray(h.getSolution().col_value, dtype=float)
    chosen = [int(j) for j in useful[values_out[:n_x] > 0.5]] if values_out.size >= n_x else []
    if model_status == highspy.HighsModelStatus.kOptimal:
        sol_status = "optimal"
    elif chosen and model_status == highspy.HighsModelStatus.kTimeLimit:
        sol_status = "feasible (time limit; not proven optimal)"
    else:
        sol_status = h.modelStatusToString(model_status).lower()
    order, gains = _marginal_order(chosen, sets, weights, covered)
    return MclpSolution(
        method="ilp",
        chosen=order,
        gains=gains,
        unique=_unique_gains(order, sets, weights, covered),
        gain=math.fsum(gains),
        status=sol_status,
        solve_s=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------
# Suggest sites
# --------------------------------------------------------------------------------------------
def default_candidates(
    hospitals: gpd.GeoDataFrame, min_beds: int = DEFAULT_MIN_BEDS
) -> gpd.GeoDataFrame:
    """Open general acute care hospitals with at least ``min_beds`` beds (unknown beds excluded).

    Takes the ``hospitals`` site set (HIFLD columns ``status``, ``type``, ``beds``).
    """
    missing = [c for c in ("status", "type", "beds") if c not in hospitals.columns]
    if missing:
        raise ValidationError(
            f"candidate hospitals need columns status, type and beds; missing: {', '.join(missing)}"
        )
    beds = pd.to_numeric(hospitals["beds"], errors="coerce")
    keep = (
        (hospitals["status"].astype(str).str.lower() == "open")
        & (hospitals["type"].astype(str).str.upper() == "GENERAL ACUTE CARE")
        & (beds >= min_beds)
    )
    out = hospitals[keep.to_numpy()].reset_index(drop=True)
    out.attrs["selection"] = f"open general acute care hospitals with ≥ {min_beds} beds"
    return out


@dataclass(frozen=True)
class SuggestResult:
    """Where ``k`` more sites would bring the most people within the rule.

    ``ilp`` is the exact answer (when HiGHS proved it), ``greedy`` the quick heuristic; each lists
    candidate positions with their gains. :meth:`table` joins them with the candidates' columns.
    """

    rule: ProximityRule
    engine: EngineInfo
    k: int
    population_source: str
    total_population: float
    baseline_covered_population: float
    coverable_population: float
    """Population the existing sites plus *all* candidates would cover (the ceiling)."""
    ilp: MclpSolution
    greedy: MclpSolution
    candidates: gpd.GeoDataFrame
    n_candidates: int
    pairs: int
    elapsed_s: float

    def plan(self, method: Literal["ilp", "greedy"] = "ilp") -> MclpSolution:
        return self.ilp if method == "ilp" else self.greedy

    def table(self, method: Literal["ilp", "greedy"] = "ilp") -> gpd.GeoDataFrame:
        """Chosen candidates (their columns) with ``rank``, ``gain_population``,
        ``unique_population`` and ``cumulative_covered_population``."""
        sol = self.plan(method)
        out = self.candidates.iloc[list(sol.chosen)].copy()
        out.insert(0, "rank", np.arange(1, len(sol.chosen) + 1))
        out["gain_population"] = list(sol.gains)
        out["unique_population"] = list(sol.unique)
        out["cumulative_covered_population"] = self.baseline_covered_population + np.cumsum(
            np.asarray(sol.gains, dtype=float)
        )
        out["method"] = sol.method
        return out

    def summary(self) -> str:
        base = self.baseline_covered_population
        return (
            f"baseline {base:,.0f} of {self.total_population:,.0f} people within "
            f"{self.rule.max_drive_min:g} min; with {self.k} more sites: ILP +{self.ilp.gain:,.0f} "
            f"({self.ilp.status}), greedy +{self.greedy.gain:,.0f}"
        )


def suggest_sites(
    sites: gpd.GeoDataFrame | None,
    candidates: gpd.GeoDataFrame,
    k: int,
    rule: ProximityRule,
    router: Router,
    population: PopulationKind | gpd.GeoDataFrame = "county",
    *,
    population_column: str = "population",
    time_limit_s: float = 120.0,
    chunk_size: int = 1000,
    progress: Progress | None = None,
    settings: Settings | None = None,
    sets: CoverageSets | None = None,
) -> SuggestResult:
    """Choose ``k`` of ``candidates`` that bring the most people newly within ``rule``.

    Parameters
    ----------
    sites
        Existing sites (their coverage is the baseline); ``None`` or empty for a green field.
    candidates
        Candidate sites, e.g. :func:`default_candidates` of the ``hospitals`` set, or a user list.
    k
        How many sites to add.
    population
        ``"county"`` (default; fast), ``"zcta"`` or a GeoDataFrame with ``population_column``.
    time_limit_s
        the solver time limit; the status says whether optimality was proven.
    sets
        Precomputed :class:`CoverageSets` (e.g. from :mod:`geo.distributed`) for the same
        population rows and candidates.
    """
    started = time.perf_counter()
    if k < 1:
        raise ValidationError(f"k must be at least 1, got {k}")
    frame, weights, label = population_frame(population, population_column, settings)
    unit_xy = lonlat_of(frame, "population")
    cand_xy = lonlat_of(candidates, "candidates")
    if not np.isfinite(cand_xy).all(axis=1).any():
        raise ValidationError("no candidate has coordinates")
    covered0 = np.zeros(len(frame), dtype=bool)
    if sites is not None and len(sites):
        site_xy, usable = site_points(sites)
        if usable.any():
            ok = np.isfinite(unit_xy).all(axis=1)
            near, _ = nearest_in_reach_chunks(
                router, unit_xy[ok], site_xy[usable], rule.max_drive_s
            )
            hi = np.where(np.isfinite(near.duration_s), near.duration_s, near.upper_s)
            covered0[ok] = np.isfinite(hi) & (
                seconds_to_minutes(hi) <= round(rule.max_drive_min, 6)
            )
    if sets is None:
        # Units the existing sites already cover can gain nothing: never route them.
        todo = np.flatnonzero(~covered0)
        sub = coverage_sets(
            router,
            unit_xy[todo],
            cand_xy,
            rule.max_drive_s,
            chunk_size=chunk_size,
            progress=progress,
        )
        sets = dataclasses.replace(sub, unit=todo[sub.unit], n_units=len(frame))
    elif sets.n_units != len(frame) or sets.n_candidates != len(candidates):
        raise ValidationError(
            "precomputed coverage sets do not match the population and candidates"
        )
    greedy = greedy_mclp(sets, weights, k, covered0)
    ilp = solve_mclp(sets, weights, k, covered0, time_limit_s=time_limit_s, warm_start=greedy)
    reach = covered0.copy()
    reach[sets.unit] = True
    total = math.fsum(weights)
    return SuggestResult(
        rule=rule,
        engine=router.info,
        k=k,
        population_source=label,
        total_population=total,
        baseline_covered_population=float(weights[covered0].sum()),
        coverable_population=float(weights[reach].sum()),
        ilp=ilp,
        greedy=greedy,
        candidates=candidates,
        n_candidates=len(candidates),
        pairs=len(sets),
        elapsed_s=time.perf_counter() - started,
    )
