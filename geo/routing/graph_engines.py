"""The engines of the local road graphs: what answers for each graph in the cache.

A graph with OSRM data answers with OSRM (the verdict engine) and asks Valhalla on the same graph
for a second opinion near the limit and for isochrones
(:class:`~geo.routing.second_opinion.SecondOpinionRouter`); a graph without OSRM data answers
with Valhalla alone. The ``auto`` engine consults these first (:mod:`geo.routing.auto`).
"""

from __future__ import annotations

import contextlib

from geo.errors import TrialreachError
from geo.routing.base import Router
from geo.routing.cache import CachedRouter
from geo.routing.graph import GraphManifest, ensure_demo_graph, list_graphs
from geo.settings import Settings


def local_routers(settings: Settings) -> list[Router]:
    """One router per graph in the cache (the demo graph is built if missing).

    A graph with OSRM data answers with OSRM (the verdict engine: exact tables, routes) and
    asks Valhalla on the same graph for a second opinion near the limit and for isochrones
    (:class:`~geo.routing.second_opinion.SecondOpinionRouter`); a graph without OSRM data
    answers with Valhalla alone.
    """
    # No demo extracts here is fine: other graphs may still exist.
    with contextlib.suppress(TrialreachError):
        ensure_demo_graph(settings)
    routers: list[Router] = []
    for manifest in list_graphs(settings):
        try:
            routers.append(graph_router(manifest, settings))
        except TrialreachError:
            continue
    return routers


def graph_router(manifest: GraphManifest, settings: Settings) -> Router:
    """The engine of one graph: OSRM with a Valhalla second opinion where the graph has OSRM
    data, else Valhalla; each engine wrapped in a :class:`~geo.routing.cache.CachedRouter`, so
    a warm repeat is answered from the process-wide memory."""
    if manifest.has_osrm:
        try:
            from geo.routing.osrm import OsrmRouter
            from geo.routing.second_opinion import SecondOpinionRouter
        except ImportError:  # pragma: no cover - osrm-bindings is a dependency
            pass
        else:
            with contextlib.suppress(TrialreachError):
                osrm = OsrmRouter(manifest, settings)
                # Each engine in the process-wide memory on its own: a second opinion that
                # failed is not remembered, so a repeat asks it again (and only it).
                return SecondOpinionRouter(
                    CachedRouter(osrm, settings, memory_size=0),
                    lambda: CachedRouter(osrm.valhalla, settings, memory_size=0),
                )
    from geo.routing.valhalla import ValhallaRouter

    return CachedRouter(ValhallaRouter(manifest, settings), settings, memory_size=0)


__all__ = ["graph_router", "local_routers"]
