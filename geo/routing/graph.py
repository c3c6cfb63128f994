"""Local road graphs: one sorted OSM extract, two engines (Valhalla tiles + an OSRM dataset).

A graph lives in ``<Settings.cache_dir>/graphs/<name>/`` with

* ``tiles/`` — Valhalla routing tiles built by ``valhalla_build_tiles`` (isochrones, routes,
  screening);
* ``osrm/graph.osrm.*`` — an OSRM dataset built by the ``osrm-bindings`` binaries from the same
  sorted extract (tables and routes), MLD by default or CH (``algorithm="ch"``);
* ``valhalla.json`` — the Valhalla configuration; rewritten when the graph is opened if it names
  another folder (a moved or copied cache) or was written by another Valhalla version;
* ``manifest.json`` — what the graph is (:class:`GraphManifest`): name, source extracts with
  their SHA-256, OSM data date, the area its road data covers, tile count and size, engine
  versions, OSRM algorithm, and the size and SHA-256 of every tile and OSRM file.

Opening a graph for routing (:func:`load_graph`, :func:`open_graph`) checks it against its
manifest: every listed file present with its size, always; and the SHA-256 of every file on the
first open in a process (see :func:`verify_graph` for the policy on very large graphs). A damaged
graph is refused with a message naming it and the command that rebuilds it.

The *covered area* is where the graph has roads: the cells of a ``cell_km`` grid that hold a road
node, merged and closed (gaps narrower than a few cells are filled). A point outside it cannot be
routed honestly, and answers near its boundary may be cut short by the end of the data.

The built-in ``demo`` graph is made from the extracts shipped in ``data/osm/`` (Harrisburg PA and
Columbus OH); :func:`ensure_demo_graph` builds it on first use in a few seconds, and again when the
extracts, the manifest format or an engine version changed, or the graph is damaged. Builds of one
graph are serialised across processes with a file lock.

The code lives in :mod:`geo.routing.graphs`, one concern per module (``manifest``, ``folders``,
``engines``, ``extracts``, ``build``, ``verify``, ``store``); every name is importable from here.
"""

from __future__ import annotations

from geo.routing.graphs.build import OSRM_MLD_CELL_SIZES, build_graph
from geo.routing.graphs.engines import (
    ensure_valhalla_config,
    osrm_bin_dir,
    osrm_car_profile,
    osrm_problem,
    osrm_version,
    valhalla_bin_dir,
    valhalla_config,
    valhalla_version,
)
from geo.routing.graphs.extracts import covered_area, sort_extracts
from geo.routing.graphs.folders import graph_lock, graphs_dir
from geo.routing.graphs.manifest import (
    DEFAULT_CELL_KM,
    DEFAULT_MAX_ISOCHRONE_MIN,
    DEFAULT_OSRM_ALGORITHM,
    DEMO_GRAPH,
    MANIFEST_VERSION,
    OSRM_ALGORITHMS,
    GraphManifest,
    read_manifest,
)
from geo.routing.graphs.store import (
    demo_extracts,
    ensure_demo_graph,
    list_graphs,
    load_graph,
    remove_graph,
)
from geo.routing.graphs.verify import (
    FULL_CHECK_MAX_BYTES,
    GraphCheck,
    damaged_message,
    open_graph,
    verify_graph,
)
from geo.routing.graphs.verify import _forget_verified as _forget_verified

__all__ = [
    "DEFAULT_CELL_KM",
    "DEFAULT_MAX_ISOCHRONE_MIN",
    "DEFAULT_OSRM_ALGORITHM",
    "DEMO_GRAPH",
    "FULL_CHECK_MAX_BYTES",
    "MANIFEST_VERSION",
    "OSRM_ALGORITHMS",
    "OSRM_MLD_CELL_SIZES",
    "GraphCheck",
    "GraphManifest",
    "build_graph",
    "covered_area",
    "damaged_message",
    "demo_extracts",
    "ensure_demo_graph",
    "ensure_valhalla_config",
    "graph_lock",
    "graphs_dir",
    "list_graphs",
    "load_graph",
    "open_graph",
    "osrm_bin_dir",
    "osrm_car_profile",
    "osrm_problem",
    "osrm_version",
    "read_manifest",
    "remove_graph",
    "sort_extracts",
    "valhalla_bin_dir",
    "valhalla_config",
    "valhalla_version",
    "verify_graph",
]
