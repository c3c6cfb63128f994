"""The ``valhalla`` engine: :class:`ValhallaRouter`, one local road graph answered in-process.

It is the sum of its concerns, each in its own module: the ``Actor``, data edge and exact routes
(:mod:`~geo.routing.valhalla.core`), the nearest site by route with matrix candidates
(:mod:`~geo.routing.valhalla.candidates`), isochrones (:mod:`~geo.routing.valhalla.isochrones`)
and screening (:mod:`~geo.routing.valhalla.screening`). Here: its options and constructor.
"""

from __future__ import annotations

import threading
from typing import Any

from shapely.geometry.base import BaseGeometry

from geo.routing.cache import DiskCache
from geo.routing.data_edge import DEFAULT_EDGE_MARGIN_KM, DEFAULT_EDGE_SPEED_KMH, DataEdge
from geo.routing.graph import DEMO_GRAPH, GraphManifest, load_graph
from geo.routing.valhalla.candidates import (
    DEFAULT_CANDIDATE_FACTOR,
    DEFAULT_CANDIDATE_SLACK_S,
    DEFAULT_CHUNK_PAIRS,
)
from geo.routing.valhalla.core import DEFAULT_MAX_SNAP_M
from geo.routing.valhalla.screening import (
    DEFAULT_SCREEN_BAND_MIN,
    DEFAULT_SCREEN_MIN_ORIGINS,
    Screening,
    ScreeningMode,
)
from geo.settings import Settings, get_settings
from geo.types import EngineLimits


class ValhallaRouter(Screening):
    """Routed drive times from one local road graph (see the module docstring).

    Parameters
    ----------
    graph
        Name of a graph in the cache (``demo`` is built on first use) or its manifest.
    settings
        Where the cache is; default from the environment.
    edge_speed_kmh
        Speed used by the data-edge rule (km/h); no road in the data should be faster.
    edge_margin_km
        An isochrone closer than this to the data boundary is flagged (km).
    screen_band_min
        Half-width of the screening band around the horizon in :meth:`nearest` (minutes).
    screen_min_origins
        Fewer places than this are never screened (a coordinator checking one address wants the
        exact time, and isochrones cost more than a few routes).
    screening
        ``"auto"`` screens when it pays (see :meth:`nearest`), ``"always"`` whenever a horizon
        is given (and at least ``screen_min_origins`` places), ``"never"`` answers every place
        exactly.
    persist_site_isochrones
        Keep the screening isochrones around *sites* on disk (they are public, and computing
        them is most of the cost of a first screening run); patients' places never are.
    chunk_pairs
        Largest candidate matrix sent in one request (origin × destination pairs).
    candidate_factor, candidate_slack_s
        A site is routed for a place when its matrix time is at most ``candidate_factor`` ×
        the place's best matrix time + ``candidate_slack_s`` (seconds).
    max_snap_m
        A point farther than this from every road of the graph gets no drive time (NaN), no
        route and no isochrone (m): Valhalla would otherwise start from a road kilometres away.
    """

    name = "valhalla"

    def __init__(
        self,
        graph: str | GraphManifest = DEMO_GRAPH,
        settings: Settings | None = None,
        *,
        edge_speed_kmh: float = DEFAULT_EDGE_SPEED_KMH,
        edge_margin_km: float = DEFAULT_EDGE_MARGIN_KM,
        screen_band_min: float = DEFAULT_SCREEN_BAND_MIN,
        screen_min_origins: int = DEFAULT_SCREEN_MIN_ORIGINS,
        screening: ScreeningMode = "auto",
        persist_site_isochrones: bool = True,
        chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
        candidate_factor: float = DEFAULT_CANDIDATE_FACTOR,
        candidate_slack_s: float = DEFAULT_CANDIDATE_SLACK_S,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
    ) -> None:
        if screening not in ("auto", "always", "never"):
            raise ValueError(f"screening must be auto, always or never, got {screening!r}")
        if not candidate_factor >= 1.0 or not candidate_slack_s >= 0.0:
            raise ValueError("candidate_factor must be ≥ 1 and candidate_slack_s ≥ 0")
        self.settings = settings or get_settings()
        self.graph = graph if isinstance(graph, GraphManifest) else load_graph(graph, self.settings)
        self.edge = DataEdge(
            self.graph.covered_area, edge_speed_kmh=edge_speed_kmh, edge_margin_km=edge_margin_km
        )
        self.edge_speed_kmh = self.edge.edge_speed_kmh
        self.edge_margin_km = self.edge.edge_margin_km
        self.screen_band_min = float(screen_band_min)
        self.screen_min_origins = int(screen_min_origins)
        self.screening: ScreeningMode = screening
        self.persist_site_isochrones = bool(persist_site_isochrones)
        self.candidate_factor = float(candidate_factor)
        self.candidate_slack_s = float(candidate_slack_s)
        self.max_snap_m = float(max_snap_m)
        self._disk = DiskCache(self.settings.cache_dir / "routing")
        self.chunk_pairs = max(1, int(chunk_pairs))
        self.limits = EngineLimits(
            max_isochrone_min=self.graph.max_isochrone_min,
            max_isochrone_contours=4,
        )
        self._lock = threading.Lock()
        self._actor: Any = None
        self._iso_cache: dict[tuple[Any, ...], dict[float, BaseGeometry]] = {}
        self._screen_cache: dict[
            tuple[Any, ...], tuple[list[BaseGeometry], list[BaseGeometry], list[BaseGeometry]]
        ] = {}
        self._site_polygons_s = None
        self.stats = {"routes": 0, "route_s": 0.0, "matrix_pairs": 0}


__all__ = ["ValhallaRouter"]
