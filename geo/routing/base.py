"""The one interface every routing engine implements.

An engine answers three questions, each with its provenance (:class:`~geo.types.EngineInfo`):

* :meth:`Router.drive_times` — a matrix of drive times in seconds (NaN = no route, never 0);
* :meth:`Router.isochrones` — areas reachable within given minutes, as a GeoDataFrame;
* :meth:`Router.route` — one drive with its line, for a map.

:meth:`Router.nearest` finds, for many origins, the quickest destination. The default computes the
matrix in chunks; engines where the full matrix is expensive override it with a screening
strategy that still returns an exact time wherever a verdict depends on it.

The types an engine answers with live next to it: plausibility bounds in
:mod:`geo.routing.bounds`, the nearest-destination answer in :mod:`geo.routing.nearest` (both
importable from here too).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from geo.errors import RangeLimitError, ValidationError
from geo.routing.bounds import (
    MAX_PLAUSIBLE_SPEED_KMH,
    SAME_POINT_M,
    reach_bound_m,
    validate_durations,
)
from geo.routing.nearest import NearestResult, concat_nearest, nearest_from_matrix
from geo.types import (
    BoolArray,
    DriveTimeMatrix,
    EngineInfo,
    EngineLimits,
    FloatArray,
    LonLat,
    Route,
)

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest

Points = npt.ArrayLike | Sequence[LonLat]
"""(n, 2) lon/lat array-like, or a sequence of :class:`LonLat`."""

ISOCHRONE_COLUMNS = ["point_index", "minutes", "engine", "approximate", "geometry"]


def as_lonlat_array(points: Points | LonLat, name: str = "points") -> FloatArray:
    """Coerce points to a float array of shape (n, 2) holding lon, lat; check ranges."""
    if isinstance(points, LonLat):
        points = [points]
    if isinstance(points, (list, tuple)) and points and isinstance(points[0], LonLat):
        arr = np.array([(p.lon, p.lat) for p in points], dtype=float)
    else:
        arr = np.asarray(points, dtype=float)
        if arr.size == 0:
            arr = arr.reshape(0, 2)
        if arr.ndim == 1 and arr.shape[0] == 2:
            arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValidationError(f"{name} must be (lon, lat) pairs, got an array of shape {arr.shape}")
    finite = np.isfinite(arr).all(axis=1)
    bad = finite & ((np.abs(arr[:, 0]) > 180) | (np.abs(arr[:, 1]) > 90))
    if bad.any():
        rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:10])
        raise ValidationError(f"{name}: coordinates out of range at positions {rows}")
    return arr


ENGINE_NAMES = {"ors": "openrouteservice", "osrm": "OSRM", "valhalla": "Valhalla"}
"""How an engine is named in a message about its faults (by ``EngineInfo.name``)."""


class Router(ABC):
    """Base class of every engine (``estimate``, ``valhalla``, ``osrm``, ``ors``, ``auto``)."""

    name: str = "base"
    limits: EngineLimits = EngineLimits()

    @property
    @abstractmethod
    def info(self) -> EngineInfo:
        """What this engine is and which data it answers from."""

    @abstractmethod
    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Drive times in seconds from every origin to every destination (NaN = no route)."""

    @abstractmethod
    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        """Areas reachable by car within each of ``minutes`` from each point.

        Returns a GeoDataFrame in EPSG:4326 with columns ``point_index``, ``minutes``,
        ``engine`` (label), ``approximate`` (bool) and ``geometry``; one row per point × contour,
        sorted by point then minutes.
        """

    @abstractmethod
    def route(self, origin: LonLat, destination: LonLat) -> Route:
        """One drive from ``origin`` to ``destination``."""

    def covers(self, points: Points) -> BoolArray:
        """Whether this engine has data for each point (default: everywhere)."""
        return np.ones(len(as_lonlat_array(points)), dtype=bool)

    @property
    def is_estimate(self) -> bool:
        """Whether this engine's answers are estimates, not routed drives (``info.is_estimate``).

        The ``auto`` engine is not an estimate as a whole, though rows it answers with its
        fallback are: per-row provenance is in :class:`NearestResult` / the matrix.
        """
        return bool(self.info.is_estimate)

    def graphs(self) -> tuple[GraphManifest, ...]:
        """The local road graphs this engine answers from (``()`` for the estimate and ORS).

        Default: the engine's ``graph`` attribute when it holds a
        :class:`~geo.routing.graph.GraphManifest` (the OSRM and Valhalla engines), else none.
        Engines that combine others (``auto``, the second opinion, the cache) return the union.
        """
        graph = getattr(self, "graph", None)
        if graph is None:
            return ()
        from geo.routing.graph import GraphManifest

        return (graph,) if isinstance(graph, GraphManifest) else ()

    def reach_bound_m(self, horizon_s: float) -> float:
        """Straight-line metres beyond which no drive this engine answers is within ``horizon_s``.

        Default: :func:`reach_bound_m` at :data:`MAX_PLAUSIBLE_SPEED_KMH` (the data-edge rule's
        bound). The estimate engine overrides it with its own, tighter inverse.

        Parameters
        ----------
        horizon_s
            The drive time that matters (seconds), e.g. the rule's limit.

        Returns
        -------
        float
            The distance in metres.
        """
        return reach_bound_m(horizon_s)

    def without_second_opinions(self) -> Router:
        """This engine with its second opinions switched off (default: itself, it asks none).

        For callers that report one time per place and never read a second engine's opinion
        (coverage): asking for one would only cost time. Answers, labels and provenance are
        unchanged; the router itself is not modified (engines that ask return a shallow copy).
        """
        return self

    def second_opinion(
        self, origins: Points, destinations: Points, matrix: DriveTimeMatrix, horizon_s: float
    ) -> DriveTimeMatrix | None:
        """A second engine's times for the cells of ``matrix`` whose verdict it could change.

        ``matrix`` is this engine's answer for ``origins`` × ``destinations``; ``horizon_s`` the
        rule's limit. Returns a matrix of the same shape, NaN where no second opinion was asked
        (its ``labels`` name the second engine per cell), or None when this engine has no second
        engine (the default). See :mod:`geo.routing.second_opinion`.
        """
        return None

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        """For each origin, the destination with the shortest drive.

        ``horizon_s`` is the time that matters for a verdict (the rule's limit); engines that
        screen may report only bounds for origins far from it. The default is exact.
        """
        o = as_lonlat_array(origins, "origins")
        dest = as_lonlat_array(destinations, "destinations")
        chunk = max(1, 2_000_000 // max(1, len(dest)))
        parts = [
            nearest_from_matrix(
                self.drive_times(o[i : i + chunk], dest), "routed", o[i : i + chunk], dest
            )
            for i in range(0, max(1, len(o)), chunk)
        ]
        return concat_nearest(parts)

    def check_isochrone_request(self, minutes: Iterable[float], n_points: int = 1) -> list[float]:
        """Validate contour minutes against declared limits before anything is sent."""
        contours = sorted({float(m) for m in minutes})
        if not contours or any(not np.isfinite(m) or m <= 0 for m in contours):
            raise ValidationError(
                f"isochrone minutes must be positive numbers, got {list(minutes)}"
            )
        lim = self.limits
        if lim.max_isochrone_min is not None and contours[-1] > lim.max_isochrone_min:
            raise RangeLimitError(
                f"the {self.name} engine answers isochrones up to {lim.max_isochrone_min:g} min, "
                f"{contours[-1]:g} min was asked"
            )
        if lim.max_isochrone_contours is not None and len(contours) > lim.max_isochrone_contours:
            raise RangeLimitError(
                f"the {self.name} engine takes at most {lim.max_isochrone_contours} contours per "
                f"request, {len(contours)} were asked"
            )
        return contours

    def describe(self) -> str:
        """One line for a status bar: engine, data, and whether it is an estimate."""
        info = self.info
        text = f"{info.name} — {info.data}" if info.data else info.name
        if info.is_estimate:
            text += " (estimate — approximate, not a routed drive time)"
        return text


def union_graphs(routers: Iterable[Router]) -> tuple[GraphManifest, ...]:
    """The road graphs of several engines, each once (by folder), in the engines' order."""
    seen: set[str] = set()
    out: list[GraphManifest] = []
    for router in routers:
        for graph in router.graphs():
            key = str(graph.path)
            if key not in seen:
                seen.add(key)
                out.append(graph)
    return tuple(out)


def empty_isochrones() -> gpd.GeoDataFrame:
    """An isochrone frame with no rows and the standard columns."""
    return gpd.GeoDataFrame(
        {c: [] for c in ISOCHRONE_COLUMNS if c != "geometry"}, geometry=[], crs="EPSG:4326"
    )


__all__ = [
    "ENGINE_NAMES",
    "ISOCHRONE_COLUMNS",
    "MAX_PLAUSIBLE_SPEED_KMH",
    "SAME_POINT_M",
    "NearestResult",
    "Points",
    "Router",
    "as_lonlat_array",
    "concat_nearest",
    "empty_isochrones",
    "nearest_from_matrix",
    "reach_bound_m",
    "union_graphs",
    "validate_durations",
]
