"""The sidebar shared by every page: sites, rule, engine, geocoder, provenance and privacy.

Its choices survive page switches (kept in memory, per session). Nothing a user types or uploads
is written to disk or logged.
"""

from __future__ import annotations

import io
from typing import Any

import geopandas as gpd
import numpy as np
import streamlit as st

from appkit.app_context import AppContext
from appkit.caches import (
    cached_boundaries,
    cached_geocoder,
    cached_router,
    cached_site_set,
    settings_key,
)
from appkit.engines import (
    AUTO,
    DEMO_ENGINE,
    ESTIMATE,
    EngineChoice,
    default_engine,
    engine_choices,
)
from appkit.ui import md_lines, md_text
from geo.errors import TrialreachError
from geo.geocode import Geocoder
from geo.routing import Router
from geo.rules import PRESETS, ProximityRule, custom_rule
from geo.settings import Settings, get_settings
from sites import builtin_site_sets, read_site_file

SITE_SOURCES = ("Built-in", "Upload a file", "ClinicalTrials.gov")
_KEEP = "_sidebar_keep"


def restore_sidebar(page: str) -> None:
    """After a page switch, give the sidebar widgets the values chosen on the previous page.

    Streamlit forgets a page's widget values when another page is shown, even for the same key;
    the sidebar keeps them (in memory, per session) and sets them again on the new page.
    """
    if st.session_state.get("_sidebar_page") == page:
        return
    for key, value in st.session_state.get(_KEEP, {}).items():
        st.session_state[key] = value
    st.session_state["_sidebar_page"] = page


def _kept(key: str) -> bool:
    return key in st.session_state


def _keep(key: str, value: Any) -> Any:
    st.session_state.setdefault(_KEEP, {})[key] = value
    return value


def _sidebar_widget(kind: Any, label: str, key: str, *args: Any, **kwargs: Any) -> Any:
    """``kind(label, *args, key=key, **kwargs)`` whose value survives page switches."""
    if _kept(key):
        kwargs.pop("index", None)
        kwargs.pop("value", None)
    return _keep(key, kind(label, *args, key=key, **kwargs))


def _rule_widget() -> ProximityRule:
    options = [*PRESETS, "custom"]
    labels = {k: PRESETS[k].title for k in PRESETS} | {"custom": "Custom minutes, days, margin"}
    key = _sidebar_widget(
        st.sidebar.selectbox,
        "Proximity rule",
        "rule_preset",
        options,
        format_func=labels.__getitem__,
    )
    if key != "custom":
        rule = PRESETS[key]
    else:
        c1, c2, c3 = st.sidebar.columns(3)
        minutes = _sidebar_widget(
            c1.number_input, "Minutes", "rule_minutes", 10, 600, value=120, step=5
        )
        days = _sidebar_widget(c2.number_input, "Days", "rule_days", 0, 365, value=35)
        margin = _sidebar_widget(c3.number_input, "Margin", "rule_margin", 0, 120, value=10, step=5)
        try:
            rule = custom_rule(float(minutes), int(days), float(min(margin, minutes - 1)))
        except TrialreachError as exc:
            st.sidebar.error(md_lines(exc))
            rule = custom_rule(120, 35, 10)
    st.sidebar.caption(f"{rule.summary()}; borderline with under {rule.margin_min:g} min to spare.")
    with st.sidebar.expander("Where the rule comes from"):
        st.write(rule.source or "—")
    return rule


def _sites_widget(
    settings: Settings, geocoder: Geocoder, preferred: str
) -> tuple[gpd.GeoDataFrame, str]:
    source = _sidebar_widget(
        st.sidebar.radio, "Study sites", "site_source", SITE_SOURCES, horizontal=True
    )
    builtin = builtin_site_sets(settings)
    fallback_name = preferred if preferred in builtin else next(iter(builtin))
    if source == "Upload a file":
        up = st.sidebar.file_uploader(
            "Site file (CSV with lat/lon or addresses, or GeoJSON points)",
            type=["csv", "geojson", "json"],
            key="site_file",
            on_change=lambda: st.session_state.pop("uploaded_sites", None),
        )
        if up is not None:
            try:
                frame = read_site_file(io.BytesIO(up.getvalue()), geocoder, filename=up.name)
                st.session_state["uploaded_sites"] = (frame, f"{up.name} (uploaded)")
            except TrialreachError as exc:
                st.session_state.pop("uploaded_sites", None)
                st.sidebar.error(f"That site file cannot be used:\n\n{md_lines(exc)}")
        kept = st.session_state.get("uploaded_sites")
        if kept is not None:  # still in memory after a page switch
            return kept  # type: ignore[no-any-return]
        st.sidebar.info(f"Using the built-in set '{fallback_name}' until a file is uploaded.")
    elif source == "ClinicalTrials.gov":
        nct = _sidebar_widget(
            st.sidebar.text_input, "Study number (NCT…)", "nct_id", placeholder="NCT07085104"
        )
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
                st.sidebar.error(md_lines(exc))
        imported = st.session_state.get("nct_sites")
        if imported is not None:
            frame, nct_id, summary = imported
            st.sidebar.caption(md_text(summary))
            return frame, f"{nct_id} (ClinicalTrials.gov)"
        st.sidebar.info(f"Using the built-in set '{fallback_name}' until a study is imported.")
    else:
        names = list(builtin)
        index = names.index(fallback_name)
        name = _sidebar_widget(
            st.sidebar.selectbox,
            "Built-in site set",
            "site_set",
            names,
            index=index,
            format_func=lambda n: f"{n} — {builtin[n].title}",
        )
        return cached_site_set(name, str(settings.data_dir)), name
    return cached_site_set(fallback_name, str(settings.data_dir)), fallback_name


def _engine_widget(settings: Settings) -> tuple[EngineChoice, Router | None, str]:
    choices = engine_choices(settings)
    by_key = {c.key: c for c in choices}
    default = default_engine(settings, choices)
    if st.session_state.get(_KEEP, {}).get("engine") not in (None, *by_key):
        st.session_state[_KEEP].pop("engine")
    key = _sidebar_widget(
        st.sidebar.selectbox,
        "Routing engine",
        "engine",
        list(by_key),
        index=list(by_key).index(default),
        format_func=lambda k: by_key[k].label,
    )
    choice = by_key[key]
    try:
        with st.spinner("Opening the road graph (the demo graph builds itself on first use)…"):
            router = cached_router(key, settings, settings_key(settings))
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
    graphs = router.graphs()
    if graphs and counties_states is not None:
        import shapely

        states = counties_states[1]
        covered = shapely.union_all([g.covered_area for g in graphs])
        hit = states[states.geometry.intersects(covered)]
        if len(hit):
            text += f" · covers parts of {', '.join(sorted(hit['name'].astype(str)))}"
    return text


GEOCODER_CHOICES: dict[str, tuple[str, str]] = {
    "offline": (
        "Offline (ZIP and city centroids)",
        "Nothing leaves this computer. A street address is located at its ZIP code's centre "
        "(could be off by several km): the answer says so.",
    ),
    "census": (
        "U.S. Census Bureau (street level)",
        "Each address you check is SENT to geocoding.geo.census.gov (a U.S. government "
        "service) to be located. Do not use it for patients' home addresses without consent.",
    ),
}
"""Geocoder choices offered in the sidebar: label and the privacy consequence, side by side."""


def _geocoder_widget(settings: Settings) -> str:
    """The geocoder choice, the privacy consequence written under each option."""
    options = list(GEOCODER_CHOICES)
    default = settings.geocoder if settings.geocoder in options else "offline"
    if settings.geocoder not in options:  # e.g. "ors" set by the deployment: kept, not offered
        return settings.geocoder
    picked = st.sidebar.radio(
        "Locate addresses with",
        options,
        index=options.index(default),
        format_func=lambda k: GEOCODER_CHOICES[k][0],
        captions=[GEOCODER_CHOICES[k][1] for k in options],
        key="geocoder_mode",
    )
    return str(picked)


def render_sidebar() -> AppContext:
    """Draw the sidebar (sites, rule, engine, provenance, privacy) and return the context."""
    try:
        settings = get_settings()
    except TrialreachError as exc:  # e.g. TRIALREACH_HTTP_TIMEOUT_S=0: a message, not a trace
        st.error(f"trialreach is misconfigured: {md_text(exc)}")
        st.stop()
    st.sidebar.title("trialreach")
    st.sidebar.caption("Is this place within the trial's drive time of a study site?")
    choice, router, router_error = _engine_widget(settings)
    settings = settings.with_(geocoder=_geocoder_widget(settings))
    geocoder = cached_geocoder(settings.geocoder, settings, settings_key(settings))
    preferred = "demo" if choice.key in (DEMO_ENGINE, AUTO) else "resolution"
    sites, label = _sites_widget(settings, geocoder, preferred)
    rule = _rule_widget()

    st.sidebar.divider()
    st.sidebar.markdown("**Engine in use**")
    if router is None:
        st.sidebar.error(f"This engine cannot be used here: {md_text(router_error)}")
    else:
        try:
            outlines = cached_boundaries(str(settings.data_dir))
        except TrialreachError:
            outlines = None
        st.sidebar.markdown(_engine_data_text(router, outlines))
        if router.info.is_estimate:
            st.sidebar.warning("Estimate — approximate. Choose a routing engine for a drive time.")
        if len(sites) and choice.key not in (ESTIMATE, AUTO):
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
    local = choice.key.startswith(("valhalla:", "osrm:")) or choice.key == AUTO
    if settings.map_tiles == "osm" or local or choice.sends_to:
        parts.append("Map and road data © OpenStreetMap contributors (ODbL)")
    parts.append("ZIP and city centroids: GeoNames (CC BY 4.0) via the zipcodes package")
    census = ["state and county boundaries", "population (planner)"]
    if geocoder.mode == "census":
        census.append("address geocoding")
    parts.append(f"U.S. Census Bureau: {', '.join(census)}")
    return " · ".join(parts)


__all__ = ["SITE_SOURCES", "render_sidebar", "restore_sidebar"]
