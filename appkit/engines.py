"""Which routing engines the app offers, and how each is described to a user (no Streamlit here)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from geo.routing import Router
from geo.settings import Settings

AUTO = "auto"
ESTIMATE = "estimate"
ORS = "ors"
VALHALLA_PREFIX = "valhalla:"
OSRM_PREFIX = "osrm:"
DEMO_ENGINE = "valhalla:demo"


@dataclass(frozen=True)
class EngineChoice:
    """One entry of the engine menu."""

    key: str
    label: str
    sends_to: str
    """Which outside service sees coordinates when this engine answers ("" = none)."""


def valhalla_installed() -> bool:
    return importlib.util.find_spec("valhalla") is not None


def engine_choices(settings: Settings) -> list[EngineChoice]:
    """Engines usable here: automatic, local graphs (demo first; Valhalla, and OSRM where the
    graph has its data), openrouteservice, estimate. Keys are catalogue keys
    (:mod:`geo.routing.catalogue`)."""
    choices: list[EngineChoice] = []
    ors_host = ""
    if settings.ors_configured:
        ors_host = "openrouteservice.org" if settings.ors_is_public else settings.ors_base_url
    fallback = f"openrouteservice ({ors_host}), then " if ors_host else ""
    choices.append(
        EngineChoice(
            AUTO,
            "Automatic: local road graphs where they cover, else "
            f"{fallback}the estimate (each answer says which)",
            f"openrouteservice ({ors_host})" if ors_host else "",
        )
    )
    if valhalla_installed():
        from geo.routing.graph import demo_extracts, list_graphs

        if all(p.is_file() for p in demo_extracts(settings)):
            choices.append(
                EngineChoice(
                    DEMO_ENGINE,
                    "Valhalla, local road graph 'demo' (OSM: Harrisburg PA, Columbus OH)",
                    "",
                )
            )
        for graph in list_graphs(settings):
            if graph.name != "demo":
                choices.append(
                    EngineChoice(
                        f"{VALHALLA_PREFIX}{graph.name}",
                        f"Valhalla, local road graph '{graph.name}' ({graph.data_label})",
                        "",
                    )
                )
            if getattr(graph, "has_osrm", False):
                choices.append(
                    EngineChoice(
                        f"{OSRM_PREFIX}{graph.name}",
                        f"OSRM, local road graph '{graph.name}' ({graph.data_label})",
                        "",
                    )
                )
    if ors_host:
        choices.append(
            EngineChoice(ORS, f"openrouteservice ({ors_host})", f"openrouteservice ({ors_host})")
        )
    choices.append(EngineChoice(ESTIMATE, "Estimate from straight-line distance (approximate)", ""))
    return choices


def default_engine(settings: Settings, choices: list[EngineChoice]) -> str:
    """The engine preselected: the settings' choice (default ``auto``: local graphs where they
    cover, the estimate elsewhere, every answer labelled)."""
    keys = [c.key for c in choices]
    wanted = settings.engine.strip().lower()
    if wanted == AUTO:
        return AUTO
    if wanted == ESTIMATE:
        return ESTIMATE
    if wanted == ORS and ORS in keys:
        return ORS
    if wanted.startswith((VALHALLA_PREFIX, OSRM_PREFIX)) and wanted in keys:
        return wanted
    if DEMO_ENGINE in keys:
        return DEMO_ENGINE
    return ESTIMATE


def make_router(key: str, settings: Settings) -> Router:
    """The router for a menu key (may build the demo graph on first use: a few seconds).

    Menu keys are catalogue keys (:mod:`geo.routing.catalogue`): ``auto``, ``ors``,
    ``estimate``, ``valhalla:GRAPH``; the engine is opened by the front door
    (:func:`trialreach.api.open_engine`).
    """
    from trialreach.api import open_engine

    return open_engine(key, settings=settings)
