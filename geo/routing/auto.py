"""The ``auto`` engine: the best engine that can answer, chosen per row.

For every origin (a place) the answer comes from, in order:

1. a **local road graph** (Valhalla) that covers the origin *and* every destination the origin
   could plausibly reach within the horizon (straight line at ``reach_speed_kmh``); a graph that
   misses one of those sites cannot say which one is nearest;
2. **openrouteservice**, when it is configured (API key, or a self-hosted URL);
3. the **estimate** (always available, labelled ``estimate``, margin widened).

Every row of a result says which engine answered (``NearestResult.labels``), and rows answered
by the estimate are flagged so their verdicts use the estimate's wider margin.
Drive-time matrices are assembled the same way, cell by cell: a cell is local when one graph
covers both ends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import EngineError, TrialreachError
from geo.geodesy import haversine_km
from geo.routing.base import (
    ENGINE_NAMES,
    MAX_PLAUSIBLE_SPEED_KMH,
    NearestResult,
    Points,
    Router,
    as_lonlat_array,
    concat_nearest,
    empty_isochrones,
    reach_bound_m,
    union_graphs,
)
from geo.routing.estimate import EstimateRouter
from geo.settings import Settings, get_settings
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, LonLat, Route

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest

_T = TypeVar("_T")

ONLINE_RETRY_AFTER_S = 300.0
"""After the online engine failed, it is not asked again for this long (seconds)."""

REACH_SPEED_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""No drive in the horizon can cover more straight-line distance than this speed allows."""


class AutoRouter(Router):
    """Local graph where it covers, else openrouteservice where configured, else the estimate.

    Parameters
    ----------
    local
        Local routers (normally one :class:`~geo.routing.valhalla.ValhallaRouter` per graph).
        Default: every graph in the cache, plus the demo graph.
    online
        An online router (openrouteservice) or None. Default: ORS when the settings configure it.
    fallback
        The router of last resort. Default: the estimate.
    """

    name = "auto"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        local: Sequence[Router] | None = None,
        online: Router | None = None,
        fallback: Router | None = None,
        reach_speed_kmh: float = REACH_SPEED_KMH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or get_settings()
        self.local = list(local) if local is not None else _default_local(self.settings)
        self.online = online if online is not None else _default_online(self.settings)
        self.fallback = fallback or EstimateRouter()
        self.reach_speed_kmh = reach_speed_kmh
        self.clock = clock
        # The last failure of the online engine: (when, note). While it is recent, the
        # online engine is not asked again (a dead service would make every chunk of a batch
        # wait through its retries); the rows say why they were estimated.
        self._online_fault: tuple[float, str] | None = None

    # --- description -----------------------------------------------------------------------
    @property
    def chain(self) -> list[Router]:
        return [*self.local, *([self.online] if self.online else []), self.fallback]

    @property
    def info(self) -> EngineInfo:
        parts = [r.info.label for r in self.local]
        if self.online is not None:
            parts.append(self.online.info.label)
        parts.append(self.fallback.info.label)
        # Not an estimate as a whole, but rows it answers with the fallback are: their verdicts
        # use the fallback's error (see geo.proximity).
        fallback = self.fallback.info
        return EngineInfo(
            name="auto",
            data=" → ".join(parts),
            error_fraction=fallback.error_fraction,
            error_curve=fallback.error_curve,
        )

    def describe(self) -> str:
        lines = []
        for r in self.local:
            lines.append(f"{r.describe()} where its road data covers")
        if self.online is not None:
            lines.append(f"{self.online.describe()} elsewhere")
        lines.append(f"{self.fallback.describe()} where nothing else can answer")
        return "auto: " + "; then ".join(lines)

    # --- selection ---------------------------------------------------------------------------
    def _local_for_rows(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Index into ``self.local`` per origin (-1: no local graph holds the origin and a site)."""
        choice = np.full(len(o), -1, dtype=np.int64)
        if not self.local or len(o) == 0:
            return choice
        finite = np.isfinite(o).all(axis=1)
        for k, router in enumerate(self.local):
            todo = (choice < 0) & finite
            if not todo.any():
                break
            if len(d) == 0 or not router.covers(d).any():
                continue
            covers_o = np.zeros(len(o), dtype=bool)
            covers_o[todo] = router.covers(o[todo])
            choice[todo & covers_o] = k
        return choice

    def _relevant(self, o: np.ndarray, d: np.ndarray, horizon_s: float | None) -> np.ndarray:
        """Which destinations each origin could plausibly reach within the horizon."""
        if horizon_s is None:
            return np.ones((len(o), len(d)), dtype=bool)
        reach_km = self.reach_bound_m(horizon_s) / 1000.0
        return np.asarray(haversine_km(o, d) <= reach_km, dtype=bool)

    def _local_nearest(
        self, router: Router, o: np.ndarray, d: np.ndarray, horizon_s: float | None
    ) -> NearestResult:
        """Routed answer over the sites the graph holds; sites within reach that it does not
        hold are answered by the next engine, and the quicker of the two wins per row."""
        held = router.covers(d)
        local = _remap(_with_labels(router.nearest(o, d[held], horizon_s), router), held)
        missing = self._relevant(o, d, horizon_s) & ~held[None, :]
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows) == 0:
            return local
        remote_router, other, note = self._ask_remote(
            lambda r: r.nearest(o[rows], d[~held], horizon_s)
        )
        other = _remap(_with_labels(other, remote_router, note), ~held)
        mine = np.where(np.isfinite(local.upper_s[rows]), local.upper_s[rows], np.inf)
        theirs = np.where(np.isfinite(other.duration_s), other.duration_s, np.inf)
        switch = np.zeros(len(o), dtype=bool)
        switch[rows] = theirs < mine
        return _merge(local, other, rows, switch)

    def _remote(self) -> Router:
        return self.online if self.online is not None else self.fallback

    def _ask_remote(self, call: Callable[[Router], _T]) -> tuple[Router, _T, str]:
        """``call`` on the online engine, else on the fallback with a note naming the fault."""
        remote = self._remote()
        if remote is not self.fallback and self._online_fault is not None:
            since, note = self._online_fault
            if self.clock() - since < ONLINE_RETRY_AFTER_S:
                return self.fallback, call(self.fallback), note
            self._online_fault = None
        try:
            return remote, call(remote), ""
        except TrialreachError as exc:
            if remote is self.fallback:
                raise
            note = self._fell_back(remote, exc)
            self._online_fault = (self.clock(), note)
            return self.fallback, call(self.fallback), note

    def _remote_nearest(
        self, o: np.ndarray, d: np.ndarray, horizon_s: float | None
    ) -> tuple[Router, NearestResult, str]:
        return self._ask_remote(lambda r: r.nearest(o, d, horizon_s))

    def _fell_back(self, failed: Router, exc: Exception) -> str:
        """'openrouteservice failed (HTTP 500 after 3 tries); estimated instead'."""
        name = ENGINE_NAMES.get(failed.info.name, failed.info.name)
        detail = str(exc).strip() or type(exc).__name__
        instead = (
            "estimated instead"
            if self.fallback.info.is_estimate
            else f"answered by {self.fallback.info.label} instead"
        )
        return f"{name} failed ({detail}); {instead}"

    # --- Router interface --------------------------------------------------------------------
    def covers(self, points: Points) -> BoolArray:
        return np.ones(len(as_lonlat_array(points)), dtype=bool)

    def graphs(self) -> tuple[GraphManifest, ...]:
        """Every local road graph this engine answers from, each once, in order of preference."""
        return union_graphs(self.local)

    def reach_bound_m(self, horizon_s: float) -> float:
        """The bound at ``reach_speed_kmh`` (default the base bound,
        :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`)."""
        return reach_bound_m(horizon_s, self.reach_speed_kmh)

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        choice = self._local_for_rows(o, d)
        parts: list[tuple[np.ndarray, NearestResult]] = []
        for k, router in enumerate(self.local):
            rows = np.flatnonzero(choice == k)
            if len(rows):
                try:
                    parts.append((rows, self._local_nearest(router, o[rows], d, horizon_s)))
                except TrialreachError as exc:
                    # A local engine failing hands its rows on, with the fault named.
                    failed = self._fell_back(router, exc).rsplit(";", 1)[0]
                    remote, res, note = self._remote_nearest(o[rows], d, horizon_s)
                    instead = (
                        "estimated instead"
                        if remote.info.is_estimate
                        else f"answered by {remote.info.label} instead"
                    )
                    text = f"{failed}; {note or instead}"
                    parts.append((rows, _with_labels(res, remote, text)))
        rows = np.flatnonzero(choice < 0)
        if len(rows):
            # An online engine that failed is named in the rows that fell back.
            remote, res, note = self._remote_nearest(o[rows], d, horizon_s)
            parts.append((rows, _with_labels(res, remote, note)))
        if not parts:
            return _with_labels(self.fallback.nearest(o, d, horizon_s), self.fallback)
        order = np.concatenate([rows for rows, _ in parts])
        joined = concat_nearest([res for _, res in parts])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return _take(joined, inverse, self.info)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Cell by cell: a local graph where it holds both ends, else online, else the estimate.

        The matrix says which engine answered each cell (``labels``), which cells are
        estimates (``estimated``) and why a cell fell back (``notes``); its ``engine`` is the
        one engine that answered every cell, or ``auto`` when they are mixed.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        cells = _Cells(len(o), len(d))
        done = np.zeros((len(o), len(d)), dtype=bool)
        note = np.full((len(o), len(d)), "", dtype=object)
        used: list[Router] = []
        for router in self.local:
            block = router.covers(o)[:, None] & router.covers(d)[None, :] & ~done
            if not block.any():
                continue
            rows, cols = np.flatnonzero(block.any(axis=1)), np.flatnonzero(block.any(axis=0))
            try:
                m = router.drive_times(o[rows], d[cols])
            except TrialreachError as exc:
                # A local engine failing leaves its cells to the next engine, with the fault.
                note[block] = self._fell_back(router, exc).rsplit(";", 1)[0]
                continue
            cells.fill(block, rows, cols, m, router)
            used.append(router)
            done |= block
        rest = ~done
        if rest.any():
            rows, cols = np.flatnonzero(rest.any(axis=1)), np.flatnonzero(rest.any(axis=0))
            remote, m, fault = self._ask_remote(lambda r: r.drive_times(o[rows], d[cols]))
            cells.fill(rest, rows, cols, m, remote)
            used.append(remote)
            if fault:
                note[rest] = fault
            else:
                instead = (
                    "estimated instead"
                    if remote.info.is_estimate
                    else f"answered by {remote.info.label} instead"
                )
                note[rest & (note != "")] = note[rest & (note != "")] + "; " + instead
        if len(used) == 1:
            engine = used[0].info
        elif used:
            engine = self.info
        else:
            engine = self._remote().info
        return cells.matrix(engine, note)

    def second_opinion(
        self, origins: Points, destinations: Points, matrix: DriveTimeMatrix, horizon_s: float
    ) -> DriveTimeMatrix | None:
        """Each local engine's second opinion on the cells it answered (see the base class)."""
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        labels = matrix.cell_labels()
        seconds = np.full(matrix.shape, np.nan)
        names = np.full(matrix.shape, "", dtype=object)
        found = False
        for router in self.local:
            cells = labels == router.info.label
            if not cells.any():
                continue
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            block = cells[np.ix_(rows, cols)]
            mine = np.where(block, matrix.duration_s[np.ix_(rows, cols)], np.nan)
            sub = DriveTimeMatrix(mine, np.full(mine.shape, np.nan), router.info)
            other = router.second_opinion(o[rows], d[cols], sub, horizon_s)
            if other is None:
                continue
            found = True
            got = np.where(block, other.duration_s, np.nan)
            seconds[np.ix_(rows, cols)] = np.where(block, got, seconds[np.ix_(rows, cols)])
            who = np.where(block, other.cell_labels(), names[np.ix_(rows, cols)])
            names[np.ix_(rows, cols)] = who
        if not found:
            return None
        return DriveTimeMatrix(
            duration_s=seconds,
            distance_m=np.full(matrix.shape, np.nan),
            engine=self.info,
            labels=names.astype(str),
        )

    def router_for_point(self, point: LonLat) -> Router:
        """The engine that would answer for ``point`` (first local graph covering it, …)."""
        xy = as_lonlat_array([point])
        for router in self.local:
            if router.covers(xy)[0]:
                return router
        return self._remote()

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        pts = as_lonlat_array(points)
        if len(pts) == 0:
            return empty_isochrones()
        frames = []
        for i, p in enumerate(pts):
            router = self.router_for_point(LonLat(float(p[0]), float(p[1])))
            try:
                frame = router.isochrones(p.reshape(1, 2), minutes)
            except TrialreachError:
                if router is self.fallback:
                    raise
                frame = self.fallback.isochrones(p.reshape(1, 2), minutes)
            frame = frame.assign(point_index=i)
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        ends = as_lonlat_array([origin, destination])
        for router in self.local:
            if router.covers(ends).all():
                try:
                    return router.route(origin, destination)
                except EngineError:
                    break
        try:
            return self._remote().route(origin, destination)
        except TrialreachError:
            return self.fallback.route(origin, destination)


class _Cells:
    """A matrix assembled block by block from several engines, with per-cell provenance."""

    def __init__(self, n_rows: int, n_cols: int) -> None:
        shape = (n_rows, n_cols)
        self.dur = np.full(shape, np.nan)
        self.dist = np.full(shape, np.nan)
        self.edge = np.zeros(shape, dtype=bool)
        self.labels = np.full(shape, "", dtype=object)
        self.estimated = np.zeros(shape, dtype=bool)
        self.notes = np.full(shape, "", dtype=object)

    def fill(
        self,
        cells: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        m: DriveTimeMatrix,
        router: Router,
    ) -> None:
        """Copy the answer ``m`` for the block ``rows`` × ``cols`` into the cells selected."""
        block = cells[np.ix_(rows, cols)]
        labels = m.cell_labels() if m.labels is not None else np.full(m.shape, router.info.label)
        sources: list[tuple[np.ndarray, np.ndarray]] = [
            (self.dur, m.duration_s),
            (self.dist, m.distance_m),
            (self.labels, labels),
            (self.estimated, m.cell_estimated()),
            (self.notes, m.cell_notes()),
        ]
        if m.edge_warning is not None:
            sources.append((self.edge, m.edge_warning))
        for target, values in sources:
            sub = target[np.ix_(rows, cols)]
            sub[block] = values[block]
            target[np.ix_(rows, cols)] = sub

    def matrix(self, engine: EngineInfo, notes: np.ndarray) -> DriveTimeMatrix:
        joined = np.where(
            (self.notes != "") & (notes != ""),
            notes + "; " + self.notes,
            np.where(notes != "", notes, self.notes),
        )
        return DriveTimeMatrix(
            duration_s=self.dur,
            distance_m=self.dist,
            engine=engine,
            edge_warning=self.edge,
            labels=self.labels.astype(str),
            estimated=self.estimated,
            notes=joined.astype(str),
        )


def _with_labels(res: NearestResult, router: Router, note: str = "") -> NearestResult:
    n = len(res.index)
    return replace(
        res,
        labels=np.full(n, router.info.label) if res.labels is None else res.labels,
        estimated=np.full(n, router.info.is_estimate) if res.estimated is None else res.estimated,
        notes=_join_notes(np.full(n, note), res.row_notes()) if note else res.notes,
    )


def _join_notes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    both = np.char.add(np.char.add(first.astype(str), "; "), second.astype(str))
    return np.where(second == "", first, np.where(first == "", second, both)).astype(str)


def _remap(res: NearestResult, held: np.ndarray) -> NearestResult:
    """Map indices into a subset of destinations (``held``) back to all destinations."""
    where = np.flatnonzero(held)
    index = np.where(res.index >= 0, where[np.clip(res.index, 0, None)] if len(where) else -1, -1)
    return replace(res, index=np.asarray(index, dtype=np.int64))


def _rows(res: NearestResult) -> dict[str, np.ndarray]:
    """Every per-row array of ``res``, filled in (the optional ones too)."""
    seconds, names = res.row_second()
    return {
        "index": res.index,
        "duration_s": res.duration_s,
        "lower_s": res.lower_s,
        "upper_s": res.upper_s,
        "distance_m": res.distance_m,
        "edge_warning": res.edge_warning,
        "method": res.method.astype(object),
        "labels": res.row_labels().astype(object),
        "estimated": res.row_estimated(),
        "notes": res.row_notes().astype(object),
        "second_s": seconds,
        "second_labels": names.astype(object),
    }


def _build(arrays: dict[str, np.ndarray], engine: EngineInfo, second: bool) -> NearestResult:
    text = ("method", "labels", "notes", "second_labels")
    out = {k: (v.astype(str) if k in text else v) for k, v in arrays.items()}
    if not second:
        out["second_s"] = out["second_labels"] = None  # type: ignore[assignment]
    return NearestResult(engine=engine, **out)


def _merge(
    base: NearestResult, other: NearestResult, rows: np.ndarray, switch: np.ndarray
) -> NearestResult:
    """``base`` with the rows in ``switch`` replaced by ``other`` (which covers ``rows``)."""
    pos = np.full(len(base.index), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    take = np.flatnonzero(switch)
    src = pos[take]
    mine, theirs = _rows(base), _rows(other)
    out = {}
    for key, values in mine.items():
        picked = values.copy()
        picked[take] = theirs[key][src]
        out[key] = picked
    second = base.second_s is not None or other.second_s is not None
    return _build(out, base.engine, second)


def _take(res: NearestResult, idx: np.ndarray, engine: EngineInfo) -> NearestResult:
    out = {key: values[idx] for key, values in _rows(res).items()}
    return _build(out, engine, res.second_s is not None)


def _default_local(settings: Settings) -> list[Router]:
    """One router per graph in the cache (the demo graph is built if missing).

    A graph with OSRM data answers with OSRM (the verdict engine: exact tables, routes) and
    asks Valhalla on the same graph for a second opinion near the limit and for isochrones
    (:class:`~geo.routing.second_opinion.SecondOpinionRouter`); a graph without OSRM data
    answers with Valhalla alone.
    """
    try:
        from geo.routing.graph import ensure_demo_graph, list_graphs
        from geo.routing.valhalla import ValhallaRouter
    except ImportError:  # pragma: no cover - valhalla is a dependency
        return []
    # No demo extracts here is fine: other graphs may still exist.
    with contextlib.suppress(TrialreachError):
        ensure_demo_graph(settings)
    routers: list[Router] = []
    for manifest in list_graphs(settings):
        try:
            routers.append(_graph_router(manifest, settings, ValhallaRouter))
        except TrialreachError:
            continue
    return routers


def _graph_router(manifest: GraphManifest, settings: Settings, valhalla: type[Router]) -> Router:
    """OSRM with a Valhalla second opinion where the graph has OSRM data, else Valhalla."""
    if manifest.has_osrm:
        try:
            from geo.routing.osrm import OsrmRouter
            from geo.routing.second_opinion import SecondOpinionRouter
        except ImportError:  # pragma: no cover - osrm-bindings is a dependency
            pass
        else:
            with contextlib.suppress(TrialreachError):
                osrm = OsrmRouter(manifest, settings)
                return SecondOpinionRouter(osrm, lambda: osrm.valhalla)
    return valhalla(manifest, settings)  # type: ignore[call-arg]


def _default_online(settings: Settings) -> Router | None:
    if not settings.ors_configured:
        return None
    from geo.routing.ors import OrsRouter

    return OrsRouter(settings)
