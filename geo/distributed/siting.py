"""Siting on a Dask cluster: coverage sets per candidate block, baseline, suggestion."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from geo.coverage import (
    MAX_SPEED_KMH,
    IntArray,
    Progress,
    lonlat_of,
    nearest_from_pairs,
    pair_blocks,
    pairs_in_reach,
    population_frame,
    reach_km,
    site_points,
)
from geo.distributed.workers import (
    RouterSpec,
    _as_spec,
    _client,
    _gather_with_progress,
    _info_task,
    _seconds_task,
    route_pairs_dask,
    submit_blocks,
    worker_router,
)
from geo.population import PopulationKind
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.siting import (
    CoverageSets,
    SuggestResult,
    baseline_covered,
    finish_sets,
    screening_radius_km,
    suggest_sites,
)
from geo.siting.sets import located_pairs, within_limit


def coverage_sets_dask(
    engine: str | RouterSpec,
    population: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    limit_s: float,
    *,
    client: Any = None,
    max_speed_kmh: float = MAX_SPEED_KMH,
    units: IntArray | None = None,
    progress: Progress | None = None,
) -> CoverageSets:
    """:func:`geo.siting.coverage_sets` on a Dask cluster (for :func:`suggest_sites`'s ``sets``).

    The pairs within reach are found here (one spatial-index query) and cut into the local
    run's blocks of candidates (:func:`geo.coverage.pair_blocks`); each task times one block
    (one engine call, as locally) and sends back only its seconds, so the sets equal a local
    run's. ``units``
    restricts the run to those population rows (e.g. the ones the existing sites do not
    cover); positions in the result are always rows of ``population``.
    """
    started = time.perf_counter()
    spec = _as_spec(engine)
    dask = _client(client)
    unit_xy = lonlat_of(population, "population")
    cand_xy = lonlat_of(candidates, "candidates")
    todo = np.arange(len(unit_xy)) if units is None else np.asarray(units, dtype=np.int64)
    info = dask.submit(_info_task, spec, pure=False)
    # The radius depends on the engine (exact for the estimate): ask a worker's engine once.
    radius = dask.submit(_radius_task, spec, limit_s, max_speed_kmh, pure=False).result()
    sub_xy = unit_xy[todo]
    ui, ci, km = pairs_in_reach(sub_xy, cand_xy, radius)
    blocks = pair_blocks(cand_xy, ui, ci)
    futures = submit_blocks(dask, _seconds_task, spec, sub_xy, cand_xy, ui, ci, blocks, km)
    parts = _gather_with_progress(dask, futures, progress, [len(r) for r in blocks])
    seconds = np.full(len(ui), np.nan)
    for rows, (secs, _) in zip(blocks, parts, strict=True):
        seconds[rows] = secs
    keep = within_limit(seconds, limit_s)
    return finish_sets(
        [todo[ui[keep]]],
        [ci[keep]],
        [seconds[keep]],
        len(unit_xy),
        len(cand_xy),
        limit_s,
        info.result(),
        int(ui.size),
        possible=located_pairs(unit_xy, cand_xy),
        calls=int(sum(p[1] for p in parts)),
        elapsed_s=time.perf_counter() - started,
    )


def _radius_task(spec: RouterSpec, limit_s: float, max_speed_kmh: float) -> float:
    return screening_radius_km(worker_router(spec), limit_s, max_speed_kmh)


def baseline_dask(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    engine: str | RouterSpec,
    population: gpd.GeoDataFrame,
    *,
    client: Any = None,
) -> npt.NDArray[np.bool_]:
    """Which population rows the existing ``sites`` already cover, routed reach-bounded on the
    cluster (the baseline of :func:`suggest_sites_dask`; same test as the local baseline), one
    task per block of sites, as the local baseline's engine calls."""
    spec = _as_spec(engine)
    dask = _client(client)
    unit_xy = lonlat_of(population, "population")
    ok = np.isfinite(unit_xy).all(axis=1)
    site_xy, usable = site_points(sites)
    if not usable.any() or not ok.any():
        return np.zeros(len(unit_xy), dtype=bool)
    origins, dest = unit_xy[ok], site_xy[usable]
    oi, di, _ = pairs_in_reach(origins, dest, reach_km(rule.max_drive_s))
    times = route_pairs_dask(dask, spec, origins, dest, oi, di)
    return baseline_covered(
        nearest_from_pairs(origins, dest, oi, di, times, rule.max_drive_s)[0], ok, rule
    )


def suggest_sites_dask(
    sites: gpd.GeoDataFrame | None,
    candidates: gpd.GeoDataFrame,
    k: int,
    rule: ProximityRule,
    engine: str | RouterSpec,
    population: PopulationKind | gpd.GeoDataFrame = "county",
    *,
    client: Any = None,
    population_column: str = "population",
    time_limit_s: float = 120.0,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> SuggestResult:
    """:func:`geo.siting.suggest_sites` with the routing on a Dask cluster.

    The baseline (units the existing sites cover) and the coverage sets of the units it leaves
    uncovered are routed on the workers; the solver runs here. The answer equals the local
    one (same engine, same pairs, same calls).
    """
    started = time.perf_counter()
    spec = _as_spec(engine)
    dask = _client(client)
    frame = population_frame(population, population_column, settings)[0]
    covered0 = np.zeros(len(frame), dtype=bool)
    if sites is not None and len(sites):
        covered0 = baseline_dask(sites, rule, spec, frame, client=dask)
    baseline_s = time.perf_counter() - started
    sets = coverage_sets_dask(
        spec,
        frame,
        candidates,
        rule.max_drive_s,
        client=dask,
        units=np.flatnonzero(~covered0),
        progress=progress,
    )
    res = suggest_sites(
        sites,
        candidates,
        k,
        rule,
        None,
        frame,
        population_column=population_column,
        time_limit_s=time_limit_s,
        sets=sets,
        covered0=covered0,
    )
    return dataclasses.replace(
        res,
        elapsed_s=time.perf_counter() - started,
        stats=dataclasses.replace(res.stats, baseline_s=baseline_s),
    )
