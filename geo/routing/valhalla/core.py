"""The Valhalla engine's core: the ``Actor`` over one graph's tiles, its data edge, and exact
drive times (one ``route`` per pair), routes for a map.

Every drive time this engine reports is Valhalla's own ``route`` time (costing ``auto``) for that
pair, from the origin (the place) to the destination (the site); never a matrix cell (see
:mod:`geo.routing.valhalla`). The data-edge rule is :mod:`geo.routing.data_edge` (shared with the
OSRM engine). The constructor is :class:`~geo.routing.valhalla.engine.ValhallaRouter`'s; the
other concerns (candidate search, isochrones, screening) are the classes built on this one.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import shapely

from geo.errors import EngineError, OutsideDataError
from geo.routing.base import Points, Router, as_lonlat_array, validate_durations
from geo.routing.cache import DiskCache
from geo.routing.data_edge import EDGE_MESSAGE, DataEdge, EdgeQueries
from geo.routing.graph import GraphManifest
from geo.routing.valhalla.wire import (
    UnconnectedError,
    decode_polyline6,
    location,
    raise_for_error,
)
from geo.settings import Settings
from geo.types import DriveTimeMatrix, EngineInfo, FloatArray, LonLat, Route

DEFAULT_MAX_SNAP_M = 3_000.0
"""Snap guard (m), as the OSRM engine's: just over the diagonal of a 2 km covered-area cell, so
only places in filled gaps of the covered area (a lake, fields between towns) are refused."""


class ValhallaCore(EdgeQueries, Router):
    """One graph's ``Actor``, its data edge and exact route times (see the module docstring)."""

    name = "valhalla"

    settings: Settings
    graph: GraphManifest
    edge: DataEdge
    edge_speed_kmh: float
    edge_margin_km: float
    max_snap_m: float
    stats: dict[str, float]
    """Work done so far: routes run and their seconds, candidate-matrix cells asked."""
    _disk: DiskCache
    _lock: threading.Lock
    _actor: Any

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            name="valhalla", data=self.graph.data_label, data_date=self.graph.osm_date
        )

    @property
    def actor(self) -> Any:
        if self._actor is None:
            try:
                from valhalla import Actor
            except ImportError as exc:  # pragma: no cover - the wheel is a dependency
                raise EngineError(
                    'the Valhalla engine is not installed; `pip install "pyvalhalla>=3.9.1,<4"`'
                ) from exc
            if not self.graph.config_path.is_file() or not self.graph.tile_dir.is_dir():
                raise EngineError(
                    f"road graph {self.graph.name!r} has no tiles at {self.graph.path}; rebuild "
                    f"it with `trialreach graph build --pbf FILE --name {self.graph.name}`"
                )
            self._actor = Actor(self.graph.config_path)
        return self._actor

    def _call(self, action: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """Run one Actor action; None when Valhalla finds no path; errors → geo.errors."""
        with self._lock:
            try:
                result: dict[str, Any] = getattr(self.actor, action)(request)
                return result
            except RuntimeError as exc:
                text = str(exc)
        raise_for_error(text, self.graph.name)
        return None

    # --- exact drive times: one route per pair ----------------------------------------------
    def _route_summary(self, a: FloatArray, b: FloatArray) -> tuple[float, float]:
        """Valhalla's ``route`` time (s) and length (m) from ``a`` to ``b``; NaN when none."""
        req = {
            "locations": [location(a, self.max_snap_m), location(b, self.max_snap_m)],
            "costing": "auto",
            "directions_options": {"units": "km"},
            "directions_type": "none",
        }
        try:
            res = self._call("route", req)
        except (UnconnectedError, OutsideDataError):
            res = None
        if res is None:
            return float("nan"), float("nan")
        summary = res["trip"]["summary"]
        return float(summary["time"]), float(summary["length"]) * 1000.0

    def route_pairs(self, origins: Points, destinations: Points) -> tuple[FloatArray, FloatArray]:
        """Route time (s) and length (m) of each pair ``origins[k] → destinations[k]``.

        One Valhalla ``route`` per pair (the engine's own drive time, never a matrix cell).
        NaN where a point is off the data, in another part of it, or no route exists.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        if len(o) != len(d):
            raise ValueError(f"{len(o)} origins for {len(d)} destinations: pairs must match")
        dur = np.full(len(o), np.nan)
        dist = np.full(len(o), np.nan)
        po, pd_ = self.part_of(o), self.part_of(d)
        todo = np.flatnonzero((po >= 0) & (po == pd_))  # different parts never connect
        t0 = time.perf_counter()
        for k in todo:  # one engine call per pair: the route is the unit Valhalla answers
            dur[k], dist[k] = self._route_summary(o[k], d[k])
        self.stats["routes"] += len(todo)
        self.stats["route_s"] += time.perf_counter() - t0
        ok = np.flatnonzero(np.isfinite(dur))
        for i in range(0, len(ok), 256):  # the shared validator takes tables: pairs on a diagonal
            block = ok[i : i + 256]
            table = np.full((len(block), len(block)), np.nan)
            np.fill_diagonal(table, dur[block])
            validate_durations(table, o[block], d[block], "Valhalla")
        return dur, dist

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Drive times (s) and distances (m), each Valhalla's ``route`` for that pair.

        Every covered pair is routed (one ``route`` call each: exact, slower than a matrix for
        big tables). NaN where a point is off the data or unreachable; ``edge_warning`` follows
        :mod:`geo.routing.data_edge`.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        oc, dc = self.covers(o), self.covers(d)
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        rows, cols = np.nonzero(oc[:, None] & dc[None, :])
        if len(rows):
            dur[rows, cols], dist[rows, cols] = self.route_pairs(o[rows], d[cols])
        edge = self.edge_flags(self.edge_distance_m(o), self.edge_distance_m(d), dur)
        edge |= ~oc[:, None] | ~dc[None, :]
        return DriveTimeMatrix(duration_s=dur, distance_m=dist, engine=self.info, edge_warning=edge)

    # --- route --------------------------------------------------------------------------------
    def route(self, origin: LonLat, destination: LonLat) -> Route:
        """One drive with its road geometry (decoded from Valhalla's polyline6 shape)."""
        ends = as_lonlat_array([origin, destination])
        covered = self.covers(ends)
        if not covered.all():
            which = "the origin" if not covered[0] else "the destination"
            raise OutsideDataError(
                f"{which} is outside the road data of graph {self.graph.name!r} "
                f"({EDGE_MESSAGE}); build a graph whose extract covers both ends"
            )
        req = {
            "locations": [location(ends[0], self.max_snap_m), location(ends[1], self.max_snap_m)],
            "costing": "auto",
            "directions_options": {"units": "km"},
            "directions_type": "none",
        }
        try:
            res = self._call("route", req)
        except UnconnectedError:
            res = None
        if res is None:
            # Unreachable answers are always flagged: the missing road may be outside the data.
            raise EngineError(
                f"no road route between these points in graph {self.graph.name!r} "
                f"({EDGE_MESSAGE}: a connecting road may lie outside it)"
            )
        edge_m = self.edge_distance_m(ends)
        trip = res["trip"]
        coords = np.concatenate([decode_polyline6(leg["shape"]) for leg in trip["legs"]])
        duration = float(trip["summary"]["time"])
        distance = float(trip["summary"]["length"]) * 1000.0
        validate_durations([[duration]], ends[:1], ends[1:], "Valhalla")
        flag = self.edge_flags(edge_m[:1], edge_m[1:], np.array([[duration]]))[0, 0]
        return Route(
            duration_s=duration,
            distance_m=distance,
            geometry=shapely.LineString(coords),
            engine=self.info,
            notes=(EDGE_MESSAGE,) if flag else (),
        )


__all__ = ["DEFAULT_MAX_SNAP_M", "EDGE_MESSAGE", "ValhallaCore"]
