"""The engine catalogue: every routing engine by name, what it needs, and how to open it.

One registry replaces the dispatchers that each face used to keep (``geo.routing.get_router``,
the app's engine menu, the CLI's engine option). A key is an engine name (``auto``,
``valhalla``, ``osrm``, ``ors``, ``estimate``), optionally with a graph for the engines that read
a local road graph: ``valhalla:demo`` is ``valhalla`` on the graph ``demo``.

Engines are imported only when opened, so reading the catalogue costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import EngineNotAvailableError, ValidationError
from geo.routing.base import Router
from geo.settings import Settings, get_settings

NEEDS_GRAPH = "graph"
"""A local road graph (``trialreach graph build``; the demo graph builds itself)."""
NEEDS_ORS = "ors"
"""An openrouteservice key (``ORS_API_KEY``) or a self-hosted ``ORS_BASE_URL``."""

DEFAULT_GRAPH = "demo"
"""The graph a graph engine opens when none is named."""

Factory = Callable[..., Router]
"""``factory(settings, graph, **options) -> Router``; ``graph`` is None for engines without."""


@dataclass(frozen=True)
class EngineSpec:
    """One entry of the catalogue.

    Attributes
    ----------
    name
        The key users type (``--engine``, ``TRIALREACH_ENGINE``).
    description
        One line for help texts and menus.
    needs
        What must exist before it answers: :data:`NEEDS_GRAPH`, :data:`NEEDS_ORS`, or nothing.
    is_estimate
        True when its drive times are estimates (never routed), so verdicts widen the margin.
    factory
        Opens the engine: ``factory(settings, graph, **options)``.
    sends_to
        Which outside service sees coordinates when it answers ("" = none; ORS may be
        self-hosted, so its host is filled in by :func:`sends_to`).
    """

    name: str
    description: str
    needs: tuple[str, ...]
    is_estimate: bool
    factory: Factory
    sends_to: str = ""

    @property
    def uses_graph(self) -> bool:
        """True when a key may name a graph (``valhalla:NAME``)."""
        return NEEDS_GRAPH in self.needs

    def unavailable(self, settings: Settings) -> str:
        """Why this engine cannot be opened here ("" when nothing is missing that we can see)."""
        if NEEDS_ORS in self.needs and not settings.ors_configured:
            return "openrouteservice needs ORS_API_KEY, or ORS_BASE_URL of a self-hosted server"
        return ""


def _estimate(settings: Settings, graph: str | None, **options: Any) -> Router:
    from geo.routing.estimate import EstimateRouter

    return EstimateRouter(**options)


def _auto(settings: Settings, graph: str | None, **options: Any) -> Router:
    from geo.routing.auto import AutoRouter

    return AutoRouter(settings, **options)


def _valhalla(settings: Settings, graph: str | None, **options: Any) -> Router:
    try:
        from geo.routing.valhalla import ValhallaRouter
    except ImportError as exc:  # pragma: no cover - pyvalhalla is a dependency
        raise EngineNotAvailableError(f"Valhalla is not installed here ({exc})") from None
    from geo.routing.cache import CachedRouter  # the process-wide nearest memory

    valhalla = ValhallaRouter(graph or DEFAULT_GRAPH, settings, **options)
    return CachedRouter(valhalla, settings, memory_size=0)


def _osrm(settings: Settings, graph: str | None, **options: Any) -> Router:
    try:
        from geo.routing.osrm import OsrmRouter
    except ImportError as exc:
        raise EngineNotAvailableError(
            f"the OSRM engine is not available in this installation ({exc}); use 'valhalla'"
        ) from None
    from geo.routing.cache import CachedRouter  # the process-wide nearest memory

    osrm = OsrmRouter(graph or DEFAULT_GRAPH, settings=settings, **options)
    return CachedRouter(osrm, settings, memory_size=0)


def _ors(settings: Settings, graph: str | None, **options: Any) -> Router:
    from geo.routing.ors import OrsRouter

    return OrsRouter(settings, **options)


CATALOGUE: Mapping[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            "auto",
            "per place: a local road graph that covers it, else openrouteservice if configured, "
            "else the estimate; every row says which answered",
            (),
            False,
            _auto,
        ),
        EngineSpec(
            "valhalla",
            "Valhalla in-process over a local road graph (isochrones, routes, drive times)",
            (NEEDS_GRAPH,),
            False,
            _valhalla,
        ),
        EngineSpec(
            "osrm",
            "OSRM in-process over a local road graph (exact drive-time tables)",
            (NEEDS_GRAPH,),
            False,
            _osrm,
        ),
        EngineSpec(
            "ors",
            "openrouteservice (public API with a key, or self-hosted)",
            (NEEDS_ORS,),
            False,
            _ors,
            sends_to="openrouteservice",
        ),
        EngineSpec(
            "estimate",
            "straight line x detour factor at a trip-length speed (approximate, no data needed)",
            (),
            True,
            _estimate,
        ),
    )
}
"""Every engine, in the order menus show them."""

ENGINE_NAMES: tuple[str, ...] = tuple(CATALOGUE)


def parse_key(key: str) -> tuple[EngineSpec, str | None]:
    """Split ``valhalla:demo`` into the engine's entry and the graph name (None when absent).

    Raises
    ------
    ValidationError
        For an unknown engine, or a graph given to an engine that reads none.
    """
    text = key.strip()
    name, sep, graph = text.partition(":")
    spec = CATALOGUE.get(name.strip().lower())
    if spec is None:
        raise ValidationError(f"unknown engine {text!r}; choose one of: {', '.join(ENGINE_NAMES)}")
    if not sep:
        return spec, None
    if not spec.uses_graph or not graph.strip():
        raise ValidationError(
            f"engine key {text!r}: only "
            + ", ".join(s.name for s in CATALOGUE.values() if s.uses_graph)
            + " take a graph name (e.g. 'valhalla:demo')"
        )
    return spec, graph.strip()


def choose_graph(
    key: str | None, points: Any, settings: Settings | None = None
) -> tuple[str, int, int] | None:
    """The built road graph a graph engine named without a graph should use for ``points``.

    The graph whose road data covers the most of ``points`` ((n, 2) lon/lat, degrees) wins;
    ties go to the smallest area. Returns (graph name, points covered, points given), or None
    when the engine takes no graph, the key names one already, or no graph is built yet (the
    demo graph then builds itself).

    Raises
    ------
    ValidationError
        Graphs are built but none covers any of the points: the message lists them.
    """
    import numpy as np
    import shapely

    from geo.routing.graph import list_graphs

    s = settings or get_settings()
    spec, key_graph = parse_key(key or s.engine)
    if not spec.uses_graph or key_graph:
        return None
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    graphs = list_graphs(s)
    if not graphs or len(xy) == 0:
        return None
    counts = [int(shapely.contains_xy(g.covered_area, xy[:, 0], xy[:, 1]).sum()) for g in graphs]
    best = max(range(len(graphs)), key=lambda i: (counts[i], -graphs[i].area_km2))
    if counts[best] == 0:
        listing = "; ".join(
            f"{g.name} (lon {g.bounds[0]:.2f}…{g.bounds[2]:.2f}, lat {g.bounds[1]:.2f}…"
            f"{g.bounds[3]:.2f})"
            for g in graphs
        )
        raise ValidationError(
            f"no local road graph covers any of the {len(xy)} sites. Built graphs: {listing}. "
            "Build one that does (trialreach graph build --sites SET or --pbf FILE), name one "
            "with --graph, or use --engine auto"
        )
    return graphs[best].name, counts[best], len(xy)


def make_router(
    key: str | None = None,
    *,
    graph: str | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> Router:
    """Open the engine a key names (default: the settings' engine).

    Parameters
    ----------
    key
        ``auto``, ``valhalla``, ``osrm``, ``ors``, ``estimate``, or ``valhalla:GRAPH`` /
        ``osrm:GRAPH``.
    graph
        Local road graph for the graph engines (default :data:`DEFAULT_GRAPH`); a graph in the key
        wins. Ignored by the other engines (``auto`` uses every graph that covers a place).
    settings
        Settings (default: from the environment).
    **options
        Passed to the engine's constructor (e.g. ``local=[...]`` for ``auto`` in tests).

    Raises
    ------
    ValidationError
        Unknown engine.
    EngineNotAvailableError
        The engine cannot be used here (with what to do).
    """
    s = settings or get_settings()
    spec, key_graph = parse_key(key or s.engine)
    chosen = key_graph or graph
    return spec.factory(s, chosen if spec.uses_graph else None, **options)


def is_estimate(key: str) -> bool:
    """True when the engine a key names only estimates drive times."""
    return parse_key(key)[0].is_estimate


__all__ = [
    "CATALOGUE",
    "DEFAULT_GRAPH",
    "ENGINE_NAMES",
    "NEEDS_GRAPH",
    "NEEDS_ORS",
    "EngineSpec",
    "choose_graph",
    "is_estimate",
    "make_router",
    "parse_key",
]
