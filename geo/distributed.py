"""National coverage runs on a Dask cluster.

With a real routing engine a national run (33,791 ZCTAs × dozens of sites, or × thousands of
candidate hospitals) is too much for one machine. This module runs the *same* steps as
:func:`geo.coverage.coverage` and :func:`geo.siting.coverage_sets` on ``dask.distributed``:

1. population points are split into chunks (by latitude for coverage sets, so each chunk meets
   few candidates);
2. each chunk is a task; the site/candidate points are scattered to every worker once;
3. each worker builds **one** routing engine from a picklable :class:`RouterSpec` (an engine
   name and options, e.g. ``RouterSpec("valhalla")``) the first time it needs it and reuses it;
   a live engine object (a Valhalla actor, an HTTP session) never travels over the network;
4. the driver joins the chunk answers and assembles the result with the local code, so the
   numbers are identical to a local run.

Local test or laptop (process workers, as on a real cluster)::

    from dask.distributed import Client
    with local_cluster(2) as cluster, Client(cluster) as client:
        spec = RouterSpec.on_graph("osrm", "/shared/graphs/us")  # opened once per worker
        result = coverage_dask(sites, rule, spec, "zcta", client=client, reach_bound=True)

Real cluster: start ``dask scheduler`` and ``dask worker tcp://scheduler:8786`` on machines
that have trialreach installed (and, for Valhalla, the road tiles at the same cache path), then
pass ``Client("tcp://scheduler:8786")``. Use one thread per worker for engines that are not
thread-safe (each worker process holds one engine).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from geo.coverage import (
    DEFAULT_BANDS_MIN,
    MAX_SPEED_KMH,
    CoverageResult,
    IntArray,
    Progress,
    ReachStats,
    assemble_coverage,
    lonlat_of,
    nearest_in_reach,
    prepare_coverage,
    reach_km,
)
from geo.errors import EngineNotAvailableError, ValidationError
from geo.population import PopulationKind
from geo.routing.base import NearestResult, Router, concat_nearest
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.siting import CoverageSets, finish_sets, pairs_within
from geo.types import EngineInfo, FloatArray


@dataclass(frozen=True)
class RouterSpec:
    """A picklable recipe for a routing engine, built on each worker.

    ``name`` is an engine name for :func:`geo.routing.get_router` (``estimate``, ``valhalla``,
    ``ors``, ``auto``); ``options`` are keyword arguments passed to it, as (name, value) pairs.
    """

    name: str = "estimate"
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def on_graph(cls, engine: str, folder: str | Path, **options: Any) -> RouterSpec:
        """A graph engine (``osrm`` or ``valhalla``) opened from a graph folder every worker
        can read (a shared file system, or the same path baked into the worker image)."""
        if engine not in ("osrm", "valhalla"):
            raise ValidationError(
                f"a graph folder needs engine 'osrm' or 'valhalla', not {engine!r}"
            )
        return cls(engine, (("graph_dir", str(folder)), *sorted(options.items())))

    def build(self) -> Router:
        options = dict(self.options)
        folder = options.pop("graph_dir", None)
        if folder is None:
            from geo.routing import get_router

            return get_router(self.name, **options)
        from geo.routing.graph import read_manifest

        manifest = read_manifest(Path(str(folder)))
        if self.name == "osrm":
            from geo.routing.osrm import OsrmRouter

            return OsrmRouter(manifest, **options)
        from geo.routing.valhalla import ValhallaRouter

        return ValhallaRouter(manifest, **options)


_ENGINES: dict[tuple[str, RouterSpec], Router] = {}
_LOCK = threading.Lock()


def _worker_key() -> str:
    """The address of the Dask worker running this task ("local" outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def worker_router(spec: RouterSpec) -> Router:
    """This worker's engine for ``spec``, built on first use and then reused."""
    key = (_worker_key(), spec)
    with _LOCK:
        router = _ENGINES.get(key)
        if router is None:
            router = spec.build()
            _ENGINES[key] = router
        return router


def engines_built() -> dict[str, int]:
    """Engines built so far in this process, per worker address (for tests and diagnostics)."""
    with _LOCK:
        out: dict[str, int] = {}
        for worker, _ in _ENGINES:
            out[worker] = out.get(worker, 0) + 1
        return out


def _nearest_task(
    spec: RouterSpec, origins: FloatArray, destinations: FloatArray, horizon_s: float | None
) -> NearestResult:
    return worker_router(spec).nearest(origins, destinations, horizon_s)


def _reach_task(
    spec: RouterSpec,
    origins: FloatArray,
    destinations: FloatArray,
    limit_s: float,
    max_speed_kmh: float,
) -> tuple[NearestResult, ReachStats]:
    return nearest_in_reach(
        worker_router(spec), origins, destinations, limit_s, max_speed_kmh=max_speed_kmh
    )


def _info_task(spec: RouterSpec) -> EngineInfo:
    return worker_router(spec).info


def _pairs_task(
    spec: RouterSpec,
    unit_xy: FloatArray,
    unit_pos: IntArray,
    cand_xy: FloatArray,
    limit_s: float,
    max_speed_kmh: float,
) -> tuple[IntArray, IntArray, FloatArray, int]:
    u, c, s, routed = pairs_within(
        worker_router(spec), unit_xy, cand_xy, limit_s, max_speed_kmh=max_speed_kmh
    )
    return unit_pos[u], c, s, routed


def _as_spec(engine: str | RouterSpec) -> RouterSpec:
    if isinstance(engine, RouterSpec):
        return engine
    if isinstance(engine, str):
        return RouterSpec(engine)
    raise ValidationError(
        "the Dask path needs an engine name or a RouterSpec (a live engine cannot be shipped "
        "to workers); e.g. RouterSpec('estimate')"
    )


def _client(client: Any) -> Any:
    if client is not None:
        return client
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError) as exc:
        raise EngineNotAvailableError(
            "no Dask client: pass client=Client(...) (pip install 'dask[distributed]'), or use "
            "geo.coverage.coverage for a local run"
        ) from exc


def _gather_with_progress(
    client: Any, futures: list[Any], progress: Progress | None, sizes: Sequence[int]
) -> list[Any]:
    if progress is None:
        return list(client.gather(futures))
    from distributed import as_completed

    total = int(sum(sizes))
    done = 0
    size_of = {f.key: n for f, n in zip(futures, sizes, strict=True)}
    for fut in as_completed(futures):  # type: ignore[no-untyped-call]
        done += size_of[fut.key]
        progress(done, total)
    return list(client.gather(futures))


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
        futures = [
            dask.submit(
                _reach_task,
                spec,
                origins[s : s + step],
                dest,
                rule.max_drive_s,
                MAX_SPEED_KMH,
                pure=False,
            )
            for s in starts
        ]
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


def coverage_sets_dask(
    engine: str | RouterSpec,
    population: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    limit_s: float,
    *,
    client: Any = None,
    chunk_size: int = 1000,
    max_speed_kmh: float = MAX_SPEED_KMH,
    progress: Progress | None = None,
) -> CoverageSets:
    """:func:`geo.siting.coverage_sets` on a Dask cluster (for :func:`suggest_sites`'s ``sets``).

    Population points are sorted by latitude and chunked, so each task meets only the
    candidates in its latitude band.
    """
    spec = _as_spec(engine)
    dask = _client(client)
    unit_xy = lonlat_of(population, "population")
    cand_xy = lonlat_of(candidates, "candidates")
    n = len(unit_xy)
    order = np.argsort(np.where(np.isfinite(unit_xy[:, 1]), unit_xy[:, 1], np.inf), kind="stable")
    step = max(1, chunk_size)
    starts = list(range(0, n, step))
    info = spec.build().info if not starts else None
    cands = dask.scatter(cand_xy, broadcast=True) if starts else None
    futures = [
        dask.submit(
            _pairs_task,
            spec,
            unit_xy[order[s : s + step]],
            order[s : s + step],
            cands,
            limit_s,
            max_speed_kmh,
            pure=False,
        )
        for s in starts
    ]
    parts = _gather_with_progress(dask, futures, progress, [min(step, n - s) for s in starts])
    if info is None:
        info = dask.submit(_info_task, spec, pure=False).result()
    routed = int(sum(p[3] for p in parts))
    return finish_sets(
        [p[0] for p in parts],
        [p[1] for p in parts],
        [p[2] for p in parts],
        n,
        len(cand_xy),
        limit_s,
        info,
        routed,
    )


def local_cluster(n_workers: int = 2, processes: bool = True) -> Any:
    """A small ``LocalCluster`` (one thread per worker, no dashboard) for tests and laptops.

    ``processes=True`` (default): each worker is its own process with its own engine, as on a
    real cluster; ``False`` runs threads in this process (quick, for tests of the plumbing).
    """
    from distributed import LocalCluster

    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
    )


__all__ = [
    "RouterSpec",
    "coverage_dask",
    "coverage_sets_dask",
    "engines_built",
    "local_cluster",
    "worker_router",
]
