"""The ``valhalla`` engine: routed drive times from a local road graph, in-process and offline.

Answers come from Valhalla's Python ``Actor`` over the tiles of one local graph
(:mod:`geo.routing.graph`). Every answer carries the graph's provenance, e.g.
``valhalla · OSM extract demo of 2015-02-07``.

Honest edges
------------
A graph only knows roads inside its *covered area*. Points outside it get NaN (never a verdict)
and ``edge_warning=True``. Inside it, an answer may still be cut short by the end of the data: a
quicker road, or a road at all, may exist outside. The rule used everywhere:

* a matrix cell (origin *o*, destination *d*) is flagged when
  ``(edge_distance(o) + edge_distance(d)) / edge_speed < time`` — i.e. a drive that leaves the
  data and comes back could, at ``edge_speed_kmh`` (default 120 km/h, faster than US highway
  limits), be quicker than the time found. Unreachable cells (NaN) are always flagged, because
  the missing road may lie outside the data. ``edge_distance`` is the straight-line distance to
  the boundary of the covered area (0 outside it).
* in :meth:`ValhallaRouter.nearest` with a horizon, ``time`` is capped at the upper screening
  contour (only drives that could change the verdict matter), and a place is flagged when the
  rule holds for its closest-to-the-edge destination.
* an isochrone polygon is flagged (column ``touches_data_edge``) when it comes within
  ``edge_margin_km`` (default 3 km) of the boundary of the covered area: it may be too small.

The message for all of them is :data:`EDGE_MESSAGE`.

Screening (:meth:`ValhallaRouter.nearest` with ``horizon_s``)
------------------------------------------------------------
For verdicts only the quickest site matters, and only whether it is within the limit. One reverse
isochrone per site (drive *to* the site) at ``horizon − band`` and ``horizon + band`` minutes
(``band`` = ``screen_band_min``, default 15) sorts places with vectorised point-in-polygon:
inside some site's inner contour → within (``upper_s`` = inner contour, method ``screened``);
outside every site's outer contour → outside (``lower_s`` = outer contour, method ``screened``);
the rest are routed exactly, and only to the sites whose outer contour holds them (method
``routed``). The band is far wider than the polygons' error (a few hundred metres), so verdicts
are those of the full matrix.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo.errors import EngineError, OutsideDataError, RangeLimitError
from geo.routing.base import (
    NearestResult,
    Points,
    Router,
    as_lonlat_array,
    empty_isochrones,
)
from geo.routing.cache import DiskCache, canonical_key
from geo.routing.graph import DEMO_GRAPH, GraphManifest, load_graph
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

EDGE_MESSAGE = "road data ends here; the result may be too short"
DEFAULT_EDGE_SPEED_KMH = 120.0
DEFAULT_EDGE_MARGIN_KM = 3.0
DEFAULT_SCREEN_BAND_MIN = 15.0
DEFAULT_SCREEN_MIN_ORIGINS = 100
"""Below this many places, :meth:`ValhallaRouter.nearest` routes every place exactly."""
DEFAULT_CHUNK_PAIRS = 50_000
ISOCHRONE_EXTRA_COLUMNS = ["touches_data_edge", "error"]
ISOCHRONE_CACHE_SIZE = 256
"""Isochrone answers kept in memory per router (oldest dropped first)."""
SCREEN_GENERALIZE_M = 200.0
SCREEN_TOLERANCE_KM = 2.0
"""A place outside the outer contour but within this distance of it (for instance in a small hole
of the rasterised polygon, such as a park away from the roads) is routed exactly instead of being
called "well outside". The inner contours need no such guard: they lie 15 minutes inside the
limit, far more than a polygon's own error (measured ≤ ~3.5 min on the test grid)."""
"""Douglas-Peucker tolerance of screening polygons (m): far below the screening band."""


class _UnconnectedError(EngineError):
    """Internal: Valhalla says two locations lie in road networks that do not connect."""


def decode_polyline6(encoded: str) -> FloatArray:
    """Decode a Valhalla/Google polyline with 6 decimals into an (n, 2) lon/lat array."""
    values: list[int] = []
    current = shift = 0
    for ch in encoded.encode("ascii"):
        b = ch - 63
        current |= (b & 0x1F) << shift
        shift += 5
        if b < 0x20:
            values.append(~(current >> 1) if current & 1 else current >> 1)
            current = shift = 0
    latlon = np.cumsum(np.asarray(values, dtype=np.int64).reshape(-1, 2), axis=0) / 1e6
    return np.asarray(latlon[:, ::-1], dtype=float)


def _loc(p: npt.NDArray[np.float64]) -> dict[str, float]:
    return {"lon": float(p[0]), "lat": float(p[1])}


def _tolerance_deg(lat: float) -> float:
    """:data:`SCREEN_TOLERANCE_KM` in degrees, generous in both axes at latitude ``lat``."""
    return float(SCREEN_TOLERANCE_KM / (111.32 * max(0.2, float(np.cos(np.radians(lat))))))


class ValhallaRouter(Router):
    """Routed drive times from one local road graph (see the module docstring).

    Parameters
    ----------
    graph
        Name of a graph in the cache (``demo`` is built on first use) or its manifest.
    settings
        Where the cache is; default from the environment.
    edge_speed_kmh
        Speed used by the data-edge rule (km/h); no road in the data should be faster.
    edge_margin_km
        An isochrone closer than this to the data boundary is flagged (km).
    persist_site_isochrones
        Keep the screening isochrones around *sites* on disk (they are public, and computing
        them is most of the cost of a first screening run); patients' places never are.
    screen_min_origins
        Fewer places than this are routed exactly instead of screened (isochrones cost more
        than a small matrix, and a coordinator checking one address wants the exact time).
    screen_band_min
        Half-width of the screening band around the horizon in :meth:`nearest` (minutes).
    chunk_pairs
        Largest matrix sent in one request (origin × destination pairs).
    """

    name = "valhalla"

    def __init__(
        self,
        graph: str | GraphManifest = DEMO_GRAPH,
        settings: Settings | None = None,
        *,
        edge_speed_kmh: float = DEFAULT_EDGE_SPEED_KMH,
        edge_margin_km: float = DEFAULT_EDGE_MARGIN_KM,
        screen_band_min: float = DEFAULT_SCREEN_BAND_MIN,
        screen_min_origins: int = DEFAULT_SCREEN_MIN_ORIGINS,
        persist_site_isochrones: bool = True,
        chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
    ) -> None:
        self.settings = settings or get_settings()
        self.graph = graph if isinstance(graph, GraphManifest) else load_graph(graph, self.settings)
        self.edge_speed_kmh = float(edge_speed_kmh)
        self.edge_margin_km = float(edge_margin_km)
        self.screen_band_min = float(screen_band_min)
        self.screen_min_origins = int(screen_min_origins)
        self.persist_site_isochrones = bool(persist_site_isochrones)
        self._disk = DiskCache(self.settings.cache_dir / "routing")
        self.chunk_pairs = max(1, int(chunk_pairs))
        self.limits = EngineLimits(
            max_isochrone_min=self.graph.max_isochrone_min,
            max_isochrone_contours=4,
        )
        self._lock = threading.Lock()
        self._actor: Any = None
        self._iso_cache: dict[tuple[Any, ...], dict[float, BaseGeometry]] = {}
        self._screen_cache: dict[
            tuple[Any, ...], tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]]
        ] = {}
        area = self.graph.covered_area
        shapely.prepare(area)
        self._area = area
        self._parts = list(shapely.get_parts(area))
        for part in self._parts:
            shapely.prepare(part)
        c = area.centroid
        self._to_m = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +units=m +ellps=WGS84",
            always_xy=True,
        )
        area_m = self._project(area)
        self._boundary_m = area_m.boundary
        self._interior_m = area_m.buffer(-self.edge_margin_km * 1000.0)
        shapely.prepare(self._boundary_m)
        shapely.prepare(self._interior_m)

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def info(self) -> EngineInfo:
        return EngineInfo(
            name="valhalla", data=self.graph.data_label, data_date=self.graph.osm_date
        )

    def _project(self, geom: BaseGeometry) -> BaseGeometry:
        def fwd(xy: FloatArray) -> FloatArray:
            x, y = self._to_m.transform(xy[:, 0], xy[:, 1])
            return np.stack([x, y], axis=1)

        return shapely.transform(geom, fwd)

    @property
    def actor(self) -> Any:
        if self._actor is None:
            try:
                from valhalla import Actor
            except ImportError as exc:  # pragma: no cover - the wheel is a dependency
                raise EngineError(
                    "the Valhalla engine is not installed; "
                    "`pip install pyvalhalla-weekly==3.5.1.post1.dev248`"
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
        low = text.lower()
        if "no path could be found" in low or "no route" in low:
            return None
        if "unconnected regions" in low:
            raise _UnconnectedError(text)
        if "no suitable edges" in low:
            raise OutsideDataError(
                f"no road of graph {self.graph.name!r} near a location ({text}); check the "
                "coordinates, or build a graph whose extract covers them "
                "(`trialreach graph build --pbf FILE`)"
            )
        if "exceeded max" in low or "max distance" in low or "exceeds" in low:
            raise RangeLimitError(f"the local Valhalla engine refused the request: {text}")
        raise EngineError(f"the local Valhalla engine failed: {text}")

    # --- edges --------------------------------------------------------------------------------
    def covers(self, points: Points) -> BoolArray:
        """True where a point lies inside the graph's covered area (NaN → False)."""
        p = as_lonlat_array(points)
        ok = np.isfinite(p).all(axis=1)
        out = np.zeros(len(p), dtype=bool)
        if ok.any():
            out[ok] = shapely.contains_xy(self._area, p[ok, 0], p[ok, 1])
        return out

    def edge_distance_m(self, points: Points) -> FloatArray:
        """Straight-line distance (m) from each point to the data boundary; 0 outside the data."""
        p = as_lonlat_array(points)
        inside = self.covers(p)
        out = np.zeros(len(p), dtype=float)
        if inside.any():
            x, y = self._to_m.transform(p[inside, 0], p[inside, 1])
            out[inside] = shapely.distance(self._boundary_m, shapely.points(x, y))
        return out

    def edge_flags(
        self, origin_edge_m: FloatArray, dest_edge_m: FloatArray, duration_s: FloatArray
    ) -> BoolArray:
        """The data-edge rule for a matrix (see module docstring); NaN times are flagged."""
        detour_s = (origin_edge_m[:, None] + dest_edge_m[None, :]) / (self.edge_speed_kmh / 3.6)
        t = np.where(np.isfinite(duration_s), duration_s, np.inf)
        return np.asarray(detour_s < t, dtype=bool)

    # --- matrix -------------------------------------------------------------------------------
    def _matrix_block(self, o: FloatArray, d: FloatArray) -> tuple[FloatArray, FloatArray]:
        req = {
            "sources": [_loc(p) for p in o],
            "targets": [_loc(p) for p in d],
            "costing": "auto",
            "verbose": False,
        }
        try:
            res = self._call("matrix", req)
        except (OutsideDataError, _UnconnectedError):
            if len(o) * len(d) == 1:
                return np.full((1, 1), np.nan), np.full((1, 1), np.nan)
            # Points in separate parts of the data (e.g. two cities) are not connected: answer
            # part by part, and leave cross-part cells NaN if Valhalla says so.
            po, pd_ = self.part_of(o), self.part_of(d)
            for axis, labels in ((0, po), (1, pd_)):
                if len(np.unique(labels)) > 1:
                    return self._split_by_part(o, d, axis, labels)
            # A location with no road near it, or an island: bisect until it is isolated.
            if len(o) > 1:
                h = len(o) // 2
                a, b = self._matrix_block(o[:h], d), self._matrix_block(o[h:], d)
                return np.vstack([a[0], b[0]]), np.vstack([a[1], b[1]])
            h = len(d) // 2
            a, b = self._matrix_block(o, d[:h]), self._matrix_block(o, d[h:])
            return np.hstack([a[0], b[0]]), np.hstack([a[1], b[1]])
        if res is None:
            return np.full((len(o), len(d)), np.nan), np.full((len(o), len(d)), np.nan)
        s2t = res["sources_to_targets"]
        dur = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in s2t["durations"]],
            dtype=float,
        ).reshape(len(o), len(d))
        dist = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in s2t["distances"]],
            dtype=float,
        ).reshape(len(o), len(d))
        dist = np.where(np.isfinite(dur), dist * 1000.0, np.nan)
        return dur, dist

    def _split_by_part(
        self, o: FloatArray, d: FloatArray, axis: int, labels: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        for lab in np.unique(labels):
            sel = np.flatnonzero(labels == lab)
            if axis == 0:
                a, b = self._matrix_block(o[sel], d)
                dur[sel, :], dist[sel, :] = a, b
            else:
                a, b = self._matrix_block(o, d[sel])
                dur[:, sel], dist[:, sel] = a, b
        return dur, dist

    def part_of(self, points: FloatArray) -> npt.NDArray[np.int64]:
        """Index of the part of the covered area holding each point (-1: none)."""
        out = np.full(len(points), -1, dtype=np.int64)
        for k, part in enumerate(self._parts):
            hit = (out < 0) & shapely.contains_xy(part, points[:, 0], points[:, 1])
            out[hit] = k
        return out

    def _matrix(self, o: FloatArray, d: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Durations (s) and distances (m) for covered points, in chunks of ``chunk_pairs``."""
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        if len(o) == 0 or len(d) == 0:
            return dur, dist
        cols = min(len(d), self.chunk_pairs)
        rows = max(1, self.chunk_pairs // cols)
        for j in range(0, len(d), cols):
            for i in range(0, len(o), rows):
                a, b = self._matrix_block(o[i : i + rows], d[j : j + cols])
                dur[i : i + rows, j : j + cols] = a
                dist[i : i + rows, j : j + cols] = b
        return dur, dist

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Drive times (s) and distances (m); NaN where a point is off the data or unreachable.

        ``edge_warning`` follows the data-edge rule of the module docstring.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        oc, dc = self.covers(o), self.covers(d)
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        oi, di = np.flatnonzero(oc), np.flatnonzero(dc)
        if len(oi) and len(di):
            a, b = self._matrix(o[oi], d[di])
            dur[np.ix_(oi, di)] = a
            dist[np.ix_(oi, di)] = b
        edge = self.edge_flags(self.edge_distance_m(o), self.edge_distance_m(d), dur)
        edge |= ~oc[:, None] | ~dc[None, :]
        return DriveTimeMatrix(duration_s=dur, distance_m=dist, engine=self.info, edge_warning=edge)

    # --- isochrones ---------------------------------------------------------------------------
    def _screen_polygons(
        self,
        site: FloatArray,
        contours: Sequence[float],
        lo_min: float,
        hi_min: float,
        half_min: float,
    ) -> tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]]:
        """Prepared screening polygons of one site: outer (buffered, either direction holds),
        inner and innermost (both directions must hold). Kept in memory per site."""
        key = (round(float(site[0]), 6), round(float(site[1]), 6), tuple(contours))
        hit = self._screen_cache.get(key)
        if hit is not None:
            return hit
        # Both directions: a drive to the site and one from it can differ a lot (one-way
        # roads), and Valhalla's reverse polygons can miss reachable areas. A place is
        # "inside" only when both polygons hold it, "beyond" only when neither does.
        both = [
            self._isochrone_polygons(
                site,
                contours,
                reverse=reverse,
                generalize_m=SCREEN_GENERALIZE_M,
                persist=self.persist_site_isochrones,
            )
            for reverse in (True, False)
        ]
        tol = _tolerance_deg(float(site[1]))
        hi = [polys[hi_min].buffer(tol) for polys in both]
        lo = [polys[lo_min] for polys in both]
        half = [polys[half_min] for polys in both] if half_min in both[0] else []
        for g in (*hi, *lo, *half):
            shapely.prepare(g)
        out = (hi, lo, half)
        if len(self._screen_cache) >= ISOCHRONE_CACHE_SIZE:
            self._screen_cache.pop(next(iter(self._screen_cache)))
        self._screen_cache[key] = out
        return out

    def _isochrone_polygons(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool = False,
        generalize_m: float | None = None,
        persist: bool = False,
    ) -> dict[float, BaseGeometry]:
        """Polygons per contour (minutes) around one point; answers are kept in memory.

        ``denoise`` is 0: every reachable pocket is kept (e.g. a town beyond a highway exit),
        so a point outside the polygons really is beyond the contour. With ``persist`` the
        answer is also kept on disk (keyed by the graph's data and the request): use it only for
        public points such as sites, never for a patient's place.
        """
        key = (
            round(float(point[0]), 6),
            round(float(point[1]), 6),
            tuple(float(m) for m in contours),
            reverse,
            generalize_m,
        )
        cached = self._iso_cache.get(key)
        if cached is not None:
            return dict(cached)
        disk_key = canonical_key(
            "valhalla-isochrone",
            self.info,
            {
                "graph": [self.graph.name, list(self.graph.source_sha256), self.graph.built_at],
                "request": list(key),
            },
        )
        if persist:
            stored = self._disk.get_json("valhalla-isochrones", disk_key)
            if stored is not None:
                out_disk = {
                    float(m): shapely.from_wkb(bytes.fromhex(wkb)) for m, wkb in stored.items()
                }
                self._remember(key, out_disk)
                return dict(out_disk)
        req: dict[str, Any] = {
            "locations": [_loc(point)],
            "costing": "auto",
            "contours": [{"time": float(m)} for m in contours],
            "polygons": True,
            "denoise": 0.0,
            "reverse": reverse,
        }
        if generalize_m is not None:
            req["generalize"] = float(generalize_m)
        res = self._call("isochrone", req)
        out: dict[float, BaseGeometry] = {float(m): shapely.Polygon() for m in contours}
        for feat in (res or {}).get("features", []):
            minutes = float(feat["properties"]["contour"])
            geom = shapely.geometry.shape(feat["geometry"])
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            out[minutes] = geom
        self._remember(key, out)
        if persist:
            self._disk.put_json(
                "valhalla-isochrones",
                disk_key,
                {str(m): shapely.to_wkb(g, hex=True) for m, g in out.items()},
            )
        return dict(out)

    def _remember(self, key: tuple[Any, ...], polys: dict[float, BaseGeometry]) -> None:
        if len(self._iso_cache) >= ISOCHRONE_CACHE_SIZE:
            self._iso_cache.pop(next(iter(self._iso_cache)))
        self._iso_cache[key] = polys

    def touches_edge(self, geoms: Sequence[BaseGeometry]) -> BoolArray:
        """True for each lon/lat geometry within ``edge_margin_km`` of the data boundary."""
        if not geoms:
            return np.zeros(0, dtype=bool)
        projected = [self._project(g) for g in geoms]
        empty = shapely.is_empty(np.array(projected, dtype=object))
        inside = shapely.contains(self._interior_m, np.array(projected, dtype=object))
        return np.asarray(~inside & ~empty, dtype=bool)

    def isochrones(
        self, points: Points, minutes: Sequence[float], *, reverse: bool = False
    ) -> gpd.GeoDataFrame:
        """Areas reachable within each of ``minutes`` from each point (``reverse``: to it).

        Columns: ``point_index``, ``minutes``, ``engine``, ``approximate`` (False),
        ``touches_data_edge`` (the polygon may be cut short by the end of the road data),
        ``error`` ("" or why a point has no polygon) and ``geometry``. A point outside the
        data keeps its rows, with an empty polygon, ``touches_data_edge=True`` and an error.
        """
        pts = as_lonlat_array(points)
        contours = self.check_isochrone_request(minutes, len(pts))
        if len(pts) == 0:
            frame = empty_isochrones()
            frame["touches_data_edge"] = np.zeros(0, dtype=bool)
            frame["error"] = np.zeros(0, dtype=str)
            return frame
        covered = self.covers(pts)
        rows_idx: list[int] = []
        rows_min: list[float] = []
        geoms: list[BaseGeometry] = []
        errors: list[str] = []
        for i, p in enumerate(pts):
            polys: dict[float, BaseGeometry] = {}
            error = ""
            if not covered[i]:
                error = (
                    f"outside the road data of graph {self.graph.name!r}: {EDGE_MESSAGE}; "
                    "build a graph that covers this point"
                )
            else:
                try:
                    polys = self._isochrone_polygons(p, contours, reverse)
                except OutsideDataError as exc:
                    error = str(exc)
            for m in contours:
                rows_idx.append(i)
                rows_min.append(m)
                geoms.append(polys.get(m, shapely.Polygon()))
                errors.append(error)
        edge = self.touches_edge(geoms) | np.array([bool(e) for e in errors])
        return gpd.GeoDataFrame(
            {
                "point_index": np.array(rows_idx, dtype=np.int64),
                "minutes": np.array(rows_min, dtype=float),
                "engine": self.info.label,
                "approximate": False,
                "touches_data_edge": edge,
                "error": errors,
            },
            geometry=geoms,
            crs="EPSG:4326",
        )

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
            "locations": [_loc(ends[0]), _loc(ends[1])],
            "costing": "auto",
            "directions_options": {"units": "km"},
            "directions_type": "none",
        }
        try:
            res = self._call("route", req)
        except _UnconnectedError:
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
        flag = self.edge_flags(edge_m[:1], edge_m[1:], np.array([[duration]]))[0, 0]
        return Route(
            duration_s=duration,
            distance_m=distance,
            geometry=shapely.LineString(coords),
            engine=self.info,
            notes=(EDGE_MESSAGE,) if flag else (),
        )

    # --- nearest with screening ---------------------------------------------------------------
    def snap(self, points: FloatArray, chunk: int = 5_000) -> FloatArray:
        """Where each point meets the road network (Valhalla ``locate``); unchanged if no road."""
        out = np.array(points, dtype=float, copy=True)
        for start in range(0, len(out), chunk):
            block = out[start : start + chunk]
            res = self._call(
                "locate",
                {"locations": [_loc(p) for p in block], "costing": "auto", "verbose": False},
            )
            for i, loc in enumerate(res or []):
                edges: list[dict[str, Any]] = (
                    (loc.get("edges") or []) if isinstance(loc, dict) else []
                )
                if not edges:
                    continue
                cand = np.array([[e["correlated_lon"], e["correlated_lat"]] for e in edges])
                k = int(np.argmin(np.hypot(*(cand - block[i]).T)))
                out[start + i] = cand[k]
        return out

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        """Quickest destination per origin; with ``horizon_s``, screened (module docstring)."""
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        band_s = self.screen_band_min * 60.0
        max_s = (self.limits.max_isochrone_min or 0.0) * 60.0
        few = len(o) < self.screen_min_origins  # a handful of places: routing beats screening
        if few or horizon_s is None or len(d) == 0 or horizon_s + band_s > max_s:
            return super().nearest(o, d)  # exact, in chunks
        return self._screened_nearest(o, d, float(horizon_s), band_s)

    def _screened_nearest(
        self, o: FloatArray, d: FloatArray, horizon_s: float, band_s: float
    ) -> NearestResult:
        n, m = len(o), len(d)
        lo_min = max(horizon_s - band_s, horizon_s / 2.0) / 60.0
        hi_min = (horizon_s + band_s) / 60.0
        # A third, inner contour gives places well inside a tighter upper bound ("under 1 h").
        half_min = horizon_s / 2.0 / 60.0
        contours = [half_min, lo_min, hi_min] if half_min < lo_min else [lo_min, hi_min]
        oc, dc = self.covers(o), self.covers(d)
        in_half = np.zeros((n, m), dtype=bool)
        in_lo = np.zeros((n, m), dtype=bool)
        in_hi = np.zeros((n, m), dtype=bool)
        oi = np.flatnonzero(oc)
        site_polys: dict[int, tuple[list[BaseGeometry], ...]] = {}
        for j in np.flatnonzero(dc):
            try:
                site_polys[int(j)] = self._screen_polygons(d[j], contours, lo_min, hi_min, half_min)
            except OutsideDataError:
                continue

        def classify(rows: npt.NDArray[np.int64], xy: FloatArray) -> None:
            """Fill in_hi / in_lo / in_half for ``rows`` tested at points ``xy``."""
            for j, (hi_polys, lo_polys, half_polys) in site_polys.items():
                hit = np.zeros(len(rows), dtype=bool)
                for poly in hi_polys:
                    hit |= shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
                in_hi[rows, j] = hit
                lo = hit.copy()
                for poly in lo_polys:
                    lo[lo] = shapely.contains_xy(poly, xy[lo, 0], xy[lo, 1])
                in_lo[rows, j] = lo
                half = lo.copy() if half_polys else np.zeros(len(rows), dtype=bool)
                for poly in half_polys:
                    half[half] = shapely.contains_xy(poly, xy[half, 0], xy[half, 1])
                in_half[rows, j] = half

        classify(oi, o[oi])
        # A place outside every polygon may just lie far from the extract's roads: test again
        # where it meets the road network (Valhalla routes from there) before calling it beyond.
        lost = oi[~in_hi[oi].any(axis=1)]
        if len(lost):
            classify(lost, self.snap(o[lost]))
        inside: BoolArray = np.asarray(in_lo.any(axis=1), dtype=bool)
        cand = in_hi & ~inside[:, None]
        routed = cand.any(axis=1)
        times = np.full((n, m), np.nan)
        dists = np.full((n, m), np.nan)
        # One matrix for the places near the limit, to every site that is a candidate for any
        # of them (each place is located on the roads once); cells of non-candidates are
        # dropped so that only sites within the outer contour can be "nearest".
        rows = np.flatnonzero(routed)
        cols = np.flatnonzero(cand.any(axis=0))
        if len(rows) and len(cols):
            a, b = self._matrix(o[rows], d[cols])
            keep = cand[np.ix_(rows, cols)]
            times[np.ix_(rows, cols)] = np.where(keep, a, np.nan)
            dists[np.ix_(rows, cols)] = np.where(keep, b, np.nan)
        filled = np.where(np.isfinite(times), times, np.inf)
        best = np.argmin(filled, axis=1)
        best_t = filled[np.arange(n), best]
        found = routed & np.isfinite(best_t)

        index = np.full(n, -1, dtype=np.int64)
        duration = np.full(n, np.nan)
        distance = np.full(n, np.nan)
        lower = np.full(n, np.nan)
        upper = np.full(n, np.nan)
        method = np.full(n, "screened", dtype="<U8")
        # Clearly within: some site's inner contour holds the place.
        well = inside & in_half.any(axis=1)
        index[inside] = np.argmax(in_lo[inside], axis=1)
        index[well] = np.argmax(in_half[well], axis=1)
        lower[inside] = 0.0
        upper[inside] = np.where(well[inside], half_min * 60.0, lo_min * 60.0)
        # Near the limit: routed exactly to its candidate sites.
        index[found] = best[found]
        duration[found] = best_t[found]
        distance[found] = dists[np.arange(n), best][found]
        lower[found] = best_t[found]
        upper[found] = best_t[found]
        method[routed] = "routed"
        # Clearly outside (or no route to any candidate): beyond the outer contour.
        beyond = oc & ~inside & ~found
        lower[beyond] = hi_min * 60.0
        upper[beyond] = np.inf
        # Places off the data: unknown.
        method[~oc] = "routed"

        edge_o = self.edge_distance_m(o)
        edge_d = self.edge_distance_m(d) if m else np.zeros(0)
        cap = np.minimum(np.where(np.isfinite(upper), upper, np.inf), hi_min * 60.0)
        detour = (edge_o + (edge_d.min() if m else 0.0)) / (self.edge_speed_kmh / 3.6)
        edge = (detour < cap) | ~oc
        return NearestResult(
            index=index,
            duration_s=duration,
            lower_s=lower,
            upper_s=upper,
            distance_m=distance,
            engine=self.info,
            edge_warning=np.asarray(edge, dtype=bool),
            method=method,
        )


__all__ = ["EDGE_MESSAGE", "ValhallaRouter", "decode_polyline6"]
