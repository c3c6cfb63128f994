"""The ``estimate`` engine: drive time from straight-line distance, offline and instant.

Model
-----
``road_km = great_circle_km × detour`` and ``time = road_km / speed(road_km)``, where the average
speed grows with trip length, from town driving to highway driving::

    speed(d) = v_long − (v_long − v_short) · exp(−d / d_scale)

Parameters (:class:`EstimateParams`) and where they come from — fitted by
``benchmarks/calibrate_estimate.py`` to trips routed by **OSRM**, the verdict engine (its
table times equal its routes), on two references: 381 random trips on the shipped
OpenStreetMap extracts (Columbus OH, Harrisburg PA; 1–32 km straight, up to ~45 min) and 600
trips on a 240 × 240 km synthetic highway grid (streets every 2 km at 50 km/h, primaries every
10 km at 90 km/h, a motorway lattice every 50 km at 113 km/h; 12–276 min):

* ``detour = 1.32`` — road distance over straight-line distance: the median ratio of OSRM's
  routed distance to the straight line on the real trips (10th–90th percentile 1.10–1.79). It
  agrees with US studies of trips to hospitals (≈1.4; Boscoe, Henry & Zdeb, *Prof Geogr*
  2012); a street grid gives 4/π ≈ 1.27, the highway grid 1.35.
* ``v_short_kmh = 40`` — town speed; ``v_long_kmh = 85`` — the average speed of long trips
  (OSRM's car profile drives a 113 km/h motorway at ~90 km/h and adds access and turns);
  ``d_scale_km = 60`` — the road distance over which trips shift from town to highway driving.
  Fitted together by grid search on the routed *road* distances of both references (a speed
  belongs to the roads; the grid's Manhattan detour is not real geography), each trip-length
  band weighted equally. The long-trip speed rests on the synthetic grid: no shipped extract
  holds trips of 2 h, and real intercity trips along direct interstates have smaller detours
  than 1.32, so there the estimate probably runs long (see docs/engine.md, "Estimate").
* ``error_fraction = 0.25`` — the estimate's error **at the limit**, as a share of the time:
  the 90th percentile of |estimate − OSRM| / OSRM over the trips nearest 2 h that each
  reference holds, the larger of the two (real roads, 30–60 min trips: 24.8 %; highway grid,
  90–150 min trips: 14.7 %). Verdicts widen the margin to it (30 min at 2 h) and soften an
  estimated ``outside`` within it to ``borderline`` (:mod:`geo.rules`). A rule with a shorter
  limit gets the error measured at its length (``error_curve``: 46 % up to 15 min, 33 % up to
  30 min — the 90th percentiles of the real town trips of those lengths).

Measured error of these parameters by routed trip length (median / 90th percentile of
|error|, median bias; docs/engine.md, "Estimate", has the full table)::

    real roads, OSRM      0–15 min 17 % / 46 % (−4 %)   15–30 min 14 % / 33 % (−2 %)
                          30–60 min 12 % / 25 % (−11 %)
    highway grid, OSRM    60–90 min 6 % / 15 % (0 %)    90–150 min 6 % / 15 % (0 %)
                          150–240 min 6 % / 11 % (−4 %; with the long-trip tail)

**Long trips** (beyond ``tail_from_km`` = 158 km straight, where the estimate reaches 150 min —
the 2 h limit plus its 25 % error): the town detour overstates intercity roads. The OSRM detour
falls with trip length on the real extracts (median 1.63 at 1–3 km straight, 1.44 at 3–6,
1.37 at 6–10, 1.32 at 10–15, 1.29 at 15–20, 1.25 at 20–25, 1.20 at 25–40 km; 1,436 trips), to
the US intercity circuity factor (1.20, Ballou, Rahardja & Sakai, *Transp Res A* 2002). The
distance beyond the tail's start is therefore driven at ``detour_long = 1.20`` and the
highway speed: Columbus OH → Harrisburg PA (522 km straight) is 7 h 38 min instead of 8 h
6 min. A real drive there takes ~5.5 h: the rest of the gap is the speed model the estimate
follows (OSRM drives a 70 mph interstate at ~90 km/h, 80 % of the limit), and no real trip that
long can be routed offline here, so long estimates remain pessimistic. Estimates up to 150 min
are unchanged, so no verdict at the 2 h limit changes.

Against Valhalla's own routes the same estimate runs long (bias +5 % on real town trips, +24 %
on the grid's motorway trips): the two engines' speed models differ, and the estimate follows
the verdict engine.

Every answer is labelled ``estimate``: it is for screening and planning, never a verdict to file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from pyproj import Geod
from shapely import LineString, Polygon, polygons

from geo.geodesy import haversine_km
from geo.routing.base import Points, Router, as_lonlat_array, empty_isochrones, reach_bound_m
from geo.types import DriveTimeMatrix, EngineInfo, EngineLimits, FloatArray, LonLat, Route

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class EstimateParams:
    """Parameters of the estimate model (see the module docstring for their sources)."""

    detour: float = 1.32
    v_short_kmh: float = 40.0
    v_long_kmh: float = 85.0
    d_scale_km: float = 60.0
    error_fraction: float = 0.25
    error_curve: tuple[tuple[float, float], ...] = ((15.0, 0.46), (30.0, 0.33))
    """p90 |error| for limits up to 15 and 30 min (real town trips, OSRM); beyond, the error
    at the limit (``error_fraction``)."""
    tail_from_km: float = 158.4
    """Straight km from which a trip's further distance is intercity (the long-trip tail): where
    the model above reaches 150 min — the 2 h limit plus its error (25 %) — so no estimate up to
    150 min changes and no 2-h verdict can (km)."""
    detour_long: float = 1.20
    """Road km per straight km of the tail: the median OSRM road/straight of the longest real
    trips measured (25–40 km straight on the demo extracts: 1.20; 1.63 at 1–3 km, 1.32 at
    10–15 km) and the US intercity circuity factor (1.20, Ballou et al. 2002)."""
    source: str = "calibrated on OSRM trips: OSM town roads and a synthetic highway grid"


class EstimateRouter(Router):
    """Offline drive-time estimate from great-circle distance (see module docstring)."""

    name = "estimate"
    limits = EngineLimits()

    def __init__(self, params: EstimateParams | None = None) -> None:
        self.params = params or EstimateParams()

    @property
    def info(self) -> EngineInfo:
        p = self.params
        tail = (
            f" (× {p.detour_long:g} beyond {p.tail_from_km:g} km)"
            if np.isfinite(p.tail_from_km)
            else ""
        )
        return EngineInfo(
            name="estimate",
            data=(
                f"straight line × {p.detour:g}{tail} at {p.v_short_kmh:g}–{p.v_long_kmh:g} km/h "
                f"({p.source})"
            ),
            is_estimate=True,
            error_fraction=p.error_fraction,
            error_curve=p.error_curve,
        )

    # --- the model -----------------------------------------------------------------------
    def speed_kmh(self, road_km: FloatArray) -> FloatArray:
        p = self.params
        return p.v_long_kmh - (p.v_long_kmh - p.v_short_kmh) * np.exp(-road_km / p.d_scale_km)

    def road_km(self, straight_km: FloatArray) -> FloatArray:
        """Estimated road km for straight-line km: ``detour`` up to ``tail_from_km``, then
        ``detour_long`` for the rest of the trip."""
        p = self.params
        km = np.asarray(straight_km, dtype=float)
        head = np.minimum(km, p.tail_from_km)
        tail = np.maximum(km - p.tail_from_km, 0.0)
        return np.asarray(head * p.detour + tail * p.detour_long, dtype=float)

    def seconds_for_km(self, straight_km: FloatArray) -> FloatArray:
        """Estimated drive seconds for straight-line distances in km.

        Up to ``tail_from_km`` straight: ``road / speed(road)`` with the town detour. Beyond it
        the further distance is driven as intercity: ``detour_long`` road km per straight km at
        the highway speed ``v_long_kmh`` (continuous, and increasing with distance).
        """
        p = self.params
        km = np.asarray(straight_km, dtype=float)
        head_road = np.minimum(km, p.tail_from_km) * p.detour
        tail_road = np.maximum(km - p.tail_from_km, 0.0) * p.detour_long
        with np.errstate(invalid="ignore", divide="ignore"):
            head_s = head_road / self.speed_kmh(head_road) * 3600.0
        return np.asarray(head_s + tail_road / p.v_long_kmh * 3600.0, dtype=float)

    def km_for_seconds(self, seconds: FloatArray) -> FloatArray:
        """Straight-line km reachable in ``seconds`` (inverse of :meth:`seconds_for_km`)."""
        target = np.asarray(seconds, dtype=float)
        lo = np.zeros_like(target)
        hi = np.full_like(target, 1.0)
        # Time grows monotonically with distance: bracket, then bisect (vectorised).
        while np.any(self.seconds_for_km(hi) < target):
            hi = np.where(self.seconds_for_km(hi) < target, hi * 2, hi)
        for _ in range(60):
            mid = (lo + hi) / 2
            below = self.seconds_for_km(mid) < target
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        km: FloatArray = (lo + hi) / 2
        return km

    # --- Router interface ----------------------------------------------------------------
    def reach_bound_m(self, horizon_s: float) -> float:
        """Straight-line metres beyond which the estimate exceeds ``horizon_s`` seconds.

        Exact for this model (its time grows with distance): :meth:`km_for_seconds`, widened by
        a hair so a pair at the bound itself is kept. A non-finite horizon gives the general
        bound (:func:`geo.routing.base.reach_bound_m`).
        """
        if not np.isfinite(horizon_s):
            return reach_bound_m(horizon_s)
        if horizon_s <= 0:
            return 0.0
        km = float(self.km_for_seconds(np.array([float(horizon_s)]))[0])
        return km * 1000.0 * (1 + 1e-9) + 1e-6

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        km = haversine_km(o, d)
        seconds = self.seconds_for_km(km)
        # NaN coordinates propagate to NaN times (unknown), never 0.
        return DriveTimeMatrix(
            duration_s=seconds, distance_m=self.road_km(km) * 1000.0, engine=self.info
        )

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        pts = as_lonlat_array(points)
        contours = self.check_isochrone_request(minutes, len(pts))
        if len(pts) == 0:
            return empty_isochrones()
        radii_m = self.km_for_seconds(np.array(contours) * 60.0) * 1000.0
        azimuths = np.linspace(0.0, 360.0, 73)[:-1]
        n_p, n_c, n_a = len(pts), len(contours), len(azimuths)
        lon0 = np.repeat(pts[:, 0], n_c * n_a)
        lat0 = np.repeat(pts[:, 1], n_c * n_a)
        az = np.tile(azimuths, n_p * n_c)
        dist = np.tile(np.repeat(radii_m, n_a), n_p)
        lon, lat, _ = _GEOD.fwd(lon0, lat0, az, dist)
        rings = np.stack([lon, lat], axis=1).reshape(n_p * n_c, n_a, 2)
        geoms = polygons(rings)
        return gpd.GeoDataFrame(
            {
                "point_index": np.repeat(np.arange(n_p), n_c),
                "minutes": np.tile(np.array(contours, dtype=float), n_p),
                "engine": self.info.label,
                "approximate": True,
            },
            geometry=list(geoms),
            crs="EPSG:4326",
        )

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        o = as_lonlat_array([origin])
        d = as_lonlat_array([destination])
        km = float(haversine_km(o, d)[0, 0])
        seconds = float(self.seconds_for_km(np.array([km]))[0])
        inner = int(km // 5)  # a vertex every ~5 km so long lines follow the great circle
        lonlats = (
            _GEOD.npts(origin.lon, origin.lat, destination.lon, destination.lat, inner)
            if inner
            else []
        )
        line = LineString([origin.as_tuple(), *lonlats, destination.as_tuple()])
        return Route(
            duration_s=seconds,
            distance_m=float(self.road_km(np.array([km]))[0]) * 1000.0,
            geometry=line,
            engine=self.info,
            notes=("straight line drawn for orientation; this is not a road route",),
        )


__all__ = ["EstimateParams", "EstimateRouter", "Polygon"]
