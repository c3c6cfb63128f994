"""Workers of the Dask path: engine recipes, one engine per worker process, the tasks."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geo.coverage import (
    BLOCK_KM,
    IntArray,
    PairTimes,
    Progress,
    join_pair_times,
    pair_blocks,
    time_block,
)
from geo.errors import EngineNotAvailableError, ValidationError
from geo.routing.base import NearestResult, Router
from geo.siting.sets import block_seconds
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
    router = worker_router(spec).without_second_opinions()
    return router.nearest(origins, destinations, horizon_s)


def _block_task(
    spec: RouterSpec, origins: FloatArray, destinations: FloatArray, oi: IntArray, di: IntArray
) -> PairTimes:
    return time_block(worker_router(spec), origins, destinations, oi, di)


def _block_cost(n_o: int, n_d: int) -> float:
    """Rough relative cost of one OSRM table (geo.coverage.pairs): a whole-graph search per
    point of the smaller side (~300× a search inside a cell), one in-cell search per point of
    the larger side, a little per cell. Used only to hand out the largest blocks first."""
    return 300.0 * min(n_o, n_d) + max(n_o, n_d) + 0.02 * n_o * n_d


def submit_blocks(
    dask: Any,
    task: Any,
    spec: RouterSpec,
    origins: FloatArray,
    destinations: FloatArray,
    oi: IntArray,
    di: IntArray,
    blocks: Sequence[IntArray],
    *per_pair: Any,
) -> list[Any]:
    """One task per block of pairs (:func:`geo.coverage.pair_blocks`), in block order.

    A task gets only its block's distinct origins and destinations and the pairs' local
    positions (plus each array of ``per_pair`` cut to its pairs), so little travels. The most
    expensive blocks are submitted first (Dask runs earlier submissions first), so two workers
    do not wait on one large block at the end.
    """
    # Each block's distinct origins and destinations (and the pairs' places among them), once.
    local = [
        (np.unique(oi[r], return_inverse=True), np.unique(di[r], return_inverse=True))
        for r in blocks
    ]
    futures: list[Any] = [None] * len(blocks)
    cost = [_block_cost(len(o[0]), len(d[0])) for o, d in local]
    for k in sorted(range(len(blocks)), key=lambda k: -cost[k]):
        rows = blocks[k]
        (orgs, oloc), (dests, dloc) = local[k]
        futures[k] = dask.submit(
            task,
            spec,
            origins[orgs],
            destinations[dests],
            oloc.astype(np.int64),
            dloc.astype(np.int64),
            *(np.asarray(a)[rows] for a in per_pair),
            pure=False,
        )
    return futures


def route_pairs_dask(
    dask: Any,
    spec: RouterSpec,
    origins: FloatArray,
    destinations: FloatArray,
    oi: IntArray,
    di: IntArray,
    *,
    block_km: float | None = BLOCK_KM,
    progress: Progress | None = None,
) -> PairTimes:
    """:func:`geo.coverage.route_pairs` with each block a task on the cluster: the same blocks
    (so the same engine calls and times) as a local run with the same ``block_km``."""
    blocks = pair_blocks(destinations, oi, di, block_km=block_km)
    futures = submit_blocks(dask, _block_task, spec, origins, destinations, oi, di, blocks)
    parts = _gather_with_progress(dask, futures, progress, [len(r) for r in blocks])
    info = parts[0].engine if parts else dask.submit(_info_task, spec, pure=False).result()
    return join_pair_times(len(oi), info, blocks, parts)


def _info_task(spec: RouterSpec) -> EngineInfo:
    return worker_router(spec).info


def _seconds_task(
    spec: RouterSpec,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    ui: IntArray,
    ci: IntArray,
    km: FloatArray,
) -> tuple[FloatArray, int]:
    return block_seconds(worker_router(spec), unit_xy, cand_xy, ui, ci, km)


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
