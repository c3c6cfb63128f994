"""National coverage runs on a Dask cluster.

With a real routing engine a national run (33,791 ZCTAs × dozens of sites, or × thousands of
candidate hospitals) is too much for one machine. This module runs the *same* steps as
:func:`geo.coverage.coverage` and :func:`geo.siting.coverage_sets` on ``dask.distributed``:

1. reach-bounded coverage and siting: the pairs within reach are found on the client and each
   task routes one block of sites or candidates (:func:`geo.coverage.pair_blocks`, one engine
   call, the same blocks as a local run); siting's baseline leaves out places already covered;
   unbounded coverage splits the population points into chunks, the sites scattered once;
2. only the points a task needs travel with it;
3. each worker builds **one** routing engine from a picklable :class:`RouterSpec` (an engine
   name and options, e.g. ``RouterSpec("valhalla")``) the first time it needs it and reuses it;
   a live engine object (a Valhalla actor, an HTTP session) never travels over the network;
4. the driver joins the answers and assembles the result with the local code, so the
   numbers are identical to a local run.

Modules: :mod:`geo.distributed.workers` (engine recipes, one engine per worker process, the
tasks), :mod:`geo.distributed.coverage`, :mod:`geo.distributed.siting`.

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

from geo.distributed.coverage import coverage_dask
from geo.distributed.siting import baseline_dask, coverage_sets_dask, suggest_sites_dask
from geo.distributed.workers import (
    RouterSpec,
    engines_built,
    local_cluster,
    worker_router,
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
