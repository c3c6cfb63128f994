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
