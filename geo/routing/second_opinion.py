"""A second engine's opinion where the verdict could change: OSRM answers, Valhalla checks.

A local road graph carries two engines built from the same extract (:mod:`geo.routing.graph`):
OSRM (exact tables: every time equals its own route) and Valhalla (isochrones, and its own
routes). They are two different speed models: OSRM's car profile gives longer town drives than
Valhalla's ``auto`` costing (median ×1.29 on the demo extracts' town trips). Neither is the
truth, so where they disagree about the rule the product says so instead of picking one.

:class:`SecondOpinionRouter` answers with the **verdict engine** (the primary, OSRM: its times
are the ones reported) and asks the second engine (Valhalla) only for the places whose primary
time lies in a band around the horizon (the rule's limit), where a different speed model could
move the verdict — far inside or far outside, the models cannot disagree about the rule, so a
batch stays fast. The second engine's time is carried per row (``NearestResult.second_s``);
:func:`geo.proximity.check` turns a disagreement across the limit into ``borderline`` with the
reason ("engines disagree: 112 min (OSRM) vs 131 min (Valhalla)").

The band follows the measured ratio of the two models, OSRM time / Valhalla time on 394 routed
trips of the demo extracts (3–35 min): 0.82 at the least, 1.98 at the most (p1 1.02, median
1.25, p99 1.58). A place is asked again when ``limit × BAND_LOW ≤ primary ≤ limit × BAND_HIGH``:
outside that band no observed ratio could put the second engine on the other side.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from geo.errors import TrialreachError
from geo.routing.base import (
    ENGINE_NAMES,
    NearestResult,
    Points,
    Router,
    as_lonlat_array,
    union_graphs,
)
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, LonLat, Route

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest

BAND_LOW = 0.8
"""Primary times from this share of the limit up get a second opinion (lowest measured
OSRM/Valhalla ratio 0.82: a second engine up to 1/0.82 = 1.22× slower)."""
BAND_HIGH = 2.0
"""Primary times up to this multiple of the limit get a second opinion (highest measured
OSRM/Valhalla ratio 1.98)."""


class SecondOpinionRouter(Router):
    """The primary engine's answers, with the second engine's time where it could matter.

    Parameters
    ----------
    primary
        The verdict engine (normally :class:`~geo.routing.osrm.OsrmRouter`); its times are
        reported, its routes drawn.
    second
        The second engine, or a function that opens it on first use (normally the
        :class:`~geo.routing.valhalla.ValhallaRouter` on the same graph). It also answers
        isochrones (OSRM has none).
    band
        ``(low, high)``: primary times within ``[limit × low, limit × high]`` are asked again
        (:data:`BAND_LOW`, :data:`BAND_HIGH`).
    """

    def __init__(
        self,
        primary: Router,
        second: Router | Callable[[], Router],
        *,
        band: tuple[float, float] = (BAND_LOW, BAND_HIGH),
    ) -> None:
        self.primary = primary
        self._second = second
        self.band = (float(band[0]), float(band[1]))
        self.name = primary.name
        self.limits = primary.limits

    @property
    def second(self) -> Router:
        """The second engine (opened on first use)."""
        if not isinstance(self._second, Router):
            self._second = self._second()
        return self._second

    @property
    def info(self) -> EngineInfo:
        return self.primary.info

    def describe(self) -> str:
        second = self._second.info.name if isinstance(self._second, Router) else "valhalla"
        return (
            f"{self.primary.describe()} (second opinion near the limit: "
            f"{ENGINE_NAMES.get(second, second)})"
        )

    def covers(self, points: Points) -> BoolArray:
        return self.primary.covers(points)

    def graphs(self) -> tuple[GraphManifest, ...]:
        """The primary's graphs, and the second engine's once it is open (it is not opened here:
        normally both answer from the same graph)."""
        opened = [self._second] if isinstance(self._second, Router) else []
        return union_graphs([self.primary, *opened])

    def reach_bound_m(self, horizon_s: float) -> float:
        """The primary's bound (its times are the ones reported)."""
        return self.primary.reach_bound_m(horizon_s)

    def without_second_opinions(self) -> Router:
        """A shallow copy whose band is empty: no time falls in it, so none is asked again."""
        quiet = copy.copy(self)
        quiet.band = (math.inf, math.inf)
        return quiet

    def in_band(self, seconds: np.ndarray, horizon_s: float) -> BoolArray:
        """Which primary times (s) could fall on the other side of ``horizon_s`` elsewhere."""
        t = np.asarray(seconds, dtype=float)
        lo, hi = horizon_s * self.band[0], horizon_s * self.band[1]
        return np.asarray(np.isfinite(t) & (t >= lo) & (t <= hi), dtype=bool)

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        res = self.primary.nearest(o, d, horizon_s)
        n = len(res.index)
        second_s = np.full(n, np.nan)
        names = np.full(n, "", dtype=object)
        failed = np.zeros(n, dtype=bool)
        if horizon_s is not None and n and len(d):
            rows = np.flatnonzero(self.in_band(res.duration_s, horizon_s))
            if len(rows):
                try:
                    # No horizon: the second engine answers with route times, never with
                    # screening bounds (a screened row has no time to compare).
                    other = self.second.nearest(o[rows], d, None)
                except TrialreachError:
                    # No second opinion is not a fault of the answer: the primary stands. The
                    # rows say it failed, so this answer is not remembered as complete
                    # (geo.routing.memory) and the next ask tries the second engine again.
                    failed[rows] = True
                else:
                    second_s[rows] = other.duration_s
                    names[rows] = self.second.info.name
        return replace(
            res,
            second_s=second_s,
            second_labels=names.astype(str),
            second_failed=failed if failed.any() else None,
        )

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        return self.primary.drive_times(origins, destinations)

    def second_opinion(
        self, origins: Points, destinations: Points, matrix: DriveTimeMatrix, horizon_s: float
    ) -> DriveTimeMatrix | None:
        """The second engine's times for the cells of ``matrix`` in the band (NaN elsewhere)."""
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        band = self.in_band(matrix.duration_s, horizon_s)
        seconds = np.full(matrix.shape, np.nan)
        names = np.full(matrix.shape, "", dtype=object)
        if band.any():
            rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
            try:
                other = self.second.drive_times(o[rows], d[cols])
            except TrialreachError:
                return None
            block = band[np.ix_(rows, cols)]
            sub = np.full(block.shape, np.nan)
            sub[block] = other.duration_s[block]
            seconds[np.ix_(rows, cols)] = sub
            names[band] = self.second.info.name
        return DriveTimeMatrix(
            duration_s=seconds,
            distance_m=np.full(matrix.shape, np.nan),
            engine=self.second.info if band.any() else self.primary.info,
            labels=names.astype(str),
        )

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        return self.second.isochrones(points, minutes)

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        return self.primary.route(origin, destination)


def engine_title(name: str) -> str:
    """'OSRM', 'Valhalla', 'openrouteservice' for an engine name or label."""
    key = name.split(" · ", 1)[0].strip()
    return ENGINE_NAMES.get(key, key)


__all__ = ["BAND_HIGH", "BAND_LOW", "SecondOpinionRouter", "engine_title"]
