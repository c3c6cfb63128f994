"""The ``osrm`` engine: exact drive-time tables and routes from a local graph's OSRM dataset.

OSRM runs in-process (``osrm-bindings``) over the ``osrm/`` dataset that ``graph build`` makes
from the same sorted extract as the Valhalla tiles (:mod:`geo.routing.graph`). Its ``Table``
answers equal its own ``Route`` answers for the same pair (both run the same shortest-path
search), which Valhalla's matrices do not guarantee; its car profile is a different speed model
from Valhalla's ``auto`` costing, so every answer says which engine gave it
(``osrm · OSM extract demo of 2015-02-07``).

Tables (the ``osrm.OSRM`` instance, requests, checks) are :mod:`geo.routing.osrm_tables`.
Speed (docs/engine.md, "Benchmarks"): a table costs OSRM one search per place, kept inside a
small cell by the dataset's MLD partition (:data:`geo.routing.graph.OSRM_MLD_CELL_SIZES`), plus
one search across the whole graph per site and table. So identical points are asked once, a
batch goes out in as few tables as ``chunk_pairs`` allows (``limits.max_matrix_pairs``), and a
single site is asked twice (OSRM's one-to-many search costs nodes × places).

Direction: ``drive_times(origins, destinations)`` is a table with the origins as OSRM
``sources`` and the destinations as ``destinations``: times from each origin *to* each
destination (lodging → site), which differ from the reverse where streets are one-way.

Honest edges
------------
* The data-edge rule of :mod:`geo.routing.data_edge` applies unchanged: a point outside the
  graph's covered area is never sent to OSRM (OSRM would snap a point 5 km off the data onto the
  nearest road and answer); it gets NaN and an edge flag.
* Snap guard: OSRM routes from the nearest road point. A place farther than
  :data:`DEFAULT_MAX_SNAP_M` from any road of the graph gets NaN and an edge flag, not a time
  whose first kilometres are unknown. 3 km is just over the diagonal of a covered-area cell
  (2 km × 2 km, 2.83 km): any point in a cell that holds a road node is within it, so only
  places in filled gaps of the covered area (lakes, fields between towns) are refused.
* Every engine number is checked: a duration that is not finite and positive — 0 only when both
  ends snap to the same road point — is an engine fault (:class:`~geo.errors.EngineError`),
  never a drive time.
* Reach screening: :meth:`OsrmRouter.nearest` with a horizon (the rule's limit) routes no place
  that lies farther than the horizon at :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` from
  every site, straight line: no drive can reach a site in time, whatever the roads (so the data
  edge does not matter either). Such a row carries only a bound (``lower_s`` = straight-line
  distance at that speed, above the horizon; method ``screened``), never a drive time. Every
  other place is routed to every site, exactly.
* Isochrones: OSRM has none; :meth:`OsrmRouter.isochrones` asks a :class:`ValhallaRouter` on the
  same graph, and the frame's ``engine`` column says ``valhalla``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import EngineError, EngineNotAvailableError, OutsideDataError
from geo.geodesy import haversine_km
from geo.routing.base import NearestResult, Points, Router, as_lonlat_array
from geo.routing.data_edge import (
    DEFAULT_EDGE_MARGIN_KM,
    DEFAULT_EDGE_SPEED_KMH,
    EDGE_MESSAGE,
    DataEdge,
    EdgeQueries,
)
from geo.routing.graph import DEMO_GRAPH, GraphManifest, load_graph, open_graph, osrm_problem
from geo.routing.osrm_tables import DEFAULT_CHUNK_PAIRS, OsrmTables
from geo.settings import Settings, get_settings
from geo.types import (
    DriveTimeMatrix,
    EngineInfo,
    EngineLimits,
    LonLat,
    Route,
)

DEFAULT_MAX_SNAP_M = 3_000.0
"""A place farther than this from every road of the graph gets no drive time (m)."""
SNAP_MESSAGE = "farther than {km:g} km from any road of the graph; no drive time"


class OsrmRouter(OsrmTables, EdgeQueries, Router):
    """Drive times and routes from a local graph's OSRM dataset (see the module docstring).

    Parameters
    ----------
    graph
        Name of a graph in the cache (``demo`` is built on first use) or its manifest.
    settings
        Where the cache is; default from the environment.
    edge_speed_kmh
        Speed of the data-edge rule (km/h).
    edge_margin_km
        Isochrones closer than this to the data boundary are flagged (km).
    max_snap_m
        Places farther than this from every road get NaN (m).
    chunk_pairs
        Largest table sent in one request (origin × destination pairs).
    """

    name = "osrm"

    def __init__(
        self,
        graph: str | GraphManifest = DEMO_GRAPH,
        settings: Settings | None = None,
        *,
        edge_speed_kmh: float = DEFAULT_EDGE_SPEED_KMH,
        edge_margin_km: float = DEFAULT_EDGE_MARGIN_KM,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    ) -> None:
        self.settings = settings or get_settings()
        self.graph = (
            open_graph(graph)
            if isinstance(graph, GraphManifest)
            else load_graph(graph, self.settings)
        )
        problem = osrm_problem(self.graph)
        if problem:
            raise EngineNotAvailableError(problem)
        self.edge = DataEdge(
            self.graph.covered_area, edge_speed_kmh=edge_speed_kmh, edge_margin_km=edge_margin_km
        )
        self.max_snap_m = float(max_snap_m)
        self.chunk_pairs = max(1, int(chunk_pairs))
        # max_matrix_pairs: one table's worth, so that a batch check sends its places in as few
        # tables as possible — each table pays one search across the whole graph per site
        # (10,000 × 20 on the 300 km grid: 54 s in one table, 229 s in five of 2,000 places).
        self.limits = EngineLimits(
            max_isochrone_min=self.graph.max_isochrone_min,
            max_isochrone_contours=4,
            max_matrix_pairs=self.chunk_pairs,
        )
        self._lock = threading.Lock()
        self._engine: Any = None
        self._valhalla: Router | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="osrm", data=self.graph.data_label, data_date=self.graph.osm_date)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Drive times (s) and distances (m) from each origin to each destination.

        NaN where a point is off the data, farther than ``max_snap_m`` from any road, or
        unreachable; ``edge_warning`` follows the data-edge rule and is True for all of those.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        oc, dc = self.covers(o), self.covers(d)
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        far_o = np.zeros(len(o), dtype=bool)
        far_d = np.zeros(len(d), dtype=bool)
        oi, di = np.flatnonzero(oc), np.flatnonzero(dc)
        if len(oi) and len(di):
            # Each distinct point once: OSRM's cost is per point (many places share a ZIP
            # centroid or an address), and the answer for a point does not depend on the others.
            uo, inv_o = np.unique(o[oi], axis=0, return_inverse=True)
            ud, inv_d = np.unique(d[di], axis=0, return_inverse=True)
            inv_o, inv_d = inv_o.reshape(-1), inv_d.reshape(-1)
            udur, udist, ufar_o, ufar_d = self._tables(uo, ud)
            dur[np.ix_(oi, di)] = udur[np.ix_(inv_o, inv_d)]
            dist[np.ix_(oi, di)] = udist[np.ix_(inv_o, inv_d)]
            far_o[oi] = ufar_o[inv_o]
            far_d[di] = ufar_d[inv_d]
        edge = self.edge_flags(self.edge_distance_m(o), self.edge_distance_m(d), dur)
        edge |= (~oc | far_o)[:, None] | (~dc | far_d)[None, :]
        return DriveTimeMatrix(duration_s=dur, distance_m=dist, engine=self.info, edge_warning=edge)

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        """For each origin, the destination with the shortest drive (exact where routed).

        With ``horizon_s`` (seconds, the rule's limit), an origin farther than the horizon at
        :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` from every destination (straight
        line) is not routed: it gets ``lower_s`` = that distance at that speed (> horizon),
        ``upper_s`` = inf, no drive time, method ``screened``, no edge flag (the bound holds
        whatever roads lie beyond the data). Every other origin is routed to every destination.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        # A warm repeat is answered from the process-wide memory by the wrapper the catalogue
        # and auto put around this engine (geo.routing.cache.CachedRouter), not here.
        if horizon_s is None or not np.isfinite(horizon_s) or len(o) == 0 or len(d) == 0:
            return super().nearest(o, d, horizon_s)
        reach_m = self.reach_bound_m(float(horizon_s))
        closest_m = np.min(haversine_km(o, d), axis=1) * 1000.0  # NaN coordinates: NaN
        beyond = self.covers(o) & (closest_m > reach_m)
        if not beyond.any():
            return super().nearest(o, d, horizon_s)
        n = len(o)
        index = np.full(n, -1, dtype=np.int64)
        duration = np.full(n, np.nan)
        distance = np.full(n, np.nan)
        lower = np.where(beyond, closest_m / reach_m * float(horizon_s), np.nan)
        upper = np.where(beyond, np.inf, np.nan)
        edge = np.zeros(n, dtype=bool)
        method = np.where(beyond, "screened", "routed").astype("<U8")
        rows = np.flatnonzero(~beyond)
        if len(rows):
            res = super().nearest(o[rows], d, horizon_s)
            index[rows], duration[rows], distance[rows] = res.index, res.duration_s, res.distance_m
            lower[rows], upper[rows], edge[rows] = res.lower_s, res.upper_s, res.edge_warning
            method[rows] = res.method
        return NearestResult(
            index=index,
            duration_s=duration,
            lower_s=lower,
            upper_s=upper,
            distance_m=distance,
            engine=self.info,
            edge_warning=edge,
            method=method,
        )

    # --- route --------------------------------------------------------------------------------
    def route(self, origin: LonLat, destination: LonLat) -> Route:
        """One drive from ``origin`` to ``destination`` with its road geometry."""
        import osrm

        ends = as_lonlat_array([origin, destination])
        covered = self.covers(ends)
        if not covered.all():
            which = "the origin" if not covered[0] else "the destination"
            raise OutsideDataError(
                f"{which} is outside the road data of graph {self.graph.name!r} "
                f"({EDGE_MESSAGE}); build a graph whose extract covers both ends"
            )
        params = osrm.RouteParameters(
            coordinates=[(float(x), float(y)) for x, y in ends],
            geometries="geojson",
            overview="full",
            generate_hints=False,
        )
        try:
            res = self.engine.Route(params)
        except RuntimeError as exc:
            text = str(exc)
            if "NoRoute" in text or "NoSegment" in text:
                raise EngineError(
                    f"no road route between these points in graph {self.graph.name!r} "
                    f"({EDGE_MESSAGE}: a connecting road may lie outside it)"
                ) from exc
            raise EngineError(f"the local OSRM engine failed on a route: {text}") from exc
        snap = np.array([float(w["distance"]) for w in res["waypoints"]], dtype=float)
        if (snap > self.max_snap_m).any():
            which = "the origin" if snap[0] > self.max_snap_m else "the destination"
            raise OutsideDataError(
                f"{which} is "
                + SNAP_MESSAGE.format(km=self.max_snap_m / 1000)
                + f" (graph {self.graph.name!r})"
            )
        trip = res["routes"][0]
        duration = float(trip["duration"])
        distance = float(trip["distance"])
        locs = np.array(
            [[float(v) for v in w["location"]] for w in res["waypoints"]], dtype=float
        ).reshape(-1, 2)
        self._check_durations(np.array([[duration]]), locs[:1], locs[1:])
        coords = np.array(
            [[float(v) for v in c] for c in trip["geometry"]["coordinates"]], dtype=float
        ).reshape(-1, 2)
        if len(coords) < 2:
            coords = np.vstack([locs[:1], locs[-1:]])
        edge_m = self.edge_distance_m(ends)
        flag = self.edge_flags(edge_m[:1], edge_m[1:], np.array([[duration]]))[0, 0]
        return Route(
            duration_s=duration,
            distance_m=distance,
            geometry=shapely.LineString(coords),
            engine=self.info,
            notes=(EDGE_MESSAGE,) if flag else (),
        )

    # --- isochrones (Valhalla on the same graph) ----------------------------------------------
    @property
    def valhalla(self) -> Router:
        """A Valhalla router on the same graph, for isochrones (created on first use)."""
        with self._lock:
            if self._valhalla is None:
                from geo.routing.valhalla import ValhallaRouter

                self._valhalla = ValhallaRouter(
                    self.graph,
                    self.settings,
                    edge_speed_kmh=self.edge.edge_speed_kmh,
                    edge_margin_km=self.edge.edge_margin_km,
                )
            return self._valhalla

    def isochrones(
        self, points: Points, minutes: Sequence[float], *, reverse: bool = False
    ) -> gpd.GeoDataFrame:
        """Areas reachable within each of ``minutes``, answered by Valhalla on the same graph.

        OSRM has no isochrones; the ``engine`` column says ``valhalla``.
        """
        router = self.valhalla
        frame: gpd.GeoDataFrame = router.isochrones(points, minutes, reverse=reverse)  # type: ignore[call-arg]
        return frame


__all__ = ["DEFAULT_MAX_SNAP_M", "OsrmRouter"]
