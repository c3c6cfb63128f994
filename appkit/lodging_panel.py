"""The "Find lodging" panel of the coordinator page (OpenStreetMap places near the site)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from appkit.state import AppContext
from appkit.ui import md_text
from geo.errors import TrialreachError
from geo.types import LonLat


@st.cache_resource(show_spinner=False, max_entries=8)
def _lodging_for(graph_key: str, _graph: Any, data_dir: str) -> gpd.GeoDataFrame:
    """OSM lodging of a local graph's extracts (read once, stored next to the graph)."""
    from geo.lodging import lodging_for_graph
    from geo.settings import get_settings

    settings = get_settings()
    return lodging_for_graph(_graph, settings=settings)


def _source(ctx: AppContext) -> tuple[str, Any] | None:
    graph = getattr(ctx.router, "graph", None)
    if graph is not None:
        return (str(graph.name), graph)
    if ctx.sites_label == "demo":
        return ("demo", "demo")
    return None


def lodging_panel(ctx: AppContext, site: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Toggle + table of lodging within the rule of ``site``; returns the places for the map."""
    if site.empty or ctx.router is None:
        return None
    if not st.toggle(
        "Find lodging near this site (OpenStreetMap hotels, motels, hospitality houses)",
        key="find_lodging",
    ):
        return None
    source = _source(ctx)
    if source is None:
        st.info(
            "Lodging search reads the OpenStreetMap extract of a local road graph: choose a "
            "Valhalla engine whose graph covers this site (or the demo site set)."
        )
        return None
    try:
        from geo.lodging import search_lodging
        from geo.lodging.catalogue import OSM_NOTICE

        with st.spinner("Reading lodging from OpenStreetMap and routing to the site…"):
            places = _lodging_for(source[0], source[1], str(ctx.settings.data_dir))
            pt = site.geometry.iloc[0]
            result = search_lodging(LonLat(float(pt.x), float(pt.y)), places, ctx.rule, ctx.router)
    except TrialreachError as exc:
        st.warning(f"Lodging search unavailable: {md_text(exc)}")
        return None
    frame = result.frame
    st.caption(f"{result.summary()}. {OSM_NOTICE}; call ahead to confirm.")
    for notice in result.notices:
        st.caption(notice)
    if len(frame):
        cols = [
            c
            for c in (
                "name",
                "kind",
                "verdict",
                "drive_min",
                "spare_min",
                "address",
                "city",
                "eligibility_note",
                "phone",
                "website",
            )
            if c in frame.columns
        ]
        st.dataframe(
            pd.DataFrame(frame[cols]),
            hide_index=True,
            width="stretch",
            key="lodging_table",
            column_config={
                "drive_min": st.column_config.NumberColumn("Drive (min)", format="%.0f"),
                "spare_min": st.column_config.NumberColumn("Spare (min)", format="%.0f"),
            },
        )
    return frame
