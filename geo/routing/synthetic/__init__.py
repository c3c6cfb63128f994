"""Synthetic road networks as OpenStreetMap PBF files, with an independent reference for tests.

One concern per module: :mod:`~geo.routing.synthetic.spec` (the layout, :class:`GridSpec`, and
the plain grid's hand reference), :mod:`~geo.routing.synthetic.network` (the network a spec
describes: nodes, ways, restrictions, edges), :mod:`~geo.routing.synthetic.reference` (the
reference drive times: Dijkstra on the edge-expanded graph) and
:mod:`~geo.routing.synthetic.pbf` (writing it as an ``.osm.pbf``).

A square grid of ``size_km`` × ``size_km`` with a road every ``spacing_km``. Every
``primary_every``-th row and column is a fast road (``highway=primary``), the others are slow
(``highway=residential``); every way carries ``maxspeed``. Optional features, each off by
default (the default spec writes the same bytes as before they existed):

* **island** — a small grid east of the main one with no road to it: every trip between the two
  is unreachable (no ferry either).
* **motorway lattice** (``motorway_every``) — ``highway=motorway`` (``maxspeed`` =
  ``motorway_speed_kmh``, ``oneway=no``) along rows and columns half a cell off the grid, so they
  cross the streets on bridges (no shared node); motorways share a node where they cross each
  other. They connect to the grid only at exits: a ``highway=motorway_link`` from the motorway
  node next to every ``exit_every``-th grid line down to that grid node.
* **one-way rows** (``oneway_east_rows``/``oneway_west_rows``) — ``oneway=yes`` streets.
* **one-way spur** (``spur``) — a village south of the grid reached by a short one-way road in
  (4 cells) and left by a long one-way road out (14 cells): trips to and from it differ by a
  known amount.
* **turn restrictions** (``restrictions``) — OSM relations ``type=restriction`` at chosen grid
  junctions (the ways are split there, as OSM requires).
* **lake** (``lake``) — the grid's roads strictly inside a rectangle are left out: its middle is
  kilometres from any road.

:func:`grid_network` returns the network as nodes, ways and an edge table (from node, to node,
length in m, speed in km/h, one-way); :meth:`RoadNetwork.reference_times_s` computes shortest
drive times on it with scipy's Dijkstra on the edge-expanded graph, honouring one-way streets and
turn restrictions (no U-turns except at dead ends). It shares nothing with the routing engines:
it is the independent reference of the truth harness (``tests/truth``). Engines add turn costs
and apply their own speed models (OSRM's car profile drives at 80 % of ``maxspeed``);
:meth:`GridSpec.dijkstra_s` remains as the simple hand reference of the plain grid.
Keep test points two cells from the border: Valhalla's fastest routes avoid the outermost roads.
"""

from __future__ import annotations

from geo.routing.synthetic.network import RoadNetwork, SyntheticWay, grid_network
from geo.routing.synthetic.pbf import write_grid_pbf, write_network_pbf
from geo.routing.synthetic.reference import EdgeTable
from geo.routing.synthetic.spec import KM_PER_DEG_LAT, GridSpec, TurnRestriction

__all__ = [
    "KM_PER_DEG_LAT",
    "EdgeTable",
    "GridSpec",
    "RoadNetwork",
    "SyntheticWay",
    "TurnRestriction",
    "grid_network",
    "write_grid_pbf",
    "write_network_pbf",
]
