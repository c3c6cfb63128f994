"""Shared hand-computable fake engines for tests (no road data needed).

:class:`CrowFliesRouter` drives the straight line × ``detour`` at ``speed_kmh`` (times scaled by
``slower``), optionally with no route at or north of a latitude, and counts what it is asked.
The coverage tests use it as their "counter" and "crow" engines. :func:`fake_graph` gives a fake
engine a local road graph's identity, so that the process-wide ``nearest`` memory
(:mod:`geo.routing.memory`) remembers its answers as it does a real graph engine's.

Import it as ``from routing_fakes import CrowFliesRouter`` (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from geo.errors import EngineError
from geo.geodesy import haversine_km
from geo.routing.base import Points, Router, as_lonlat_array, empty_isochrones
from geo.types import DriveTimeMatrix, EngineInfo, LonLat, Route


@dataclass(frozen=True)
class FakeGraph:
    """What :func:`geo.routing.memory.graph_identity` reads of a road graph."""

    name: str
    path: Path
    built_at: str


def fake_graph(name: str = "fake", built_at: str = "2026-01-01T00:00:00Z") -> Any:
    """A stand-in for a built :class:`~geo.routing.graph.GraphManifest` (name, folder, build)."""
    return FakeGraph(name=name, path=Path("/nonexistent") / name, built_at=built_at)


class CrowFliesRouter(Router):
    """Drive = straight line × ``detour`` at ``speed_kmh``, × ``slower``; NaN at or north of
    ``no_route_north_of`` (degrees) when given. Counts ``calls`` (matrices asked) and ``cells``.

    Parameters
    ----------
    name
        Engine name and label (``info.name``).
    detour, speed_kmh, slower
        Road km per straight km; speed (km/h); a factor on every time.
    no_route_north_of
        Latitude (degrees) from which points have no route (None: every point routes).
    graph
        A local road graph's identity (:func:`fake_graph`) for memory tests; None: no graph.
    """

    def __init__(
        self,
        name: str = "crow",
        *,
        detour: float = 1.3,
        speed_kmh: float = 70.0,
        slower: float = 1.0,
        no_route_north_of: float | None = None,
        graph: Any = None,
    ) -> None:
        self.name = name
        self.detour, self.speed_kmh, self.slower = detour, speed_kmh, slower
        self.no_route_north_of = no_route_north_of
        self.graph = graph
        # Counters are private (with read-only properties): public attributes are settings to
        # the nearest memory's fingerprint (geo.routing.memory.router_fingerprint).
        self._calls = 0
        self._cells = 0
        self._fail_next = 0

    @property
    def calls(self) -> int:
        """Matrices answered."""
        return self._calls

    @property
    def cells(self) -> int:
        """Origin × destination pairs answered."""
        return self._cells

    def fail(self, times: int = 1) -> None:
        """Raise an :class:`EngineError` on the next ``times`` calls (a failing engine)."""
        self._fail_next = times

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(name=self.name, data=f"test {self.name}", is_estimate=False)

    def graphs(self) -> tuple[Any, ...]:
        return () if self.graph is None else (self.graph,)

    def seconds(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        """The hand-computable times (s) from each origin (row) to each destination."""
        km = haversine_km(o, d) * self.detour
        s = km / self.speed_kmh * 3600.0 * self.slower
        if self.no_route_north_of is not None:
            north = self.no_route_north_of
            s = np.where((o[:, 1][:, None] >= north) | (d[:, 1][None, :] >= north), np.nan, s)
        return np.asarray(s, dtype=float)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        if self._fail_next > 0:
            self._fail_next -= 1
            raise EngineError(f"the {self.name} engine failed (test)")
        self._calls += 1
        self._cells += len(o) * len(d)
        s = self.seconds(o, d)
        km = haversine_km(o, d) * self.detour
        return DriveTimeMatrix(duration_s=s, distance_m=km * 1000.0, engine=self.info)

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        return empty_isochrones()

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        raise EngineError("no routes")


__all__ = ["CrowFliesRouter", "FakeGraph", "fake_graph"]
