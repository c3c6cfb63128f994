"""Fixtures for coverage tests: a line router with hand-computable drive times."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from geo.errors import EngineError
from geo.routing.base import Points, Router, as_lonlat_array, empty_isochrones
from geo.rules import ProximityRule
from geo.types import DriveTimeMatrix, EngineInfo, LonLat, Route

MIN_PER_DEG = 100.0
"""The line router drives 1 minute per 0.01 degree of longitude."""
ISLAND_LAT = 10.0
"""Points at or north of this latitude are on an island: no route to or from them."""


class LineRouter(Router):
    """Drive time = 100 min per degree of longitude difference; the island is unreachable."""

    name = "line"

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="line", data="test line", is_estimate=False)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o = as_lonlat_array(origins)
        d = as_lonlat_array(destinations)
        seconds = np.abs(o[:, 0][:, None] - d[:, 0][None, :]) * MIN_PER_DEG * 60.0
        island = (o[:, 1][:, None] >= ISLAND_LAT) | (d[:, 1][None, :] >= ISLAND_LAT)
        seconds = np.where(island, np.nan, seconds)
        return DriveTimeMatrix(duration_s=seconds, distance_m=seconds * 20.0, engine=self.info)

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        return empty_isochrones()

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        raise EngineError("the line router draws no routes")


@pytest.fixture
def line_router() -> LineRouter:
    return LineRouter()


@pytest.fixture
def two_hours() -> ProximityRule:
    return ProximityRule(name="t", max_drive_min=120, min_days=1, margin_min=10)


def points_frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Rows with ``lon``/``lat`` (None for no point) → GeoDataFrame in EPSG:4326."""
    geoms = [
        None if r.get("lon") is None else Point(float(r["lon"]), float(r["lat"]))  # type: ignore[arg-type]
        for r in rows
    ]
    data = [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows]
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
