"""The one interface every routing engine implements.

An engine answers three questions, each with its provenance (:class:`~geo.types.EngineInfo`):

* :meth:`Router.drive_times` — a matrix of drive times in seconds (NaN = no route, never 0);
* :meth:`Router.isochrones` — areas reachable within given minutes, as a GeoDataFrame;
* :meth:`Router.route` — one drive with its line, for a map.

:meth:`Router.nearest` finds, for many origins, the quickest destination. The default computes the
matrix in chunks; engines where the full matrix is expensive override it with a screening
strategy that still returns an exact time wherever a verdict depends on it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import geopandas as gpd
import numpy as np
import numpy.typing as npt

from geo.errors import EngineFaultError, RangeLimitError, ValidationError
from geo.geodesy import haversine_km, pairwise_km
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


@dataclass(frozen=True)
class NearestResult:
    """For each origin: the quickest destination and bounds on its drive time.

    ``duration_s`` is exact where known (NaN otherwise). ``lower_s``/``upper_s`` bound the time
    to the nearest destination; they equal ``duration_s`` for exact answers and differ where an
    engine only screened the origin (e.g. "under 1 h 45 min" from an isochrone). ``index`` is -1
    where no destination is reachable or known.
    """

    index: npt.NDArray[np.int64]
    duration_s: FloatArray
    lower_s: FloatArray
    upper_s: FloatArray
    distance_m: FloatArray
    engine: EngineInfo
    edge_warning: BoolArray
    method: npt.NDArray[np.str_]
    """How each answer was obtained: ``routed``, ``screened`` or ``estimated``."""
    labels: npt.NDArray[np.str_] | None = None
    """Per-origin engine label where engines differ by row (the ``auto`` engine); else None."""
    estimated: BoolArray | None = None
    """Per-origin: True where the answer is an estimate (its margin is widened)."""
    notes: npt.NDArray[np.str_] | None = None
    """Per-origin: what a reader must know about how the row was answered, e.g.
    ``"openrouteservice failed (HTTP 500 after 3 tries); estimated instead"``; else None."""
    second_s: FloatArray | None = None
    """Per-origin: a second engine's time to its nearest destination (s), NaN where it was not
    asked; None when no second engine was consulted (see :mod:`geo.routing.second_opinion`)."""
    second_labels: npt.NDArray[np.str_] | None = None
    """Per-origin: the second engine's name ("" where it was not asked)."""

    def row_labels(self) -> npt.NDArray[np.str_]:
        """The engine label of every row."""
        if self.labels is not None:
            return self.labels
        return np.full(len(self.index), self.engine.label)

    def row_estimated(self) -> BoolArray:
        """Whether each row is an estimate."""
        if self.estimated is not None:
            return self.estimated
        return np.full(len(self.index), self.engine.is_estimate)

    def row_notes(self) -> npt.NDArray[np.str_]:
        """The note of every row (empty string where there is none)."""
        if self.notes is not None:
            return self.notes
        return np.full(len(self.index), "", dtype=object).astype(str)

    def row_second(self) -> tuple[FloatArray, npt.NDArray[np.str_]]:
        """The second engine's time (s, NaN where not asked) and name of every row."""
        n = len(self.index)
        seconds = self.second_s if self.second_s is not None else np.full(n, np.nan)
        names = (
            self.second_labels
            if self.second_labels is not None
            else np.full(n, "", dtype=object).astype(str)
        )
        return seconds, names


MAX_PLAUSIBLE_SPEED_KMH = 130.0
"""No drive covers more straight-line distance per hour than this (used to rule sites out)."""


@overload
def reach_bound_m(horizon_s: float, max_speed_kmh: float = ...) -> float: ...
@overload
def reach_bound_m(horizon_s: FloatArray, max_speed_kmh: float = ...) -> FloatArray: ...
def reach_bound_m(
    horizon_s: float | FloatArray, max_speed_kmh: float = MAX_PLAUSIBLE_SPEED_KMH
) -> float | FloatArray:
    """Straight-line metres beyond which no drive can take at most ``horizon_s`` seconds.

    The one place this bound is computed: the data-edge rule, the ``auto`` engine's choice of
    the sites a place could reach, coverage's reach-bounded routing and the trial search all
    rule out what lies farther than ``horizon_s`` at ``max_speed_kmh`` as the crow flies.

    Parameters
    ----------
    horizon_s
        The drive time that matters (seconds), e.g. the rule's limit; a float or an array
        (elementwise). NaN gives NaN.
    max_speed_kmh
        The straight-line speed no drive exceeds (km/h); default
        :data:`MAX_PLAUSIBLE_SPEED_KMH`.

    Returns
    -------
    float or numpy.ndarray
        The distance in metres (``inf`` for an infinite horizon), shaped like ``horizon_s``.
    """
    metres_per_s = float(max_speed_kmh) / 3.6
    if isinstance(horizon_s, np.ndarray):
        return np.asarray(horizon_s, dtype=float) * metres_per_s
    return float(horizon_s) * metres_per_s


ENGINE_NAMES = {"ors": "openrouteservice", "osrm": "OSRM", "valhalla": "Valhalla"}
"""How an engine is named in a message about its faults (by ``EngineInfo.name``)."""

SAME_POINT_M = 500.0
"""Ends closer than this (straight line, metres) may get a drive time of 0 s: an engine snaps
both to the same road point. Farther apart, 0 s is an engine fault, never a drive time."""


def validate_durations(
    duration_s: npt.ArrayLike,
    origins: FloatArray,
    destinations: FloatArray,
    engine: str,
) -> FloatArray:
    """Refuse an engine's answer that holds a time no drive can take; return it as floats.

    Every engine passes its raw durations (seconds, origins as rows, destinations as columns)
    through here before they become a :class:`~geo.types.DriveTimeMatrix` or a
    :class:`~geo.types.Route`. NaN stays NaN (no route). A time that is infinite, negative, or
    0 s between ends more than :data:`SAME_POINT_M` apart is an engine fault: the whole answer
    is refused with :class:`~geo.errors.EngineFaultError` (an engine that says 0 s for 560 km
    cannot be trusted for its other cells either), so it never becomes a verdict and, under
    ``auto``, never replaces another engine's answers.

    Parameters
    ----------
    duration_s
        Drive times in seconds, shape (len(origins), len(destinations)).
    origins, destinations
        (n, 2) lon/lat arrays (degrees).
    engine
        The engine's name for the message (e.g. ``"openrouteservice"``).

    Returns
    -------
    numpy.ndarray
        The durations as a float array (unchanged).
    """
    d = np.array(duration_s, dtype=float)
    if d.shape != (len(origins), len(destinations)):
        raise EngineFaultError(
            f"{engine} answered a table of shape {d.shape} for "
            f"{len(origins)} × {len(destinations)} places"
        )
    known = ~np.isnan(d)
    bad = known & (~np.isfinite(d) | (d < 0))
    rows, cols = np.nonzero(known & (d == 0))
    km = np.zeros(0)
    if len(rows):
        km = pairwise_km(origins[rows], destinations[cols])
        far = ~(km * 1000.0 <= SAME_POINT_M)  # NaN coordinates count as far
        bad[rows[far], cols[far]] = True
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        apart = float(pairwise_km(origins[i : i + 1], destinations[j : j + 1])[0])
        where = f"points {apart:,.0f} km apart" if np.isfinite(apart) else "points"
        raise EngineFaultError(
            f"{engine} answered {d[i, j]:g} s for a drive between {where} "
            f"({int(bad.sum())} of {d.size} times are zero, negative or infinite): "
            "an engine fault, not a drive time"
        )
    return d


def nearest_from_matrix(
    matrix: DriveTimeMatrix,
    method: str = "routed",
    origins: FloatArray | None = None,
    destinations: FloatArray | None = None,
) -> NearestResult:
    """Reduce a full matrix to each origin's quickest destination (vectorised).

    With the points given, a destination the engine could not answer (off its data) only casts
    doubt on an origin's answer when it could plausibly be quicker: closer in a straight line
    than :data:`MAX_PLAUSIBLE_SPEED_KMH` allows in the time found.
    """
    d = matrix.duration_s
    n = d.shape[0]
    has_any = np.isfinite(d).any(axis=1) if d.shape[1] else np.zeros(n, dtype=bool)
    filled = np.where(np.isfinite(d), d, np.inf)
    idx = np.argmin(filled, axis=1) if d.shape[1] else np.zeros(n, dtype=np.int64)
    idx = np.where(has_any, idx, -1).astype(np.int64)
    rows = np.arange(n)
    safe = np.clip(idx, 0, None)
    duration = np.where(has_any, d[rows, safe] if d.shape[1] else np.nan, np.nan)
    distance = np.where(has_any, matrix.distance_m[rows, safe] if d.shape[1] else np.nan, np.nan)
    if matrix.edge_warning is not None and d.shape[1]:
        # The nearest answer is doubtful if its own cell touched the data edge, or if any
        # destination that might be quicker was cut off by it.
        edge = matrix.edge_warning[rows, safe] & has_any
        doubtful = matrix.edge_warning & ~np.isfinite(d)
        if origins is not None and destinations is not None and doubtful.any():
            best_s = np.where(has_any, duration, np.inf)
            reach_km = reach_bound_m(best_s[:, None]) / 1000.0
            doubtful &= haversine_km(origins, destinations) < reach_km
        edge |= doubtful.any(axis=1)
    else:
        edge = np.zeros(n, dtype=bool)
    # Per-cell provenance (the auto engine mixes engines within one matrix) follows the
    # chosen cell; a row without any answer keeps the matrix's own provenance.
    labels = estimated = notes = None
    row_method = np.full(n, method if not matrix.engine.is_estimate else "estimated")
    if d.shape[1] and (
        matrix.labels is not None or matrix.estimated is not None or matrix.notes is not None
    ):
        labels = matrix.cell_labels()[rows, safe]
        estimated = matrix.cell_estimated()[rows, safe] & has_any
        notes = matrix.cell_notes()[rows, safe]
        row_method = np.where(estimated, "estimated", row_method)
    return NearestResult(
        index=idx,
        duration_s=duration.astype(float),
        lower_s=duration.astype(float),
        upper_s=duration.astype(float),
        distance_m=distance.astype(float),
        engine=matrix.engine,
        edge_warning=edge,
        method=row_method,
        labels=labels,
        estimated=estimated,
        notes=notes,
    )


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


def concat_nearest(parts: Sequence[NearestResult]) -> NearestResult:
    """Join per-chunk results in order."""
    return NearestResult(
        index=np.concatenate([p.index for p in parts]),
        duration_s=np.concatenate([p.duration_s for p in parts]),
        lower_s=np.concatenate([p.lower_s for p in parts]),
        upper_s=np.concatenate([p.upper_s for p in parts]),
        distance_m=np.concatenate([p.distance_m for p in parts]),
        engine=parts[0].engine,
        edge_warning=np.concatenate([p.edge_warning for p in parts]),
        method=np.concatenate([p.method for p in parts]),
        labels=(
            np.concatenate([p.row_labels() for p in parts])
            if any(p.labels is not None for p in parts)
            else None
        ),
        estimated=(
            np.concatenate([p.row_estimated() for p in parts])
            if any(p.estimated is not None for p in parts)
            else None
        ),
        notes=(
            np.concatenate([p.row_notes() for p in parts])
            if any(p.notes is not None for p in parts)
            else None
        ),
        second_s=(
            np.concatenate([p.row_second()[0] for p in parts])
            if any(p.second_s is not None for p in parts)
            else None
        ),
        second_labels=(
            np.concatenate([p.row_second()[1] for p in parts])
            if any(p.second_s is not None for p in parts)
            else None
        ),
    )


def empty_isochrones() -> gpd.GeoDataFrame:
    """An isochrone frame with no rows and the standard columns."""
    return gpd.GeoDataFrame(
        {c: [] for c in ISOCHRONE_COLUMNS if c != "geometry"}, geometry=[], crs="EPSG:4326"
    )
