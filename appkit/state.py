"""Cached resources and the sidebar shared by every page.

Caches live in memory only (``st.cache_resource`` / ``st.cache_data`` without ``persist``):
nothing a user types or uploads is written to disk or logged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import streamlit as st

from appkit.engines import (
    DEMO_ENGINE,
    ESTIMATE,
    EngineChoice,
    default_engine,
    engine_choices,
    make_router,
)
from geo.errors import TrialreachError
from geo.geocode import Geocoder
from geo.routing import Router
from geo.rules import PRESETS, ProximityRule, custom_rule
from geo.settings import Settings, get_settings
from geo.types import LonLat, Route
from sites import builtin_site_sets, load_site_set, read_site_file

CONTEXT_KEY = "_trialreach_context"


# --------------------------------------------------------------------------------------------
# Cached resources
# --------------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def cached_router(key: str, _settings: Settings, settings_key: tuple[Any, ...]) -> Router:
    """One router per engine (the Valhalla Actor is expensive to open)."""
    return make_router(key, _settings)


@st.cache_resource(show_spinner=False)
def cached_geocoder(mode: str, _settings: Settings, settings_key: tuple[Any, ...]) -> Geocoder:
    """One geocoder per mode; its answers stay in its in-memory LRU cache, never on disk."""
    return Geocoder(_settings)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_site_set(name: str, data_dir: str) -> gpd.GeoDataFrame:
    return load_site_set(name, settings=get_settings().with_(data_dir=_path(data_dir)))


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


def _path(text: str) -> Any:
    from pathlib import Path

    return Path(text)


def _settings_key(s: Settings) -> tuple[Any, ...]:
    return (str(s.data_dir), str(s.cache_dir), s.geocoder, s.ors_base_url, bool(s.ors_api_key))


def boundaries_for_map(settings: Settings) -> tuple[gpd.GeoDataFrame, ...]:
    """Outline layers for maps when tiles are off (empty when tiles are on)."""
    if settings.map_tiles != "none":
        return ()
    try:
        return cached_boundaries(str(settings.data_dir))
    except TrialreachError:
        return ()


# --------------------------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AppContext:
    """What every page needs: the sites, the rule, the engine, the geocoder and the map style."""

    settings: Settings
    sites: gpd.GeoDataFrame
    sites_label: str
    rule: ProximityRule
    engine_key: str
    engine: EngineChoice
    router: Router | None
    router_error: str
    geocoder: Geocoder

    @property
    def tiles(self) -> str:
        return self.settings.map_tiles if self.settings.map_tiles in ("osm", "none") else "osm"

    def site_points(self) -> np.ndarray[Any, Any]:
        g = self.sites.geometry
        return np.column_stack([g.x.to_numpy(), g.y.to_numpy()])


def context() -> AppContext:
    """The context the sidebar built in this run (call from a page)."""
    ctx = st.session_state.get(CONTEXT_KEY)
    if ctx is None:  # a page run on its own (tests): build the sidebar here
        ctx = render_sidebar()
    return ctx  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# Sidebar
# --------------------------------------------------------------------------------------------
SITE_SOURCES = ("Built-in", "Upload a file", "ClinicalTrials.gov")


def _rule_widget() -> ProximityRule:
    options = [*PRESETS, "custom"]
    labels = {k: PRESETS[k].title for k in PRESETS} | {"custom": "Custom minutes, days, margin"}
    key = st.sidebar.selectbox(
        "Proximity rule", options, format_func=labels.__getitem__, key="rule_preset"
    )
    if key != "custom":
        rule = PRESETS[key]
    else:
        c1, c2, c3 = st.sidebar.columns(3)
        minutes = c1.number_input("Minutes", 10, 600, 120, step=5, key="rule_minutes")
        days = c2.number_input("Days", 0, 365, 35, key="rule_days")
        margin = c3.number_input("Margin", 0, 120, 10, step=5, key="rule_margin")
        try:
            rule = custom_rule(float(minutes), int(days), float(min(margin, minutes - 1)))
        except TrialreachError as exc:
            st.sidebar.error(str(exc))
            rule = custom_rule(120, 35, 10)
    st.sidebar.caption(f"{rule.summary()}; borderline with under {rule.margin_min:g} min to spare.")
    with st.sidebar.expander("Where the rule comes from"):
        st.write(rule.source or "—")
    return rule


def _sites_widget(
    settings: Settings, geocoder: Geocoder, preferred: str
) -> tuple[gpd.GeoDataFrame, str]:
    source = st.sidebar.radio("Study sites", SITE_SOURCES, key="site_source", horizontal=True)
    builtin = builtin_site_sets(settings)
    fallback_name = preferred if preferred in builtin else next(iter(builtin))
    if source == "Upload a file":
        up = st.sidebar.file_uploader(
            "Site file (CSV with lat/lon or addresses, or GeoJSON points)",
            type=["csv", "geojson", "json"],
            key="site_file",
        )
        if up is not None:
            try:
                frame = read_site_file(io.BytesIO(up.getvalue()), geocoder, filename=up.name)
                return frame, f"{up.name} (uploaded)"
            except TrialreachError as exc:
                st.sidebar.error(f"That site file cannot be used:\n\n{exc}")
        st.sidebar.info(f"Using the built-in set '{fallback_name}' until a file is uploaded.")
    elif source == "ClinicalTrials.gov":
        nct = st.sidebar.text_input("Study number (NCT…)", key="nct_id", placeholder="NCT07085104")
        if st.sidebar.button("Import sites", key="nct_import") and nct.strip():
            try:
                from sites.ctgov import import_sites

                with st.spinner("Reading the study from ClinicalTrials.gov…"):
                    result = import_sites(nct, settings=settings)
                buf = io.StringIO()
                result.sites.to_csv(buf, index=False)
                frame = read_site_file(io.StringIO(buf.getvalue()), geocoder, filename=f"{nct}.csv")
                st.session_state["nct_sites"] = (frame, result.nct_id, result.summary())
            except TrialreachError as exc:
                st.sidebar.error(str(exc))
        imported = st.session_state.get("nct_sites")
        if imported is not None:
            frame, nct_id, summary = imported
            st.sidebar.caption(summary)
            return frame, f"{nct_id} (ClinicalTrials.gov)"
        st.sidebar.info(f"Using the built-in set '{fallback_name}' until a study is imported.")
    else:
        names = list(builtin)
        index = names.index(fallback_name)
        name = st.sidebar.selectbox(
            "Built-in site set",
            names,
            index=index,
            format_func=lambda n: f"{n} — {builtin[n].title}",
            key="site_set",
        )
        return cached_site_set(name, str(settings.data_dir)), name
    return cached_site_set(fallback_name, str(settings.data_dir)), fallback_name


def _engine_widget(settings: Settings) -> tuple[EngineChoice, Router | None, str]:
    choices = engine_choices(settings)
    by_key = {c.key: c for c in choices}
    default = default_engine(settings, choices)
    key = st.sidebar.selectbox(
        "Routing engine",
        list(by_key),
        index=list(by_key).index(default),
        format_func=lambda k: by_key[k].label,
        key="engine",
    )
    choice = by_key[key]
    try:
        with st.spinner("Opening the road graph (the demo graph builds itself on first use)…"):
            router = cached_router(key, settings, _settings_key(settings))
        return choice, router, ""
    except TrialreachError as exc:
        return choice, None, str(exc)


def _engine_data_text(router: Router, counties_states: Any = None) -> str:
    info = router.info
    if info.is_estimate:
        return (
            "**estimate — approximate**: straight-line distance × a road factor at a typical "
            "speed. Not a routed drive time; verdicts keep a wider margin."
        )
    text = f"**{info.name}** · {info.data or 'data not stated'}"
    graph = getattr(router, "graph", None)
    if graph is not None and counties_states is not None:
        states = counties_states[1]
        hit = states[states.geometry.intersects(graph.covered_area)]
        if len(hit):
            text += f" · covers parts of {', '.join(sorted(hit['name'].astype(str)))}"
    return text


def render_sidebar() -> AppContext:
    """Draw the sidebar (sites, rule, engine, provenance, privacy) and return the context."""
    settings = get_settings()
    st.sidebar.title("trialreach")
    st.sidebar.caption("Is this place within the trial's drive time of a study site?")
    choice, router, router_error = _engine_widget(settings)
    geocoder = cached_geocoder(settings.geocoder, settings, _settings_key(settings))
    preferred = "demo" if choice.key == DEMO_ENGINE else "resolution"
    sites, label = _sites_widget(settings, geocoder, preferred)
    rule = _rule_widget()

    st.sidebar.divider()
    st.sidebar.markdown("**Engine in use**")
    if router is None:
        st.sidebar.error(f"This engine cannot be used here: {router_error}")
    else:
        try:
            outlines = cached_boundaries(str(settings.data_dir))
        except TrialreachError:
            outlines = None
        st.sidebar.markdown(_engine_data_text(router, outlines))
        if router.info.is_estimate:
            st.sidebar.warning("Estimate — approximate. Choose a routing engine for a drive time.")
        if len(sites) and choice.key != ESTIMATE:
            covered = router.covers(np.column_stack([sites.geometry.x, sites.geometry.y]))
            if not covered.all():
                st.sidebar.warning(
                    f"{int((~covered).sum())} of {len(sites)} sites lie outside this engine's "
                    "road data: answers for them will be 'unknown'. Pick another engine or "
                    "site set, or build a road graph that covers them."
                )

    st.sidebar.markdown("**Where your addresses go**")
    st.sidebar.caption(_privacy_text(settings, geocoder, choice))
    st.sidebar.markdown("**Data**")
    st.sidebar.caption(_attribution_text(settings, geocoder, choice))

    ctx = AppContext(
        settings=settings,
        sites=sites,
        sites_label=label,
        rule=rule,
        engine_key=choice.key,
        engine=choice,
        router=router,
        router_error=router_error,
        geocoder=geocoder,
    )
    st.session_state[CONTEXT_KEY] = ctx
    return ctx


def _privacy_text(settings: Settings, geocoder: Geocoder, choice: EngineChoice) -> str:
    if geocoder.mode == "offline":
        where = "Addresses are located on this computer (offline ZIP and city centroids)"
    else:
        where = f"Addresses are sent to the {geocoder.service} to be located"
    if choice.sends_to:
        route = f"coordinates (not addresses) are sent to {choice.sends_to} for drive times"
    else:
        route = "drive times are computed on this computer; nothing is sent anywhere"
    tiles = (
        " Map tiles come from OpenStreetMap's tile server, which sees the map area shown."
        if settings.map_tiles == "osm"
        else ""
    )
    return (
        f"{where}; {route}. Nothing you type or upload is logged or saved on the server; it "
        f"leaves the page only when you download it.{tiles}"
    )


def _attribution_text(settings: Settings, geocoder: Geocoder, choice: EngineChoice) -> str:
    parts = []
    if settings.map_tiles == "osm" or choice.key.startswith("valhalla:") or choice.sends_to:
        parts.append("Map and road data © OpenStreetMap contributors (ODbL)")
    parts.append("ZIP and city centroids: GeoNames (CC BY 4.0) via the zipcodes package")
    census = ["state and county boundaries", "population (planner)"]
    if geocoder.mode == "census":
        census.append("address geocoding")
    parts.append(f"U.S. Census Bureau: {', '.join(census)}")
    return " · ".join(parts)
