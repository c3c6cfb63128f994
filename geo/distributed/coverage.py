"""Coverage on a Dask cluster (:func:`coverage_dask`): the same answer as a local run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import geopandas as gpd

from geo.coverage import (
    BLOCK_KM,
    DEFAULT_BANDS_MIN,
    CoverageResult,
    Progress,
    assemble_coverage,
    nearest_from_pairs,
    pairs_in_reach,
    prepare_coverage,
    progress_in_units,
    reach_km,
)
from geo.distributed.workers import (
    RouterSpec,
    _as_spec,
    _client,
    _gather_with_progress,
    _nearest_task,
    route_pairs_dask,
)
from geo.population import PopulationKind
from geo.routing.base import concat_nearest
from geo.rules import ProximityRule
from geo.settings import Settings


def coverage_dask(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    engine: str | RouterSpec,
    population: PopulationKind | gpd.GeoDataFrame = "zcta",
    *,
    client: Any = None,
    population_column: str = "population",
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    chunk_size: int = 2000,
    screen: bool = False,
    reach_bound: bool = False,
    block_km: float | None = BLOCK_KM,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """:func:`geo.coverage.coverage` with the routing spread over a Dask cluster.

    Same arguments (including ``screen``), except ``engine`` is an engine name or
    :class:`RouterSpec` (built once per worker) and ``client`` is a ``distributed.Client``
    (default: the current one). The result is the same as the local path's; ``compute``
    records the cluster and chunks. ``chunk_size`` units make one task of the unbounded run; a
    reach-bounded run makes one task per block of sites (:func:`geo.coverage.pair_blocks` with
    ``block_km``: the default gives the local run's engine calls; ``None``, one per site).
    """
    started = time.perf_counter()
    spec = _as_spec(engine)
    dask = _client(client)
    prep = prepare_coverage(sites, population, population_column, settings)
    origins = prep.unit_xy[prep.unit_ok]
    horizon_s = rule.max_drive_s if screen else None
    step = max(1, chunk_size)
    starts = list(range(0, len(origins), step))
    workers = len(dask.scheduler_info().get("workers", {}))
    if reach_bound:
        # The pairs in reach are found here and routed in the local run's blocks of sites, one
        # task per block (geo.coverage.pairs): each site's whole-graph search is paid once, not
        # once per chunk of units.
        oi, di, _ = pairs_in_reach(origins, prep.site_xy, reach_km(rule.max_drive_s))
        n = len(origins)
        times = route_pairs_dask(
            dask,
            spec,
            origins,
            prep.site_xy,
            oi,
            di,
            block_km=block_km,
            progress=progress_in_units(progress, n),
        )
        nearest, stats = nearest_from_pairs(origins, prep.site_xy, oi, di, times, rule.max_drive_s)
        if progress is not None:
            progress(n, n)
        result = assemble_coverage(
            prep,
            nearest,
            rule,
            bands_min,
            elapsed_s=time.perf_counter() - started,
            compute=f"dask: {workers} workers, {times.calls} blocks of sites, reach-bounded, "
            f"engine {spec.name!r} per worker",
        )
        return dataclasses.replace(result, reach=stats)
    if not starts:
        nearest = spec.build().nearest(origins, prep.site_xy, horizon_s)
    else:
        dest = dask.scatter(prep.site_xy, broadcast=True)
        futures = [
            dask.submit(_nearest_task, spec, origins[s : s + step], dest, horizon_s, pure=False)
            for s in starts
        ]
        sizes = [min(step, len(origins) - s) for s in starts]
        nearest = concat_nearest(_gather_with_progress(dask, futures, progress, sizes))
    return assemble_coverage(
        prep,
        nearest,
        rule,
        bands_min,
        elapsed_s=time.perf_counter() - started,
        compute=f"dask: {workers} workers, {len(starts)} chunks, engine {spec.name!r} per worker",
    )
