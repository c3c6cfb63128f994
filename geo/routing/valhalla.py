"""The ``valhalla`` engine: routed drive times from a local road graph, in-process and offline.

Answers come from Valhalla's Python ``Actor`` over the tiles of one local graph
(:mod:`geo.routing.graph`). Every answer carries the graph's provenance, e.g.
``valhalla · OSM extract demo of 2015-02-07``.

Exactness
---------
Every drive time this engine reports is Valhalla's own ``route`` time (costing ``auto``) for
that pair, from the origin (the place) to the destination (the site). Valhalla's matrices are
not: its ``timedistancematrix`` with places as sources was measured up to +46 % (and down to
−1.7 %) against ``route`` for the same pairs, its ``costmatrix`` −4 %…+6 % and far slower
(upstream valhalla/valhalla#4979, #5330). So

* :meth:`ValhallaRouter.drive_times` routes every requested pair (one ``route`` call each,
  ~10 ms on a 300 km grid here): exact, and slower than a matrix for big tables;
* :meth:`ValhallaRouter.nearest` uses one ``timedistancematrix`` only to *find candidates* — every
  site whose matrix time is within ``candidate_factor`` (default 1.5, i.e. +50 %) of the place's
  best matrix time, plus ``candidate_slack_s`` — then routes those pairs and reports the quickest
  route. The factor covers the matrix's measured error; a true nearest site whose matrix time is
  off by more than that would be missed, and the answer would then be an exact drive to another
  site, i.e. too long, never too short. With at most :data:`DIRECT_MAX_SITES` sites every pair is
  routed (no matrix at all).

Honest edges
------------
The data-edge rule is :mod:`geo.routing.data_edge` (shared with the OSRM engine): points outside
the covered area get NaN and ``edge_warning=True``; a drive time is flagged when a detour leaving
the data at ``edge_speed_kmh`` could be quicker; an isochrone within ``edge_margin_km`` of the
boundary is flagged. In :meth:`ValhallaRouter.nearest` with a horizon, the time in that rule is
capped at the upper screening contour (only drives that could change the verdict matter).

Screening (:meth:`ValhallaRouter.nearest` with ``horizon_s``)
------------------------------------------------------------
For verdicts only the quickest site matters, and only whether it is within the limit. One reverse
and one forward isochrone per site at ``horizon / 2``, ``horizon − band`` and ``horizon + band``
minutes (``band`` = ``screen_band_min``, default 15) sort places with vectorised point-in-polygon:
inside some site's inner contours → within, reported as bounds only (``upper_s`` = the contour,
``duration_s`` NaN, method ``screened``); outside every site's outer contours → outside
(``lower_s`` = the outer contour, method ``screened``); the rest are answered exactly as above,
only to the sites whose outer contour holds them (method ``routed``). A screened row never
carries a drive time: only bounds.

Screening costs two isochrones per site unless they are cached (memory, or on disk: sites are
public). With ``screening="auto"`` (the default) it is used only when it pays: all site polygons
cached, or their measured cost below the routing it can save (:meth:`ValhallaRouter.nearest`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EngineError, OutsideDataError, RangeLimitError
from geo.geodesy import haversine_km
from geo.routing.base import (
    NearestResult,
    Points,
    Router,
    as_lonlat_array,
    concat_nearest,
    empty_isochrones,
    reach_bound_m,
    validate_durations,
)
from geo.routing.cache import DiskCache, canonical_key
from geo.routing.data_edge import (
    DEFAULT_EDGE_MARGIN_KM,
    DEFAULT_EDGE_SPEED_KMH,
    EDGE_MESSAGE,
    DataEdge,
)
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

DEFAULT_SCREEN_BAND_MIN = 15.0
DEFAULT_MAX_SNAP_M = 3_000.0
"""Snap guard (m), as the OSRM engine's: just over the diagonal of a 2 km covered-area cell, so
only places in filled gaps of the covered area (a lake, fields between towns) are refused."""
DEFAULT_SCREEN_MIN_ORIGINS = 100
"""Below this many places, :meth:`ValhallaRouter.nearest` never screens."""
DEFAULT_CHUNK_PAIRS = 50_000
DEFAULT_CANDIDATE_FACTOR = 1.5
"""A site is routed for a place when its matrix time is within this factor of the place's best
matrix time (covers the measured matrix error: up to +46 % on real roads)."""
DEFAULT_CANDIDATE_SLACK_S = 180.0
"""Added to the candidate band (s): short town trips have the largest relative matrix error."""
DIRECT_MAX_SITES = 3
"""With this many sites or fewer, every (place, site) pair is routed: no candidate matrix."""
SCREEN_SAMPLE = 16
"""Places answered exactly first under ``screening="auto"`` to measure what routing costs."""
SCREEN_EXPECTED_DECIDED = 0.5
"""Share of places screening is assumed to decide when weighing its cost against routing."""
ISOCHRONE_EXTRA_COLUMNS = ["touches_data_edge", "error"]
ISOCHRONE_CACHE_SIZE = 256
"""Isochrone answers kept in memory per router (oldest dropped first)."""
SCREEN_GENERALIZE_M = 200.0
"""Douglas-Peucker tolerance of screening polygons (m): far below the screening band."""
SCREEN_TOLERANCE_KM = 2.0
"""A place outside the outer contour but within this distance of it (for instance in a small hole
of the rasterised polygon, such as a park away from the roads) is routed exactly instead of being
called "well outside". The inner contours need no such guard: they lie 15 minutes inside the
limit, far more than a polygon's own error (measured ≤ ~3.5 min on the test grid)."""

SCREEN_INNER_MARGIN_MIN = 2.5
SCREEN_INNER_MARGIN_SHARE = 0.08
"""Inner screening polygons are computed this much (minutes, or share of the bound, whichever is
more) inside the bound they support: Valhalla's polygons held places whose route took up to
~1.5 min longer than the contour on the demo roads, ~3.5 min at 2 h on the grid."""

ScreeningMode = Literal["auto", "always", "never"]


def _inner_polygon_min(bound_min: float) -> float:
    """Contour (minutes) whose polygon may stand for "under ``bound_min``".

    Smaller than the bound by the polygons' measured error (:data:`SCREEN_INNER_MARGIN_MIN` or
    :data:`SCREEN_INNER_MARGIN_SHARE` of it, whichever is more).
    """
    margin = max(SCREEN_INNER_MARGIN_MIN, SCREEN_INNER_MARGIN_SHARE * bound_min)
    inner = math.floor((bound_min - margin) * 10.0) / 10.0  # whole tenths: 6 s, rounded down
    return float(max(inner, min(bound_min, 0.5)))


@dataclass(frozen=True)
class _ScreenPlan:
    """Screening contours for one horizon (minutes).

    ``hi_min`` is the outer contour (a place outside it in both directions is beyond it).
    A place inside the ``lo_poly_min`` polygons is reported "under ``lo_bound_min``", one inside
    the ``half_poly_min`` polygons "under ``half_bound_min``": the inner polygons are smaller
    than the bounds they support by the polygons' own error, so that the bound is true.
    """

    contours: list[float]
    lo_poly_min: float
    hi_min: float
    half_poly_min: float
    lo_bound_min: float
    half_bound_min: float

    @property
    def has_half(self) -> bool:
        """Whether the innermost contour is a separate one (it is not for short horizons)."""
        return self.half_poly_min < self.lo_poly_min


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


def _loc(p: npt.NDArray[np.float64], cutoff_m: float | None = None) -> dict[str, float]:
    """A Valhalla location; with ``cutoff_m``, no road farther than that is used (m)."""
    out = {"lon": float(p[0]), "lat": float(p[1])}
    if cutoff_m is not None:
        out["search_cutoff"] = float(cutoff_m)
    return out


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
    screen_band_min
        Half-width of the screening band around the horizon in :meth:`nearest` (minutes).
    screen_min_origins
        Fewer places than this are never screened (a coordinator checking one address wants the
        exact time, and isochrones cost more than a few routes).
    screening
        ``"auto"`` screens when it pays (see :meth:`nearest`), ``"always"`` whenever a horizon
        is given (and at least ``screen_min_origins`` places), ``"never"`` answers every place
        exactly.
    persist_site_isochrones
        Keep the screening isochrones around *sites* on disk (they are public, and computing
        them is most of the cost of a first screening run); patients' places never are.
    chunk_pairs
        Largest candidate matrix sent in one request (origin × destination pairs).
    candidate_factor, candidate_slack_s
        A site is routed for a place when its matrix time is at most ``candidate_factor`` ×
        the place's best matrix time + ``candidate_slack_s`` (seconds).
    max_snap_m
        A point farther than this from every road of the graph gets no drive time (NaN), no
        route and no isochrone (m): Valhalla would otherwise start from a road kilometres away.
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
        screening: ScreeningMode = "auto",
        persist_site_isochrones: bool = True,
        chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
        candidate_factor: float = DEFAULT_CANDIDATE_FACTOR,
        candidate_slack_s: float = DEFAULT_CANDIDATE_SLACK_S,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        if screening not in ("auto", "always", "never"):
            raise ValueError(f"screening must be auto, always or never, got {screening!r}")
        if not candidate_factor >= 1.0 or not candidate_slack_s >= 0.0:
            raise ValueError("candidate_factor must be ≥ 1 and candidate_slack_s ≥ 0")
        self.settings = settings or get_settings()
        self.graph = graph if isinstance(graph, GraphManifest) else load_graph(graph, self.settings)
        self.edge = DataEdge(
            self.graph.covered_area, edge_speed_kmh=edge_speed_kmh, edge_margin_km=edge_margin_km
        )
        self.edge_speed_kmh = self.edge.edge_speed_kmh
        self.edge_margin_km = self.edge.edge_margin_km
        self.screen_band_min = float(screen_band_min)
        self.screen_min_origins = int(screen_min_origins)
        self.screening: ScreeningMode = screening
        self.persist_site_isochrones = bool(persist_site_isochrones)
        self.candidate_factor = float(candidate_factor)
        self.candidate_slack_s = float(candidate_slack_s)
        self.max_snap_m = float(max_snap_m)
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
        self._site_polygons_s: float | None = None
        """Measured seconds to compute one site's screening polygons (both directions)."""
        self.stats: dict[str, float] = {"routes": 0, "route_s": 0.0, "matrix_pairs": 0}
        """Work done so far: routes run and their seconds, candidate-matrix cells asked."""

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

    # --- edges (geo.routing.data_edge) ----------------------------------------------------------
    def covers(self, points: Points) -> BoolArray:
        """True where a point lies inside the graph's covered area (NaN → False)."""
        return self.edge.covers(points)

    def edge_distance_m(self, points: Points) -> FloatArray:
        """Straight-line distance (m) from each point to the data boundary; 0 outside the data."""
        return self.edge.edge_distance_m(points)

    def edge_flags(
        self, origin_edge_m: FloatArray, dest_edge_m: FloatArray, duration_s: FloatArray
    ) -> BoolArray:
        """The data-edge rule for a matrix of seconds; NaN times are flagged."""
        return self.edge.edge_flags(origin_edge_m, dest_edge_m, duration_s)

    def part_of(self, points: FloatArray) -> npt.NDArray[np.int64]:
        """Index of the part of the covered area holding each point (-1: none)."""
        return self.edge.part_of(points)

    def touches_edge(self, geoms: Sequence[BaseGeometry]) -> BoolArray:
        """True for each lon/lat geometry within ``edge_margin_km`` of the data boundary."""
        return self.edge.touches_edge(geoms)

    # --- exact drive times: one route per pair ----------------------------------------------
    def _route_summary(self, a: FloatArray, b: FloatArray) -> tuple[float, float]:
        """Valhalla's ``route`` time (s) and length (m) from ``a`` to ``b``; NaN when none."""
        req = {
            "locations": [_loc(a, self.max_snap_m), _loc(b, self.max_snap_m)],
            "costing": "auto",
            "directions_options": {"units": "km"},
            "directions_type": "none",
        }
        try:
            res = self._call("route", req)
        except (_UnconnectedError, OutsideDataError):
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

    # --- candidate matrix (never reported) -------------------------------------------------
    def _matrix_block(self, o: FloatArray, d: FloatArray) -> FloatArray:
        req = {
            "sources": [_loc(p, self.max_snap_m) for p in o],
            "targets": [_loc(p, self.max_snap_m) for p in d],
            "costing": "auto",
            "verbose": False,
        }
        try:
            res = self._call("matrix", req)
        except (OutsideDataError, _UnconnectedError):
            if len(o) * len(d) == 1:
                return np.full((1, 1), np.nan)
            # A location with no road near it, or an island: bisect until it is isolated.
            if len(o) > 1:
                h = len(o) // 2
                return np.vstack([self._matrix_block(o[:h], d), self._matrix_block(o[h:], d)])
            h = len(d) // 2
            return np.hstack([self._matrix_block(o, d[:h]), self._matrix_block(o, d[h:])])
        if res is None:
            return np.full((len(o), len(d)), np.nan)
        rows = res["sources_to_targets"]["durations"]
        return np.array(
            [[np.nan if v is None else float(v) for v in row] for row in rows], dtype=float
        ).reshape(len(o), len(d))

    def _candidate_matrix(self, o: FloatArray, d: FloatArray, allowed: BoolArray) -> FloatArray:
        """Matrix seconds (place → site) for rows with an allowed cell, one part at a time."""
        out = np.full((len(o), len(d)), np.nan)
        po, pd_ = self.part_of(o), self.part_of(d)
        for part in np.unique(po[po >= 0]):
            rows = np.flatnonzero((po == part) & allowed.any(axis=1))
            cols = np.flatnonzero((pd_ == part) & allowed[rows].any(axis=0))
            if not len(rows) or not len(cols):
                continue
            step_c = min(len(cols), self.chunk_pairs)
            step_r = max(1, self.chunk_pairs // step_c)
            for j in range(0, len(cols), step_c):
                for i in range(0, len(rows), step_r):
                    r, c = rows[i : i + step_r], cols[j : j + step_c]
                    out[np.ix_(r, c)] = self._matrix_block(o[r], d[c])
                    self.stats["matrix_pairs"] += len(r) * len(c)
        return out

    def _exact_nearest(
        self, o: FloatArray, d: FloatArray, allowed: BoolArray | None = None
    ) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, BoolArray]:
        """Quickest site per place by ``route``: index, seconds, metres (-1/NaN where none).

        Candidates come from the matrix (module docstring); only ``allowed`` cells are
        considered. The times returned are route times, never matrix cells. The fourth array
        (places × sites) marks sites the engine could not answer for a place (off the data, in
        another part of it, or routed without a route): they may hide a quicker drive.
        """
        n, m = len(o), len(d)
        part_o, part_d = self.part_of(o), self.part_of(d)
        answerable = (part_o[:, None] >= 0) & (part_o[:, None] == part_d[None, :])
        ok = answerable & allowed if allowed is not None else answerable.copy()
        cand = ok.copy()
        if m > DIRECT_MAX_SITES and ok.any():
            mat = np.where(ok, self._candidate_matrix(o, d, ok), np.nan)
            has = np.isfinite(mat).any(axis=1)
            best = np.min(np.where(np.isfinite(mat), mat, np.inf), axis=1)
            band = np.where(has, best * self.candidate_factor + self.candidate_slack_s, np.inf)
            # A row the matrix could not answer at all is routed to every allowed site.
            cand = ok & (~has[:, None] | (mat <= band[:, None]))
        rows, cols = np.nonzero(cand)
        times = np.full((n, m), np.nan)
        dists = np.full((n, m), np.nan)
        if len(rows):
            times[rows, cols], dists[rows, cols] = self.route_pairs(o[rows], d[cols])
        unanswered = ~answerable | (cand & ~np.isfinite(times))
        if not m:
            empty = np.full(n, np.nan)
            return np.full(n, -1, dtype=np.int64), empty, empty.copy(), unanswered
        filled = np.where(np.isfinite(times), times, np.inf)
        index = np.argmin(filled, axis=1)
        at = np.arange(n)
        found = np.isfinite(filled[at, index])
        duration = np.where(found, times[at, index], np.nan)
        distance = np.where(found, dists[at, index], np.nan)
        return np.where(found, index, -1).astype(np.int64), duration, distance, unanswered

    def _exact_result(self, o: FloatArray, d: FloatArray) -> NearestResult:
        """:meth:`nearest` without screening: every answer a route time.

        ``edge_warning`` follows the data-edge rule for the answer found, and is also set when
        a site the engine could not answer could plausibly be quicker (closer in a straight
        line than :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` allows in that time).
        """
        index, duration, distance, unanswered = self._exact_nearest(o, d)
        has = index >= 0
        edge = ~has
        if len(d) and has.any():
            edge_d = self.edge_distance_m(d)[np.clip(index, 0, None)]
            detour_s = (self.edge_distance_m(o) + edge_d) / (self.edge_speed_kmh / 3.6)
            edge = edge | (has & (detour_s < duration))
            reach_km = reach_bound_m(np.where(has, duration, np.inf)) / 1000.0
            doubtful = unanswered & (haversine_km(o, d) < reach_km[:, None])
            edge = edge | doubtful.any(axis=1)
        return NearestResult(
            index=index,
            duration_s=duration,
            lower_s=duration.copy(),
            upper_s=duration.copy(),
            distance_m=distance,
            engine=self.info,
            edge_warning=np.asarray(edge, dtype=bool),
            method=np.full(len(o), "routed", dtype="<U8"),
        )

    # --- isochrones ---------------------------------------------------------------------------
    def _screen_polygons(
        self,
        site: FloatArray,
        plan: _ScreenPlan,
        compute: bool = True,
    ) -> tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]] | None:
        """Prepared screening polygons of one site: outer (buffered, either direction holds),
        inner and innermost (both directions must hold). Kept in memory per site.

        Without ``compute``, only polygons already in memory or on disk are used (None if any
        is missing): a cheap way to ask whether screening this site costs anything. The time
        of a real computation is kept (``_site_polygons_s``) for :meth:`nearest`'s cost check.
        """
        contours = plan.contours
        key = (round(float(site[0]), 6), round(float(site[1]), 6), tuple(contours))
        hit = self._screen_cache.get(key)
        if hit is not None:
            return hit
        # Both directions: a drive to the site and one from it can differ a lot (one-way
        # roads), and Valhalla's reverse polygons can miss reachable areas. A place is
        # "inside" only when both polygons hold it, "beyond" only when neither does.
        requests = [
            (
                site,
                tuple(float(m) for m in contours),
                reverse,
                SCREEN_GENERALIZE_M,
                self.persist_site_isochrones,
            )
            for reverse in (True, False)
        ]
        stored = [self._stored_polygons(*r) for r in requests]
        both: list[dict[float, BaseGeometry]] = []
        if all(polys is not None for polys in stored):
            both = [polys for polys in stored if polys is not None]
        elif not compute:
            return None
        else:
            t0 = time.perf_counter()
            both = [
                self._isochrone_polygons(point, cs, rev, gen, persist)
                for point, cs, rev, gen, persist in requests
            ]
            self._site_polygons_s = time.perf_counter() - t0
        tol = _tolerance_deg(float(site[1]))
        hi = [polys[plan.hi_min].buffer(tol) for polys in both]
        lo = [polys[plan.lo_poly_min] for polys in both]
        half = [polys[plan.half_poly_min] for polys in both] if plan.has_half else []
        for g in (*hi, *lo, *half):
            shapely.prepare(g)
        out = (hi, lo, half)
        if len(self._screen_cache) >= ISOCHRONE_CACHE_SIZE:
            self._screen_cache.pop(next(iter(self._screen_cache)))
        self._screen_cache[key] = out
        return out

    def _iso_keys(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool,
        generalize_m: float | None,
    ) -> tuple[tuple[Any, ...], str]:
        """Memory key and disk key of one isochrone request."""
        key = (
            round(float(point[0]), 6),
            round(float(point[1]), 6),
            tuple(float(m) for m in contours),
            reverse,
            generalize_m,
        )
        disk_key = canonical_key(
            "valhalla-isochrone",
            self.info,
            {
                "graph": [self.graph.name, list(self.graph.source_sha256), self.graph.built_at],
                "request": list(key),
            },
        )
        return key, disk_key

    def _stored_polygons(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool = False,
        generalize_m: float | None = None,
        persist: bool = False,
    ) -> dict[float, BaseGeometry] | None:
        """Polygons of an isochrone request already answered (memory, or disk with
        ``persist``); None when it would have to be computed."""
        key, disk_key = self._iso_keys(point, contours, reverse, generalize_m)
        cached = self._iso_cache.get(key)
        if cached is not None:
            return dict(cached)
        if persist:
            stored = self._disk.get_json("valhalla-isochrones", disk_key)
            if stored is not None:
                out_disk = {
                    float(m): shapely.from_wkb(bytes.fromhex(wkb)) for m, wkb in stored.items()
                }
                self._remember(key, out_disk)
                return dict(out_disk)
        return None

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
        known = self._stored_polygons(point, contours, reverse, generalize_m, persist)
        if known is not None:
            return known
        key, disk_key = self._iso_keys(point, contours, reverse, generalize_m)
        req: dict[str, Any] = {
            "locations": [_loc(point, self.max_snap_m)],
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
        asked = np.array([float(m) for m in contours])
        for feat in (res or {}).get("features", []):
            # Valhalla echoes the contour; match it to the one asked (float formatting aside).
            minutes = float(asked[np.argmin(np.abs(asked - float(feat["properties"]["contour"])))])
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
            "locations": [_loc(ends[0], self.max_snap_m), _loc(ends[1], self.max_snap_m)],
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
        validate_durations([[duration]], ends[:1], ends[1:], "Valhalla")
        flag = self.edge_flags(edge_m[:1], edge_m[1:], np.array([[duration]]))[0, 0]
        return Route(
            duration_s=duration,
            distance_m=distance,
            geometry=shapely.LineString(coords),
            engine=self.info,
            notes=(EDGE_MESSAGE,) if flag else (),
        )

    # --- nearest with screening ---------------------------------------------------------------
    def locate_roads(self, points: FloatArray, chunk: int = 5_000) -> tuple[FloatArray, BoolArray]:
        """Where each point meets the road network (Valhalla ``locate``) and whether it does.

        A point with no road within ``max_snap_m`` keeps its coordinates and gets False.
        """
        out = np.array(points, dtype=float, copy=True)
        found = np.zeros(len(out), dtype=bool)
        for start in range(0, len(out), chunk):
            block = out[start : start + chunk]
            res = self._call(
                "locate",
                {
                    "locations": [_loc(p, self.max_snap_m) for p in block],
                    "costing": "auto",
                    "verbose": False,
                },
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
                found[start + i] = True
        return out, found

    def snap(self, points: FloatArray, chunk: int = 5_000) -> FloatArray:
        """Where each point meets the road network; unchanged where no road is near."""
        return self.locate_roads(points, chunk)[0]

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        """Quickest destination per origin, by route time; with ``horizon_s``, maybe screened.

        Without a horizon, with fewer than ``screen_min_origins`` places, or with
        ``screening="never"``, every place is answered exactly (module docstring). With
        ``screening="auto"`` and a horizon, screening is used when every site's polygons are
        already cached, or else when their cost is below the routing it saves: the first
        :data:`SCREEN_SAMPLE` places are answered exactly (measuring seconds per place), one
        missing site's polygons are computed (measuring seconds per site), and screening goes
        on only if ``missing sites × seconds per site < SCREEN_EXPECTED_DECIDED × remaining
        places × seconds per place``. At worst one site's polygons are spent in vain.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        band_s = self.screen_band_min * 60.0
        max_s = (self.limits.max_isochrone_min or 0.0) * 60.0
        if (
            horizon_s is None
            or len(d) == 0
            or horizon_s + band_s > max_s
            or self.screening == "never"
            or len(o) < self.screen_min_origins  # a handful of places: routing beats screening
        ):
            return self._exact_result(o, d)
        horizon = float(horizon_s)
        if self.screening == "always":
            return self._screened_nearest(o, d, horizon, band_s)
        plan = self._screen_contours(horizon, band_s)
        sites = d[self.covers(d)]
        missing = [s for s in sites if self._screen_polygons(s, plan, compute=False) is None]
        if not missing:
            return self._screened_nearest(o, d, horizon, band_s)
        k = min(len(o), SCREEN_SAMPLE)
        t0 = time.perf_counter()
        head = self._exact_result(o[:k], d)
        place_s = (time.perf_counter() - t0) / max(1, k)
        rest = o[k:]
        if not len(rest):
            return head
        while self._site_polygons_s is None and missing:
            try:
                self._screen_polygons(missing.pop(0), plan)
            except OutsideDataError:
                continue
        site_s = self._site_polygons_s or 0.0
        if len(missing) * site_s < SCREEN_EXPECTED_DECIDED * len(rest) * place_s:
            tail = self._screened_nearest(rest, d, horizon, band_s)
        else:
            tail = self._exact_result(rest, d)
        return concat_nearest([head, tail])

    @staticmethod
    def _screen_contours(horizon_s: float, band_s: float) -> _ScreenPlan:
        """Screening contours (minutes) for a horizon (see :class:`_ScreenPlan`)."""
        lo_min = max(horizon_s - band_s, horizon_s / 2.0) / 60.0
        hi_min = (horizon_s + band_s) / 60.0
        # A third, inner contour gives places well inside a tighter upper bound ("under 1 h").
        half_min = horizon_s / 2.0 / 60.0
        lo_poly, half_poly = _inner_polygon_min(lo_min), _inner_polygon_min(half_min)
        contours = sorted({lo_poly, half_poly, hi_min})
        return _ScreenPlan(contours, lo_poly, hi_min, half_poly, lo_min, half_min)

    def _screened_nearest(
        self, o: FloatArray, d: FloatArray, horizon_s: float, band_s: float
    ) -> NearestResult:
        n, m = len(o), len(d)
        plan = self._screen_contours(horizon_s, band_s)
        lo_min, hi_min, half_min = plan.lo_bound_min, plan.hi_min, plan.half_bound_min
        oc, dc = self.covers(o), self.covers(d)
        in_half = np.zeros((n, m), dtype=bool)
        in_lo = np.zeros((n, m), dtype=bool)
        in_hi = np.zeros((n, m), dtype=bool)
        oi = np.flatnonzero(oc)
        site_polys: dict[int, tuple[list[BaseGeometry], ...]] = {}
        for j in np.flatnonzero(dc):
            try:
                polys = self._screen_polygons(d[j], plan)
            except OutsideDataError:
                continue
            if polys is not None:
                site_polys[int(j)] = polys

        def classify(xy: FloatArray) -> tuple[BoolArray, BoolArray, BoolArray]:
            """(in outer, in inner, in innermost) per place × site for points ``xy``."""
            hi_m = np.zeros((len(xy), m), dtype=bool)
            lo_m = np.zeros((len(xy), m), dtype=bool)
            half_m = np.zeros((len(xy), m), dtype=bool)
            for j, (hi_polys, lo_polys, half_polys) in site_polys.items():
                hit = np.zeros(len(xy), dtype=bool)
                for poly in hi_polys:
                    hit |= shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
                hi_m[:, j] = hit
                lo = hit.copy()
                for poly in lo_polys:
                    lo[lo] = shapely.contains_xy(poly, xy[lo, 0], xy[lo, 1])
                lo_m[:, j] = lo
                half = lo.copy() if half_polys else np.zeros(len(xy), dtype=bool)
                for poly in half_polys:
                    half[half] = shapely.contains_xy(poly, xy[half, 0], xy[half, 1])
                half_m[:, j] = half
            return hi_m, lo_m, half_m

        # Valhalla routes from where a place meets the road network, which can lie outside a
        # polygon that holds the place itself (a field next to a road of another direction):
        # inner contours must hold both points, the outer one either.
        # A place with no road within max_snap_m gets no answer (as off the data): a drive from
        # a road kilometres away is not a drive from the place.
        on_road, has_road = self.locate_roads(o[oi])
        oc[oi[~has_road]] = False
        oi, on_road = oi[has_road], on_road[has_road]
        raw = classify(o[oi])
        snapped = classify(on_road) if len(oi) else raw
        in_hi[oi] = raw[0] | snapped[0]
        in_lo[oi] = raw[1] & snapped[1]
        in_half[oi] = raw[2] & snapped[2]
        inside: BoolArray = np.asarray(in_lo.any(axis=1), dtype=bool)
        cand = in_hi & ~inside[:, None]
        routed = cand.any(axis=1)
        # Places near the limit: route times to their candidate sites (those whose outer
        # contour holds them), so that only such sites can be "nearest".
        rows = np.flatnonzero(routed)
        best = np.full(n, -1, dtype=np.int64)
        best_t = np.full(n, np.nan)
        best_m = np.full(n, np.nan)
        if len(rows):
            best[rows], best_t[rows], best_m[rows], _ = self._exact_nearest(
                o[rows], d, allowed=cand[rows]
            )
        found = routed & (best >= 0)

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
        distance[found] = best_m[found]
        lower[found] = best_t[found]
        upper[found] = best_t[found]
        method[routed] = "routed"
        # Clearly outside: beyond the outer contour. A place routed to its candidates without
        # any route (e.g. its only road within max_snap_m leads nowhere) stays unknown.
        beyond = oc & ~inside & ~routed
        lower[beyond] = hi_min * 60.0
        upper[beyond] = np.inf
        # Places off the data, or with no road near them: unknown.
        method[~oc] = "routed"
        oc = oc & ~(routed & ~found)

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
