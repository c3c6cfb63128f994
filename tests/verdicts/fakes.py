"""Hand-computable fake engines for verdict tests (no road data needed).

Every fake drives along the equator: 1° of longitude = 60 min, plus a one-way penalty so the
two directions differ (a swapped origin/destination anywhere changes the numbers).
"""

from __future__ import annotations

import numpy as np

from geo.errors import NetworkError
from geo.routing.base import Router, as_lonlat_array, validate_durations
from geo.routing.estimate import EstimateRouter
from geo.types import DriveTimeMatrix, EngineInfo, Route

WESTWARD_PENALTY_S = 600.0
"""Driving west costs 10 min more than the same trip east (a one-way detour)."""


def asym_seconds(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Hand-computable drive seconds from each origin (row) to each destination (column)."""
    dlon = d[None, :, 0] - o[:, None, 0]
    return np.abs(dlon) * 3600.0 + np.where(dlon < 0, WESTWARD_PENALTY_S, 0.0)


class AsymBox(Router):
    """A local engine covering lon within [west, east]; asymmetric times (see module)."""

    name = "box"

    def __init__(self, west: float, east: float, label: str = "box", scale: float = 1.0):
        self.west, self.east, self.label, self.scale = west, east, label, scale
        self.calls: list[tuple[int, int]] = []

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name=self.label, data="test graph")

    def covers(self, points):  # type: ignore[no-untyped-def]
        p = as_lonlat_array(points)
        return (p[:, 0] >= self.west) & (p[:, 0] <= self.east)

    def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        self.calls.append((len(o), len(d)))
        s = asym_seconds(o, d) * self.scale
        return DriveTimeMatrix(s, np.abs(s) * 25, self.info, np.zeros(s.shape, dtype=bool))

    def isochrones(self, points, minutes):  # type: ignore[no-untyped-def]
        return EstimateRouter().isochrones(points, minutes).assign(engine=self.info.label)

    def route(self, origin, destination):  # type: ignore[no-untyped-def]
        s = float(asym_seconds(as_lonlat_array([origin]), as_lonlat_array([destination]))[0, 0])
        return Route(s * self.scale, s * 25, None, self.info)  # type: ignore[arg-type]


class FailingOnline(AsymBox):
    """An online engine that is down (as openrouteservice after its retries)."""

    name = "ors"

    def __init__(self) -> None:
        super().__init__(-180, 180, label="ors")

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="ors", data="openrouteservice public API (OpenStreetMap)")

    def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
        raise NetworkError("openrouteservice answered HTTP 500 after 3 tries")

    def nearest(self, origins, destinations, horizon_s=None):  # type: ignore[no-untyped-def]
        raise NetworkError("openrouteservice answered HTTP 500 after 3 tries")


class ZeroOnline(AsymBox):
    """An online engine answering 0 s for everything, validated like every real engine."""

    def __init__(self) -> None:
        super().__init__(-180, 180, label="ors")

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name="ors", data="openrouteservice public API (OpenStreetMap)")

    def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        s = validate_durations(np.zeros((len(o), len(d))), o, d, "openrouteservice")
        return DriveTimeMatrix(s, s, self.info)


class FailingOnCall(AsymBox):
    """A local engine that fails on the given calls of ``nearest`` (1-based)."""

    def __init__(self, fail_calls: set[int], **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(-180, 180, **kw)
        self.fail_calls = fail_calls
        self.n_calls = 0

    def nearest(self, origins, destinations, horizon_s=None):  # type: ignore[no-untyped-def]
        self.n_calls += 1
        if self.n_calls in self.fail_calls:
            raise NetworkError("openrouteservice answered HTTP 500 after 3 tries")
        return super().nearest(origins, destinations, horizon_s)
