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
import numpy.typing as npt

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
    pairs_in_reach,
    population_frame,
    prepare_coverage,
    reach_km,
    site_points,
    without_second_opinions,
)
from geo.errors import EngineNotAvailableError, ValidationError
from geo.population import PopulationKind
from geo.routing.base import NearestResult, Router, concat_nearest
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.siting import (
    DEFAULT_BLOCK_CANDIDATES,
    CoverageSets,
    SuggestResult,
    baseline_covered,
    finish_sets,
    screening_radius_km,
    suggest_sites,
)
from geo.siting.sets import candidate_blocks, located_pairs, time_pairs, within_limit
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
    # Coverage never reads second opinions: do not ask for them.
    router = without_second_opinions(worker_router(spec))
    return router.nearest(origins, destinations, horizon_s)


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


def _times_task(
    spec: RouterSpec,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    ui: IntArray,
    ci: IntArray,
    km: FloatArray,
) -> tuple[FloatArray, int]:
    return time_pairs(worker_router(spec), unit_xy, cand_xy, ui, ci, km)


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
    chunk_size: int = DEFAULT_BLOCK_CANDIDATES,
    max_speed_kmh: float = MAX_SPEED_KMH,
    units: IntArray | None = None,
    progress: Progress | None = None,
) -> CoverageSets:
    """:func:`geo.siting.coverage_sets` on a Dask cluster (for :func:`suggest_sites`'s ``sets``).

    The pairs within reach are found here (one spatial-index query); each task times the pairs
    of a block of ``chunk_size`` candidates (one engine call per candidate, as locally) and sends
    back only their seconds, so the sets equal a local run's. ``units`` restricts the run to
    those population rows (e.g. the ones the existing sites do not cover); positions in the
    result are always rows of ``population``.
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
    ui, ci, km = pairs_in_reach(unit_xy[todo], cand_xy, radius)
    blocks = candidate_blocks(ci, chunk_size)
    futures = []
    for a, b in blocks:
        # Ship only the units this block needs (local positions 0..m-1).
        need, local = np.unique(ui[a:b], return_inverse=True)
        cands, cl = np.unique(ci[a:b], return_inverse=True)
        futures.append(
            dask.submit(
                _times_task,
                spec,
                unit_xy[todo[need]],
                cand_xy[cands],
                local.astype(np.int64),
                cl.astype(np.int64),
                km[a:b],
                pure=False,
            )
        )
    parts = _gather_with_progress(dask, futures, progress, [b - a for a, b in blocks])
    kept_u: list[IntArray] = []
    kept_c: list[IntArray] = []
    kept_s: list[FloatArray] = []
    for (a, b), (seconds, _) in zip(blocks, parts, strict=True):
        keep = within_limit(seconds, limit_s)
        kept_u.append(todo[ui[a:b][keep]])
        kept_c.append(ci[a:b][keep])
        kept_s.append(np.asarray(seconds, dtype=float)[keep])
    return finish_sets(
        kept_u,
        kept_c,
        kept_s,
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
    chunk_size: int = 2000,
) -> npt.NDArray[np.bool_]:
    """Which population rows the existing ``sites`` already cover, routed reach-bounded on the
    cluster (the baseline of :func:`suggest_sites_dask`; same test as the local baseline)."""
    spec = _as_spec(engine)
    dask = _client(client)
    unit_xy = lonlat_of(population, "population")
    ok = np.isfinite(unit_xy).all(axis=1)
    site_xy, usable = site_points(sites)
    if not usable.any() or not ok.any():
        return np.zeros(len(unit_xy), dtype=bool)
    origins = unit_xy[ok]
    dest = dask.scatter(site_xy[usable], broadcast=True)
    step = max(1, chunk_size)
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
        for s in range(0, len(origins), step)
    ]
    parts = list(dask.gather(futures))
    return baseline_covered(concat_nearest([p[0] for p in parts]), ok, rule)


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
    chunk_size: int = DEFAULT_BLOCK_CANDIDATES,
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
        chunk_size=chunk_size,
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
    "baseline_dask",
    "coverage_dask",
    "coverage_sets_dask",
    "engines_built",
    "local_cluster",
    "suggest_sites_dask",
    "worker_router",
]
