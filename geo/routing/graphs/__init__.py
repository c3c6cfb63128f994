"""Local road graphs, one concern per module; the public names are re-exported by
:mod:`geo.routing.graph` (import them from there).

* :mod:`~geo.routing.graphs.manifest` — what a graph is (:class:`GraphManifest`), file names;
* :mod:`~geo.routing.graphs.folders` — where graphs live, names, locks, atomic writes;
* :mod:`~geo.routing.graphs.engines` — engine binaries, versions, Valhalla's config, OSRM's
  usability;
* :mod:`~geo.routing.graphs.extracts` — reading and sorting extracts, the covered area;
* :mod:`~geo.routing.graphs.build` — building Valhalla tiles and the OSRM dataset;
* :mod:`~geo.routing.graphs.verify` — checking files against the manifest, opening a graph;
* :mod:`~geo.routing.graphs.store` — loading, listing and removing graphs; the demo graph.
"""
