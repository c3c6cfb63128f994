"""The ``valhalla`` engine: routed drive times from a local road graph, in-process and offline.

Answers come from Valhalla's Python ``Actor`` over the tiles of one local graph
(:mod:`geo.routing.graph`). Every answer carries the graph's provenance, e.g.
``valhalla · OSM extract demo of 2015-02-07``.

Exactness: every drive time this engine reports is Valhalla's own ``route`` time (costing
``auto``) for that pair, from the origin (the place) to the destination (the site); its matrices
are used only to find candidates. Honest edges: :mod:`geo.routing.data_edge` (shared with the
OSRM engine). With a horizon, :meth:`ValhallaRouter.nearest` may screen places by isochrones.

One concern per module:

========================  =========================================================================
``engine``                :class:`ValhallaRouter`: its options and constructor
``core``                  the ``Actor``, the data edge, exact routes (``drive_times``, ``route``)
``candidates``            nearest site by route, with matrix candidates; where places meet roads
``isochrones``            isochrone polygons, memory and disk caches
``screening``             ``nearest`` with a horizon: bounds from isochrones where it pays
``wire``                  locations, the polyline6 decoder, Valhalla's error words
========================  =========================================================================
"""

from __future__ import annotations

from geo.routing.data_edge import EDGE_MESSAGE
from geo.routing.valhalla.candidates import (
    DEFAULT_CANDIDATE_FACTOR,
    DEFAULT_CANDIDATE_SLACK_S,
    DEFAULT_CHUNK_PAIRS,
    DIRECT_MAX_SITES,
)
from geo.routing.valhalla.core import DEFAULT_MAX_SNAP_M
from geo.routing.valhalla.engine import ValhallaRouter
from geo.routing.valhalla.isochrones import ISOCHRONE_CACHE_SIZE, ISOCHRONE_EXTRA_COLUMNS
from geo.routing.valhalla.screening import (
    DEFAULT_SCREEN_BAND_MIN,
    DEFAULT_SCREEN_MIN_ORIGINS,
    SCREEN_EXPECTED_DECIDED,
    SCREEN_GENERALIZE_M,
    SCREEN_INNER_MARGIN_MIN,
    SCREEN_INNER_MARGIN_SHARE,
    SCREEN_SAMPLE,
    SCREEN_TOLERANCE_KM,
    ScreeningMode,
)
from geo.routing.valhalla.wire import decode_polyline6

__all__ = [
    "DEFAULT_CANDIDATE_FACTOR",
    "DEFAULT_CANDIDATE_SLACK_S",
    "DEFAULT_CHUNK_PAIRS",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SCREEN_BAND_MIN",
    "DEFAULT_SCREEN_MIN_ORIGINS",
    "DIRECT_MAX_SITES",
    "EDGE_MESSAGE",
    "ISOCHRONE_CACHE_SIZE",
    "ISOCHRONE_EXTRA_COLUMNS",
    "SCREEN_EXPECTED_DECIDED",
    "SCREEN_GENERALIZE_M",
    "SCREEN_INNER_MARGIN_MIN",
    "SCREEN_INNER_MARGIN_SHARE",
    "SCREEN_SAMPLE",
    "SCREEN_TOLERANCE_KM",
    "ScreeningMode",
    "ValhallaRouter",
    "decode_polyline6",
]
