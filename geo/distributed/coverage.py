"""Coverage on a Dask cluster (:func:`coverage_dask`): the same answer as a local run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import geopandas as gpd

from geo.coverage import (
    DEFAULT_BANDS_MIN,
    MAX_SPEED_KMH,
    CoverageResult,
    Progress,
    ReachStats,
    assemble_coverage,
    nearest_in_reach,
    prepare_coverage,
    reach_km,
)
from geo.distributed.workers import (
    RouterSpec,
    _as_spec,
    _client,
    _gather_with_progress,
    _nearest_task,
    submit_reach_chunks,
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
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """:func:`geo.coverage.coverage` with the routing spread over a Dask cluster.

    Same arguments (including ``screen``), except ``engine`` is an engine name or
    :class:`RouterSpec` (built once per worker) and ``client`` is a ``distributed.Client``
    (default: the current one). The result is the same as the local path's; ``compute``
    records the cluster and chunks.
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
        dest = dask.scatter(prep.site_xy, broadcast=True)
        futures = submit_reach_chunks(dask, spec, origins, dest, rule.max_drive_s, step)
        sizes = [min(step, len(origins) - s) for s in starts]
        parts = _gather_with_progress(dask, futures, progress, sizes)
        if parts:
            nearest = concat_nearest([p[0] for p in parts])
        else:
            nearest = nearest_in_reach(spec.build(), origins, prep.site_xy, rule.max_drive_s)[0]
        stats = ReachStats(
            pairs_asked=sum(p[1].pairs_asked for p in parts),
            pairs_possible=sum(p[1].pairs_possible for p in parts),
            reach_km=reach_km(rule.max_drive_s),
            max_speed_kmh=MAX_SPEED_KMH,
            engine_calls=sum(p[1].engine_calls for p in parts),
        )
        result = assemble_coverage(
            prep,
            nearest,
            rule,
            bands_min,
            elapsed_s=time.perf_counter() - started,
            compute=f"dask: {workers} workers, {len(starts)} chunks, reach-bounded, "
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
