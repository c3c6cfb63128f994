"""Where more sites would help most: the maximal covering location problem (MCLP).

:func:`suggest_sites` chooses ``k`` candidate sites that bring the most people newly within the
rule (Church & ReVelle 1974). It is solved exactly as an integer program (the HiGHS solver,
in-process; :mod:`geo.siting.mclp`) and compared with the greedy answer, which is quick but can
miss the optimum. :func:`coverage_sets` (:mod:`geo.siting.sets`) finds which population units
each candidate covers, as sparse pairs: drive times are only computed between points that *can*
be within the limit (see :mod:`geo.coverage`), one engine call per block of candidates.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.coverage import (
    DEFAULT_MIN_BEDS,
    Progress,
    lonlat_of,
    nearest_in_reach,
    population_frame,
    seconds_to_minutes,
    site_points,
)
from geo.errors import ValidationError
from geo.population import PopulationKind
from geo.routing.base import NearestResult, Router
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.siting.mclp import MclpSolution, greedy_mclp, solve_mclp
from geo.siting.sets import (
    CoverageSets,
    coverage_sets,
    finish_sets,
    located_pairs,
    pairs_within,
    screening_radius_km,
)
from geo.types import EngineInfo, FloatArray


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
class SuggestStats:
    """How much work a suggestion took (seconds are wall time)."""

    baseline_s: float = 0.0
    """Drive times to the existing sites (which units they already cover)."""
    sets_s: float = 0.0
    """Coverage sets of the candidates."""
    solve_s: float = 0.0
    """Greedy and ILP."""
    pairs_asked: int = 0
    """Unit × candidate pairs whose drive time was computed (inside the reach)."""
    pairs_possible: int = 0
    """Every located unit × every located candidate."""
    engine_calls: int = 0
    """Routing-engine calls for the coverage sets (one per block of candidates in reach)."""
    units_skipped: int = 0
    """Units the existing sites already cover: never timed against the candidates."""


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
    stats: SuggestStats = dataclasses.field(default_factory=SuggestStats)

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


def baseline_covered(
    nearest: NearestResult, ok: npt.NDArray[np.bool_], rule: ProximityRule
) -> npt.NDArray[np.bool_]:
    """Units the existing sites already cover, from their nearest-site answers (``ok`` rows).

    A unit counts as covered when its drive (or, for a screened answer, its upper bound) is at
    most the rule's limit — the same test as a coverage run's ``within``.
    """
    covered = np.zeros(len(ok), dtype=bool)
    hi = np.where(np.isfinite(nearest.duration_s), nearest.duration_s, nearest.upper_s)
    covered[ok] = np.isfinite(hi) & (seconds_to_minutes(hi) <= round(rule.max_drive_min, 6))
    return covered


def suggest_sites(
    sites: gpd.GeoDataFrame | None,
    candidates: gpd.GeoDataFrame,
    k: int,
    rule: ProximityRule,
    router: Router | None,
    population: PopulationKind | gpd.GeoDataFrame = "county",
    *,
    population_column: str = "population",
    time_limit_s: float = 120.0,
    progress: Progress | None = None,
    settings: Settings | None = None,
    sets: CoverageSets | None = None,
    covered0: npt.NDArray[np.bool_] | None = None,
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
    router
        The engine; may be None only when both ``sets`` and ``covered0`` are given.
    population
        ``"county"`` (default; fast), ``"zcta"`` or a GeoDataFrame with ``population_column``.
    time_limit_s
        the solver time limit; the status says whether optimality was proven.
    progress
        ``progress(done, total)`` in pairs: the coverage sets are routed in blocks of
        candidates (:func:`geo.coverage.pair_blocks`), one step each.
    sets
        Precomputed :class:`CoverageSets` (e.g. from :mod:`geo.distributed`) for the same
        population rows and candidates.
    covered0
        Precomputed baseline (units the existing ``sites`` already cover, one bool per
        population row), e.g. from a Dask cluster; default: routed here, reach-bounded.

    The baseline is routed reach-bounded (only unit × site pairs within the limit's reach); the
    units it covers are never timed against the candidates (they gain nothing).
    """
    started = time.perf_counter()
    if k < 1:
        raise ValidationError(f"k must be at least 1, got {k}")
    frame, weights, label = population_frame(population, population_column, settings)
    unit_xy = lonlat_of(frame, "population")
    cand_xy = lonlat_of(candidates, "candidates")
    if not np.isfinite(cand_xy).all(axis=1).any():
        raise ValidationError("no candidate has coordinates")
    if router is None and (sets is None or covered0 is None):
        raise ValidationError("suggest_sites needs a router unless sets and covered0 are given")
    if covered0 is None:
        covered0 = np.zeros(len(frame), dtype=bool)
        if sites is not None and len(sites):
            site_xy, usable = site_points(sites)
            if usable.any() and router is not None:
                ok = np.isfinite(unit_xy).all(axis=1)
                near, _ = nearest_in_reach(router, unit_xy[ok], site_xy[usable], rule.max_drive_s)
                covered0 = baseline_covered(near, ok, rule)
    elif len(covered0) != len(frame):
        raise ValidationError("the precomputed baseline does not match the population rows")
    baseline_s = time.perf_counter() - started
    if sets is None and router is not None:
        # Units the existing sites already cover can gain nothing: never route them.
        sets = sets_for_units(
            router,
            unit_xy,
            cand_xy,
            rule.max_drive_s,
            np.flatnonzero(~covered0),
            progress=progress,
        )
    elif sets is None or sets.n_units != len(frame) or sets.n_candidates != len(candidates):
        raise ValidationError(
            "precomputed coverage sets do not match the population and candidates"
        )
    solve_start = time.perf_counter()
    greedy = greedy_mclp(sets, weights, k, covered0)
    ilp = solve_mclp(sets, weights, k, covered0, time_limit_s=time_limit_s, warm_start=greedy)
    stats = SuggestStats(
        baseline_s=baseline_s,
        sets_s=sets.elapsed_s,
        solve_s=time.perf_counter() - solve_start,
        pairs_asked=sets.pairs_routed,
        pairs_possible=sets.pairs_possible,
        engine_calls=sets.engine_calls,
        units_skipped=int(covered0.sum()),
    )
    reach = covered0.copy()
    reach[sets.unit] = True
    total = math.fsum(weights)
    return SuggestResult(
        rule=rule,
        engine=sets.engine if router is None else router.info,
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
        stats=stats,
    )


def sets_for_units(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    todo: npt.NDArray[np.int64],
    *,
    progress: Progress | None = None,
) -> CoverageSets:
    """:func:`coverage_sets` of the units ``todo`` only, positions mapped back to all units.

    ``pairs_possible`` still counts every located unit × candidate (what an unbounded run
    would have timed), so the saving of skipping covered units shows.
    """
    sub = coverage_sets(router, unit_xy[todo], cand_xy, limit_s, progress=progress)
    return dataclasses.replace(
        sub,
        unit=todo[sub.unit],
        n_units=len(unit_xy),
        pairs_possible=located_pairs(unit_xy, cand_xy),
    )


__all__ = [
    "CoverageSets",
    "MclpSolution",
    "SuggestResult",
    "SuggestStats",
    "baseline_covered",
    "coverage_sets",
    "default_candidates",
    "finish_sets",
    "greedy_mclp",
    "pairs_within",
    "screening_radius_km",
    "sets_for_units",
    "solve_mclp",
    "suggest_sites",
]
