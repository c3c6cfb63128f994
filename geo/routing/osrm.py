"""The ``osrm`` engine: exact drive-time tables and routes from a local graph's OSRM dataset.

OSRM runs in-process (``osrm-bindings``) over the ``osrm/`` dataset that ``graph build`` makes
from the same sorted extract as the Valhalla tiles (:mod:`geo.routing.graph`). Its ``Table``
answers equal its own ``Route`` answers for the same pair (both run the same shortest-path
search), which Valhalla's matrices do not guarantee; its car profile is a different speed model
from Valhalla's ``auto`` costing, so every answer says which engine gave it
(``osrm · OSM extract demo of 2015-02-07``).

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
from geo.geodesy import pairwise_km
from geo.routing.base import Points, Router, as_lonlat_array
from geo.routing.data_edge import (
    DEFAULT_EDGE_MARGIN_KM,
    DEFAULT_EDGE_SPEED_KMH,
    EDGE_MESSAGE,
    DataEdge,
)
from geo.routing.graph import DEMO_GRAPH, GraphManifest, load_graph, open_graph, osrm_problem
from geo.settings import Settings, get_settings
from geo.types import (
    BoolArray,
    DriveTimeMatrix,
    EngineInfo,
    EngineLimits,
    FloatArray,
    LonLat,
    Route,
)

DEFAULT_MAX_SNAP_M = 3_000.0
"""A place farther than this from every road of the graph gets no drive time (m)."""
DEFAULT_CHUNK_PAIRS = 250_000
"""Largest table sent in one request (origin × destination pairs)."""
SAME_POINT_M = 5.0
"""Snapped ends closer than this (m) are one road point: a 0 s drive is then genuine."""
SNAP_MESSAGE = "farther than {km:g} km from any road of the graph; no drive time"


def _waypoints(items: Any, n: int) -> FloatArray:
    """(n, 3) snap distance (m), lon, lat of OSRM waypoints (iterated, never indexed)."""
    rows = [(float(w["distance"]), *(float(v) for v in w["location"])) for w in items]
    out = np.asarray(rows, dtype=float).reshape(-1, 3)
    if len(out) != n:
        raise EngineError(f"the local OSRM engine returned {len(out)} waypoints for {n} points")
    return out


class OsrmRouter(Router):
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
        self.limits = EngineLimits(
            max_isochrone_min=self.graph.max_isochrone_min, max_isochrone_contours=4
        )
        self._lock = threading.Lock()
        self._engine: Any = None
        self._valhalla: Router | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="osrm", data=self.graph.data_label, data_date=self.graph.osm_date)

    @property
    def engine(self) -> Any:
        """The in-process ``osrm.OSRM`` over the graph's dataset (opened on first use)."""
        with self._lock:
            if self._engine is None:
                try:
                    import osrm
                except ImportError as exc:  # pragma: no cover - the wheel is a dependency
                    raise EngineNotAvailableError(osrm_problem(self.graph) or str(exc)) from exc
                try:
                    self._engine = osrm.OSRM(
                        storage_config=str(self.graph.osrm_path),
                        algorithm=self.graph.osrm_algorithm.upper(),
                        use_shared_memory=False,
                    )
                except (RuntimeError, ValueError) as exc:
                    raise EngineNotAvailableError(
                        f"cannot open the OSRM data of road graph {self.graph.name!r} ({exc}); "
                        f"rebuild it with {self.graph.rebuild_hint}"
                    ) from exc
            return self._engine

    def covers(self, points: Points) -> BoolArray:
        """True where a point lies inside the graph's covered area (NaN → False)."""
        return self.edge.covers(points)

    def edge_distance_m(self, points: Points) -> FloatArray:
        """Straight-line distance (m) to the data boundary; 0 outside the data."""
        return self.edge.edge_distance_m(points)

    def edge_flags(
        self, origin_edge_m: FloatArray, dest_edge_m: FloatArray, duration_s: FloatArray
    ) -> BoolArray:
        """The data-edge rule (:meth:`geo.routing.data_edge.DataEdge.edge_flags`)."""
        return self.edge.edge_flags(origin_edge_m, dest_edge_m, duration_s)

    # --- table --------------------------------------------------------------------------------
    def _table_block(
        self, o: FloatArray, d: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """One OSRM table: durations (s), distances (m), snap distances (m) and snapped points."""
        import osrm

        coords = [(float(x), float(y)) for x, y in np.vstack([o, d])]
        params = osrm.TableParameters(
            coordinates=coords,
            sources=list(range(len(o))),
            destinations=list(range(len(o), len(o) + len(d))),
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        try:
            res = self.engine.Table(params)
        except RuntimeError as exc:
            raise EngineError(f"the local OSRM engine failed on a table: {exc}") from exc
        dur = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in res["durations"]],
            dtype=float,
        ).reshape(len(o), len(d))
        dist = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in res["distances"]],
            dtype=float,
        ).reshape(len(o), len(d))
        # Iterate the result arrays: indexing them one by one is linear per access (3,000
        # sources took 19 s that way, 0.03 s iterated).
        wo = _waypoints(res["sources"], len(o))
        wd = _waypoints(res["destinations"], len(d))
        return dur, dist, wo[:, 0], wd[:, 0], wo[:, 1:], wd[:, 1:]

    def _check_durations(self, dur: FloatArray, loc_o: FloatArray, loc_d: FloatArray) -> None:
        """Engine output must be NaN (no route) or finite and > 0 (0 only on one road point)."""
        known = ~np.isnan(dur)
        bad = known & (~np.isfinite(dur) | (dur < 0))
        zero = known & (dur == 0)
        if zero.any():
            same = pairwise_km(loc_o[:, None, :], loc_d[None, :, :]) * 1000.0 <= SAME_POINT_M
            bad |= zero & ~same
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            raise EngineError(
                f"the local OSRM engine answered an impossible drive time ({dur[i, j]!r} s) for "
                f"graph {self.graph.name!r}; this is an engine fault, not a drive time — rebuild "
                f"the graph with {self.graph.rebuild_hint}"
            )

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
            cols = min(len(di), self.chunk_pairs)
            rows = max(1, self.chunk_pairs // cols)
            for j in range(0, len(di), cols):
                dj = di[j : j + cols]
                for i in range(0, len(oi), rows):
                    oi_ = oi[i : i + rows]
                    a, b, so, sd, lo, ld = self._table_block(o[oi_], d[dj])
                    self._check_durations(a, lo, ld)
                    fo, fd = so > self.max_snap_m, sd > self.max_snap_m
                    far_o[oi_] |= fo
                    far_d[dj] |= fd
                    a[fo, :] = np.nan
                    a[:, fd] = np.nan
                    dur[np.ix_(oi_, dj)] = a
                    dist[np.ix_(oi_, dj)] = np.where(np.isfinite(a), b, np.nan)
        edge = self.edge_flags(self.edge_distance_m(o), self.edge_distance_m(d), dur)
        edge |= (~oc | far_o)[:, None] | (~dc | far_d)[None, :]
        return DriveTimeMatrix(duration_s=dur, distance_m=dist, engine=self.info, edge_warning=edge)

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
