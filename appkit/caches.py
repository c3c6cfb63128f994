"""Cached resources shared by every page: engines, geocoders, site sets, map layers, drawings.

Caches live in memory only (``st.cache_resource`` / ``st.cache_data`` without ``persist``):
nothing a user types or uploads is written to disk or logged. Isochrones and routes are keyed by
engine and coordinates of sites (public) and of the place being drawn, held for an hour at most.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
import streamlit as st
from shapely.geometry.base import BaseGeometry

from appkit.engines import make_router
from geo.errors import TrialreachError
from geo.geocode import Geocoder
from geo.routing import Router
from geo.settings import Settings, get_settings
from geo.types import LonLat, Route


@st.cache_resource(show_spinner=False)
def cached_router(key: str, _settings: Settings, settings_key: tuple[Any, ...]) -> Router:
    """One router per engine (the Valhalla Actor is expensive to open)."""
    return make_router(key, _settings)


@st.cache_resource(show_spinner=False)
def cached_geocoder(mode: str, _settings: Settings, settings_key: tuple[Any, ...]) -> Geocoder:
    """One geocoder per mode; its answers stay in its in-memory LRU cache, never on disk."""
    from trialreach.api import open_geocoder

    geocoder = open_geocoder(mode, settings=_settings)
    assert isinstance(geocoder, Geocoder)  # a mode name opens trialreach's own geocoder
    return geocoder


@st.cache_data(show_spinner=False, max_entries=16)
def cached_site_set(name: str, data_dir: str) -> gpd.GeoDataFrame:
    """A built-in site set, through the front door (``.attrs["sites"]`` names it)."""
    from trialreach.api import load_sites

    return load_sites(name, settings=get_settings().with_(data_dir=_path(data_dir)))


@st.cache_data(show_spinner=False, max_entries=2)
def cached_boundaries(data_dir: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """County and state outlines for the offline basemap (U.S. Census Bureau via us-atlas)."""
    from geo.population import load_boundaries

    settings = get_settings().with_(data_dir=_path(data_dir))
    return load_boundaries("counties", settings), load_boundaries("states", settings)


@st.cache_data(show_spinner=False, max_entries=256)
def cached_isochrones(
    engine_key: str,
    _router: Router,
    points: tuple[tuple[float, float], ...],
    minutes: tuple[float, ...],
) -> gpd.GeoDataFrame:
    """Isochrones of sites (keyed by engine and coordinates; sites are not personal data)."""
    return _router.isochrones(list(points), list(minutes))


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def cached_route(
    engine_key: str, _router: Router, origin: tuple[float, float], dest: tuple[float, float]
) -> Route:
    return _router.route(LonLat(*origin), LonLat(*dest))


def _path(text: str) -> Path:
    return Path(text)


def settings_key(s: Settings) -> tuple[Any, ...]:
    return (str(s.data_dir), str(s.cache_dir), s.geocoder, s.ors_base_url, bool(s.ors_api_key))


@st.cache_resource(show_spinner=False, max_entries=2)
def cached_basemap(osm_dir: str, cache_dir: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Main roads and place names of every local OSM extract in ``osm_dir`` (geo.basemap)."""
    from geo.basemap import load_basemap

    return load_basemap(_path(osm_dir), _path(cache_dir))


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_answering_basemap(
    graph_key: tuple[tuple[str, str, tuple[str, ...]], ...],
    _settings: Settings,
    settings_key: tuple[Any, ...],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Main roads and place names of the extracts the answering graphs were built from.

    ``graph_key`` holds each graph's name, build time and source extract names
    (:func:`graph_key`), so another graph set, or a graph rebuilt, gets its own basemap; ``()``
    (the estimate, openrouteservice) draws the shipped extracts (geo.basemap.answering_basemap).
    """
    from geo.basemap import answering_basemap

    return answering_basemap([sources for _, _, sources in graph_key], _settings)


def graph_key(router: Router | None) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Name, build time and source extracts of each graph ``router`` answers from (``()``: none)."""
    if router is None:
        return ()
    return tuple((g.name, g.built_at, tuple(g.sources)) for g in router.graphs())


@st.cache_resource(show_spinner=False, max_entries=4)
def _covered_area(
    graph_key: tuple[tuple[str, str, tuple[str, ...]], ...], _router: Router
) -> BaseGeometry | None:
    graphs = _router.graphs()
    return shapely.union_all([g.covered_area for g in graphs]) if graphs else None


def covered_area(router: Router | None) -> BaseGeometry | None:
    """Where the graphs ``router`` answers from have road data (lon/lat), for the map's "Road
    data ends here" marks (geo.mapping.data_edge_lines); ``None`` when it has no local graph."""
    if router is None:
        return None
    key = graph_key(router)
    return _covered_area(key, router) if key else None


def boundaries_for_map(
    settings: Settings, router: Router | None = None
) -> tuple[gpd.GeoDataFrame, ...]:
    """Offline basemap layers for maps: county and state lines, then main roads and place names.

    Drawn when tiles are off, and as the fallback that replaces OpenStreetMap tiles when no tile
    server can be reached.

    Parameters
    ----------
    settings
        Where the data and the (public) basemap cache are.
    router
        The engine whose answers the map shows: its graphs' source extracts are drawn, so the
        roads on the map are the roads the answer was routed on. ``None``, or an engine with no
        local graph (estimate, openrouteservice): every shipped extract, as orientation only.
    """
    try:
        layers: tuple[gpd.GeoDataFrame, ...] = cached_boundaries(str(settings.data_dir))
    except TrialreachError:
        layers = ()
    try:
        roads, places = cached_answering_basemap(
            graph_key(router), settings, settings_key(settings)
        )
    except (TrialreachError, OSError):
        return layers
    return (*layers, roads, places)
