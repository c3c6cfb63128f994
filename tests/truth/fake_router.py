"""An engine whose drive time from A to B differs from B to A by a hand-computable amount.

``t(a → b) = 60 s × L1 km(a, b) + 1200 s × [b lies north of a]``

One minute per kilometre of the grid distance (``|Δx| + |Δy|`` in km, as on a street grid), plus
20 minutes whenever the destination lies north of the origin ("uphill"). So a place south of its
site needs 20 minutes more to get there than the site needs to reach it: any consumer that asks
the engine the wrong way round (site → place instead of place → site) reports a time 20 minutes
off, which the harness tests detect exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from geo.routing.base import Points, Router, as_lonlat_array, empty_isochrones
from geo.types import DriveTimeMatrix, EngineInfo, FloatArray, LonLat, Route

KM_PER_DEG = 6371.0088 * np.pi / 180.0
SECONDS_PER_KM = 60.0
UPHILL_S = 1200.0


def l1_km(a: FloatArray, b: FloatArray) -> FloatArray:
    """Grid (L1) distance in km between every row of ``a`` and every row of ``b``."""
    coslat = np.cos(np.radians((a[:, None, 1] + b[None, :, 1]) / 2))
    dx = np.abs(a[:, None, 0] - b[None, :, 0]) * KM_PER_DEG * coslat
    dy = np.abs(a[:, None, 1] - b[None, :, 1]) * KM_PER_DEG
    return np.asarray(dx + dy, dtype=float)


def expected_s(origins: FloatArray, destinations: FloatArray) -> FloatArray:
    """The fake's drive times (s), origins as rows: the hand formula of the module docstring."""
    north = destinations[None, :, 1] > origins[:, None, 1]
    return np.asarray(SECONDS_PER_KM * l1_km(origins, destinations) + UPHILL_S * north, dtype=float)


class AsymmetricRouter(Router):
    """The asymmetric fake engine (see the module docstring). Records every call's shape."""

    name = "asymmetric"

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="asymmetric", data="hand formula", data_date="2024-01-01")

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        self.calls.append((len(o), len(d)))
        t = expected_s(o, d)
        return DriveTimeMatrix(
            duration_s=t,
            distance_m=l1_km(o, d) * 1000.0,
            engine=self.info,
            edge_warning=np.zeros(t.shape, dtype=bool),
        )

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        return empty_isochrones()

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        a = np.array([[origin.lon, origin.lat]])
        b = np.array([[destination.lon, destination.lat]])
        return Route(
            duration_s=float(expected_s(a, b)[0, 0]),
            distance_m=float(l1_km(a, b)[0, 0] * 1000.0),
            geometry=shapely.LineString([a[0], b[0]]),
            engine=self.info,
        )


class SlowerAsymmetricRouter(AsymmetricRouter):
    """The same formula, every time × ``factor`` (a second engine with a slower car model)."""

    name = "slower"

    def __init__(self, factor: float = 1.3) -> None:
        super().__init__()
        self.factor = factor

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="slower", data="hand formula × factor", data_date="2024-01-01")

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        m = super().drive_times(origins, destinations)
        return DriveTimeMatrix(
            duration_s=m.duration_s * self.factor,
            distance_m=m.distance_m,
            engine=self.info,
            edge_warning=m.edge_warning,
        )
