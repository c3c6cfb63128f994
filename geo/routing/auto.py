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
covers both ends. Turning to the online engine or the estimate when another fails, with the
fault named, is :mod:`geo.routing.fallback_chain`; each graph's engines remember their answers
process-wide in their own wrappers (:mod:`geo.routing.graph_engines`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import EngineError, TrialreachError
from geo.geodesy import haversine_km
from geo.routing.base import (
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
from geo.routing.combine import (
    CellAssembly,
    merge_rows,
    remap_indices,
    take_rows,
    with_labels,
)
from geo.routing.estimate import EstimateRouter
from geo.routing.fallback_chain import RemoteFallback, default_online
from geo.routing.graph_engines import local_routers
from geo.settings import Settings, get_settings
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, EngineLimits, LonLat, Route

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest

REACH_SPEED_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""No drive in the horizon can cover more straight-line distance than this speed allows."""


class AutoRouter(RemoteFallback, Router):
    """Local graph where it covers, else openrouteservice where configured, else the estimate.

    Parameters
    ----------
    local
        Local routers (one per graph, :func:`geo.routing.graph_engines.local_routers`: OSRM
        with Valhalla's second opinion where OSRM data exists, else Valhalla).
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
        self.local = list(local) if local is not None else local_routers(self.settings)
        self.online = online if online is not None else default_online(self.settings)
        self.fallback = fallback or EstimateRouter()
        self.limits = local_table_limits(self.local)
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
        sites = d[held]
        # A warm repeat of a batch is answered from the process-wide memory by each graph
        # engine's wrapper (geo.routing.graph_engines, geo.routing.cache.CachedRouter).
        answer = router.nearest(o, sites, horizon_s)
        local = remap_indices(with_labels(answer, router), held)
        missing = self._relevant(o, d, horizon_s) & ~held[None, :]
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows) == 0:
            return local
        remote_router, other, note = self._ask_remote(
            lambda r: r.nearest(o[rows], d[~held], horizon_s)
        )
        other = remap_indices(with_labels(other, remote_router, note), ~held)
        mine = np.where(np.isfinite(local.upper_s[rows]), local.upper_s[rows], np.inf)
        theirs = np.where(np.isfinite(other.duration_s), other.duration_s, np.inf)
        switch = np.zeros(len(o), dtype=bool)
        switch[rows] = theirs < mine
        return merge_rows(local, other, rows, switch)

    # --- Router interface --------------------------------------------------------------------
    def covers(self, points: Points) -> BoolArray:
        return np.ones(len(as_lonlat_array(points)), dtype=bool)

    def graphs(self) -> tuple[GraphManifest, ...]:
        """Every local road graph this engine answers from, each once, in order of preference."""
        return union_graphs(self.local)

    def without_second_opinions(self) -> Router:
        """A shallow copy whose local engines ask no second opinion (else this router)."""
        quiet_local = [r.without_second_opinions() for r in self.local]
        if all(q is r for q, r in zip(quiet_local, self.local, strict=True)):
            return self
        quiet = copy.copy(self)
        quiet.local = quiet_local
        return quiet

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
                    parts.append((rows, with_labels(res, remote, text)))
        rows = np.flatnonzero(choice < 0)
        if len(rows):
            # An online engine that failed is named in the rows that fell back.
            remote, res, note = self._remote_nearest(o[rows], d, horizon_s)
            parts.append((rows, with_labels(res, remote, note)))
        if not parts:
            return with_labels(self.fallback.nearest(o, d, horizon_s), self.fallback)
        order = np.concatenate([rows for rows, _ in parts])
        joined = concat_nearest([res for _, res in parts])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return take_rows(joined, inverse, self.info)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        """Cell by cell: a local graph where it holds both ends, else online, else the estimate.

        The matrix says which engine answered each cell (``labels``), which cells are
        estimates (``estimated``) and why a cell fell back (``notes``); its ``engine`` is the
        one engine that answered every cell, or ``auto`` when they are mixed.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        cells = CellAssembly(len(o), len(d))
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


def local_table_limits(local: Sequence[Router]) -> EngineLimits:
    """The table size ``auto`` declares: the largest its local engines declare (None: none do).

    A batch check sends ``max_matrix_pairs`` ÷ sites places per call
    (:func:`geo.proximity.check`); each OSRM table pays one search across the whole graph per
    site, so the local OSRM engine's table size must reach ``check`` through ``auto`` (10,000 ×
    20 on the 300 km grid: one table 54 s, five of 2,000 places 229 s). The online engine and
    the estimate need no such bound from here: openrouteservice splits its own requests by its
    own ``max_matrix_pairs``.
    """
    pairs = [r.limits.max_matrix_pairs for r in local if r.limits.max_matrix_pairs]
    return EngineLimits(max_matrix_pairs=max(pairs) if pairs else None)
