"""Screening: verdict-ready answers for many places from a few isochrones per site.

For verdicts only the quickest site matters, and only whether it is within the limit. One reverse
and one forward isochrone per site at ``horizon / 2``, ``horizon − band`` and ``horizon + band``
minutes (``band`` = ``screen_band_min``, default 15) sort places with vectorised point-in-polygon:
inside some site's inner contours → within, reported as bounds only (``upper_s`` = the contour,
``duration_s`` NaN, method ``screened``); outside every site's outer contours → outside
(``lower_s`` = the outer contour, method ``screened``); the rest are answered exactly
(:mod:`geo.routing.valhalla.candidates`), only to the sites whose outer contour holds them
(method ``routed``). A screened row never carries a drive time: only bounds. In the data-edge
rule the time is capped at the upper screening contour (only drives that could change the
verdict matter).

Screening costs two isochrones per site unless they are cached (memory, or on disk: sites are
public). With ``screening="auto"`` (the default) it is used only when it pays: all site polygons
cached, or their measured cost below the routing it can save (:meth:`Screening.nearest`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import OutsideDataError
from geo.routing.base import NearestResult, Points, as_lonlat_array, concat_nearest
from geo.routing.valhalla.candidates import CandidateSearch
from geo.routing.valhalla.isochrones import ISOCHRONE_CACHE_SIZE, IsochroneMaker
from geo.types import BoolArray, FloatArray

DEFAULT_SCREEN_BAND_MIN = 15.0
DEFAULT_SCREEN_MIN_ORIGINS = 100
"""Below this many places, :meth:`ValhallaRouter.nearest` never screens."""
SCREEN_SAMPLE = 16
"""Places answered exactly first under ``screening="auto"`` to measure what routing costs."""
SCREEN_EXPECTED_DECIDED = 0.5
"""Share of places screening is assumed to decide when weighing its cost against routing."""
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


def _tolerance_deg(lat: float) -> float:
    """:data:`SCREEN_TOLERANCE_KM` in degrees, generous in both axes at latitude ``lat``."""
    return float(SCREEN_TOLERANCE_KM / (111.32 * max(0.2, float(np.cos(np.radians(lat))))))


class Screening(CandidateSearch, IsochroneMaker):
    """:meth:`nearest` with a horizon: screened by isochrones where it pays."""

    screen_band_min: float
    screen_min_origins: int
    screening: ScreeningMode
    persist_site_isochrones: bool
    _screen_cache: dict[
        tuple[Any, ...], tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]]
    ]
    _site_polygons_s: float | None
    """Measured seconds to compute one site's screening polygons (both directions)."""

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


__all__ = [
    "DEFAULT_SCREEN_BAND_MIN",
    "DEFAULT_SCREEN_MIN_ORIGINS",
    "SCREEN_EXPECTED_DECIDED",
    "SCREEN_GENERALIZE_M",
    "SCREEN_INNER_MARGIN_MIN",
    "SCREEN_INNER_MARGIN_SHARE",
    "SCREEN_SAMPLE",
    "SCREEN_TOLERANCE_KM",
    "Screening",
    "ScreeningMode",
]
