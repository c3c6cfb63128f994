"""Population coverage of a set of sites: who lives within the rule's drive time, who does not.

:func:`coverage` answers a planner's first question: how many people live within the rule's
drive time of the nearest site, and where are the rest? Every population unit (ZCTA, county or
a user's points) gets the drive time to its nearest site, a band (≤ 1 h, 1–2 h, 2–5 h, > 5 h,
unknown) and whether it is within the rule. Totals always add up to the input population.
Where one more site would help most is :mod:`geo.siting`.

Scale: drive times are only computed between points that *can* be within the limit. For the
``estimate`` engine the straight-line radius of the limit is exact (time grows with distance);
for a routing engine no drive is faster than ``max_speed_kmh`` in a straight line, so candidates
beyond that radius are skipped before any routing. Pairs are kept as sparse arrays, never as a
dense matrix of Python objects. :mod:`geo.distributed` runs the same steps on a Dask cluster.

Modules: :mod:`geo.coverage.inputs` (population and site points, bands),
:mod:`geo.coverage.pairs` (the pairs in reach and their engine calls, blocks of sites),
:mod:`geo.coverage.reach` (each unit's nearest site from those pairs),
:mod:`geo.coverage.result` (the result and its totals); every name is importable from here.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import geopandas as gpd

from geo.coverage.inputs import (
    DEFAULT_BANDS_MIN,
    DEFAULT_MIN_BEDS,
    MAX_SPEED_KMH,
    UNKNOWN_BAND,
    IntArray,
    Progress,
    _band_index,
    _check_bands,
    _column_or_index,
    band_labels,
    lonlat_of,
    population_frame,
    progress_in_units,
    seconds_to_minutes,
    site_points,
)
from geo.coverage.pairs import (
    BLOCK_CELLS,
    BLOCK_KM,
    PairTimes,
    destination_cells,
    join_pair_times,
    pair_blocks,
    pairs_in_reach,
    route_pairs,
    time_block,
)
from geo.coverage.reach import (
    ReachStats,
    _empty_nearest,
    nearest_from_pairs,
    nearest_in_chunks,
    nearest_in_reach,
    reach_km,
)
from geo.coverage.result import (
    CoverageResult,
    _assert_totals,
    _by_state,
    _Prepared,
    assemble_coverage,
    prepare_coverage,
)
from geo.population import PopulationKind
from geo.routing.base import Router
from geo.rules import ProximityRule
from geo.settings import Settings


def coverage(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    population: PopulationKind | gpd.GeoDataFrame = "zcta",
    *,
    population_column: str = "population",
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    chunk_size: int = 5000,
    screen: bool = False,
    reach_bound: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """Population within ``rule``'s drive time of the nearest of ``sites``.

    Parameters
    ----------
    sites
        Site points (GeoDataFrame; ``site_id`` and ``name`` columns used when present).
    rule
        The proximity rule; a unit is covered when its drive is at most ``rule.max_drive_min``
        (a drive of exactly the limit counts as covered, as in the rule's verdicts).
    router
        Any routing engine; the estimate engine handles the whole country in seconds.
    population
        ``"zcta"`` (33,791 ZIP areas), ``"county"`` (3,221 counties) or a GeoDataFrame of points
        with a ``population_column`` (and optionally ``state``). Rows without a point are kept
        as ``unknown``; a missing or negative population is an error, never dropped.
    bands_min
        Band edges in minutes (default 60, 120, 300).
    chunk_size
        Population points routed per call (bounds memory; drives ``progress``). Not used with
        ``reach_bound``: its pairs go out in blocks of sites, never cut by units.
    screen
        Let engines that can screen (Valhalla) answer only what the rule needs: faster, but a
        unit screened as "within" or "beyond" may land in the ``unknown`` band. Default: exact
        drive times for every unit, so the bands are complete.
    reach_bound
        Route only the (unit, site) pairs inside the rule's reach (:func:`nearest_in_reach`):
        a unit with no site within ``rule.max_drive_s`` × ``MAX_SPEED_KMH`` in a straight line
        is ``outside`` by that bound, never routed. The rule's verdicts are the same as an
        unbounded run; bands beyond the limit are known only where the bound or a routed time
        places the unit in one band (else ``unknown``). ``result.reach`` counts the pairs.
    """
    started = time.perf_counter()
    _check_bands(bands_min)
    prep = prepare_coverage(sites, population, population_column, settings)
    origins = prep.unit_xy[prep.unit_ok]
    if reach_bound:
        # Routed in blocks of sites, never cut by ``chunk_size`` (every chunk would pay each
        # site's whole-graph search again, see geo.coverage.pairs); progress in units.
        n = len(origins)
        nearest, stats = nearest_in_reach(
            router,
            origins,
            prep.site_xy,
            rule.max_drive_s,
            progress=progress_in_units(progress, n),
        )
        if progress is not None:
            progress(n, n)
        return dataclasses.replace(
            assemble_coverage(
                prep,
                nearest,
                rule,
                bands_min,
                elapsed_s=time.perf_counter() - started,
                compute=f"local, reach-bounded, {stats.engine_calls} engine calls",
            ),
            reach=stats,
        )
    nearest = nearest_in_chunks(
        router,
        origins,
        prep.site_xy,
        rule.max_drive_s if screen else None,
        chunk_size=chunk_size,
        progress=progress,
    )
    chunks = max(1, math.ceil(len(origins) / max(1, chunk_size)))
    return assemble_coverage(
        prep,
        nearest,
        rule,
        bands_min,
        elapsed_s=time.perf_counter() - started,
        compute=f"local, {chunks} chunk{'s' if chunks != 1 else ''}",
    )


__all__ = [
    "BLOCK_CELLS",
    "BLOCK_KM",
    "DEFAULT_BANDS_MIN",
    "DEFAULT_MIN_BEDS",
    "MAX_SPEED_KMH",
    "UNKNOWN_BAND",
    "CoverageResult",
    "IntArray",
    "PairTimes",
    "Progress",
    "ReachStats",
    "_Prepared",
    "_assert_totals",
    "_band_index",
    "_by_state",
    "_check_bands",
    "_column_or_index",
    "_empty_nearest",
    "assemble_coverage",
    "band_labels",
    "coverage",
    "destination_cells",
    "join_pair_times",
    "lonlat_of",
    "nearest_from_pairs",
    "nearest_in_chunks",
    "nearest_in_reach",
    "pair_blocks",
    "pairs_in_reach",
    "population_frame",
    "prepare_coverage",
    "progress_in_units",
    "reach_km",
    "route_pairs",
    "seconds_to_minutes",
    "site_points",
    "time_block",
]
