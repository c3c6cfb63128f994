"""Fixtures for the lodging tests: data paths, isolated settings, and a router with known times."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from geo.routing.base import Points, Router, as_lonlat_array
from geo.routing.synthetic import GridSpec
from geo.settings import Settings
from geo.types import DriveTimeMatrix, EngineInfo, LonLat, Route

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[1]
OSM = REPO / "data" / "osm"

GRID = GridSpec(size_km=400.0, spacing_km=1.0, origin_lon=0.05, origin_lat=0.05)
"""Layout used to place test points at whole kilometres (no PBF is written for it)."""


def grid_point(col: float, row: float) -> tuple[float, float]:
    lon, lat = GRID.lonlat(col, row)[0]
    return float(lon), float(lat)


class GridRouter(Router):
    """Drive time = L1 distance in grid kilometres at ``kmh`` (default 60: one minute per km).

    ``one_way_extra_s`` is added to every trip whose origin lies west of its destination, so a
    test can tell which way the engine was asked. Points in ``unreachable_cols`` (column >= that
    value) get NaN, like an island without a road. Every call's origins are recorded.
    """

    name = "grid"

    def __init__(
        self,
        kmh: float = 60.0,
        one_way_extra_s: float = 0.0,
        unreachable_from_col: float = np.inf,
        edge_from_col: float = np.inf,
    ) -> None:
        self.kmh = kmh
        self.one_way_extra_s = one_way_extra_s
        self.unreachable_from_col = unreachable_from_col
        self.edge_from_col = edge_from_col
        self.calls: list[np.ndarray] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="grid", data="test grid", data_date="2024-01-01")

    def _colrow(self, xy: np.ndarray) -> np.ndarray:
        cols = (xy[:, 0] - GRID.origin_lon) / GRID.deg_lon
        rows = (xy[:, 1] - GRID.origin_lat) / GRID.deg_lat
        return np.stack([cols, rows], 1)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        self.calls.append(o.copy())
        oc, dc = self._colrow(o), self._colrow(d)
        km = np.abs(oc[:, None, 0] - dc[None, :, 0]) + np.abs(oc[:, None, 1] - dc[None, :, 1])
        seconds = km / self.kmh * 3600.0
        seconds = seconds + np.where(oc[:, None, 0] < dc[None, :, 0], self.one_way_extra_s, 0.0)
        cut = self.unreachable_from_col
        far = (oc[:, None, 0] >= cut) | (dc[None, :, 0] >= cut)
        seconds = np.where(far, np.nan, seconds)
        edge = (oc[:, None, 0] >= self.edge_from_col) & ~far
        return DriveTimeMatrix(
            duration_s=seconds, distance_m=km * 1000.0, engine=self.info, edge_warning=edge
        )

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        raise NotImplementedError

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        raise NotImplementedError


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private cache and the repository's data folder."""
    return Settings(data_dir=REPO / "data", cache_dir=tmp_path / "cache")
