"""National coverage runs on a Dask cluster.

With a real routing engine a national run (33,791 ZCTAs × dozens of sites, or × thousands of
candidate hospitals) is too much for one machine. This module runs the *same* steps as
:func:`geo.coverage.coverage` and :func:`geo.siting.coverage_sets` on ``dask.distributed``:

1. coverage: population points are split into chunks, each a task, the sites scattered to
   every worker once; siting (:mod:`geo.distributed.siting`): the pairs within reach are found
   on the client and each task times the pairs of a block of candidates (whole 50 km cells,
   one engine call per cell), after a baseline that leaves out places already covered;
2. only the points a task needs travel with it;
3. each worker builds **one** routing engine from a picklable :class:`RouterSpec` (an engine
   name and options, e.g. ``RouterSpec("valhalla")``) the first time it needs it and reuses it;
   a live engine object (a Valhalla actor, an HTTP session) never travels over the network;
4. the driver joins the chunk answers and assembles the result with the local code, so the
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
