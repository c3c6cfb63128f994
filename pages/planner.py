"""Planner: who lives within the rule's drive time of a site, and where would more sites help?"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from appkit.state import boundaries_for_map, cached_boundaries, context
from appkit.ui import md_lines, md_text, minutes, show_map
from geo.coverage import CoverageResult
from geo.errors import TrialreachError
from geo.export import csv_bytes
from geo.mapping import coverage_map, focus_choices, map_focus
from trialreach import api

MAP_MARGIN_DEG = 4.0  # units drawn: those within this many degrees of the map's view
MAP_MAX_UNITS = 3500


def gaps_frame(result: CoverageResult) -> gpd.GeoDataFrame:
    """The coverage gaps (:attr:`CoverageResult.uncovered`: beyond the limit or without a drive
    time, most people first) with the columns a planner reads."""
    units = result.uncovered
    cols = [
        c
        for c in (
            "unit_id",
            "name",
            "state",
            "population",
            "duration_min",
            "band",
            "nearest_site_id",
            "nearest_site_name",
            "engine",
            "estimated",
            "note",
        )
        if c in units
    ]
    return gpd.GeoDataFrame(units[cols], geometry=units.geometry, crs=units.crs)


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    """GeoJSON (UTF-8) of a frame; text columns as text, NaN as null."""
    return str(frame.to_json(na="null", drop_id=True)).encode("utf-8")


def gpkg_bytes(frame: gpd.GeoDataFrame, layer: str) -> bytes:
    """A GeoPackage of one layer, built in memory (nothing written to disk)."""
    buf = io.BytesIO()
    frame.to_file(buf, driver="GPKG", layer=layer)
    return buf.getvalue()


ctx = context("planner")
rule = ctx.rule

st.title("Coverage")
st.markdown(
    f"How many people live within **{minutes(rule.max_drive_min)}** by car of one of the "
    f"**{len(ctx.sites)}** sites of *{ctx.sites_label}*, and where are the rest? "
    "Population: 2020 Census (U.S. Census Bureau)."
)
if ctx.router is None:
    st.error(f"No routing engine: {md_text(ctx.router_error)}")
    st.stop()

kind = st.radio(
    "Population units",
    ["county", "zcta"],
    format_func={"county": "Counties (3,221; quick)", "zcta": "ZIP areas (33,791)"}.get,
    horizontal=True,
    key="population_kind",
)
token = (rule, ctx.engine_key, ctx.sites_label, len(ctx.sites), kind)
saved = st.session_state.get("coverage")
if st.button("Compute coverage", key="run_coverage", type="primary"):
    bar = st.progress(0.0, text="Routing population units to the nearest site…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Routing population units… {done:,} of {total:,}")

    try:
        result = api.coverage(
            ctx.sites,
            rule=rule,
            engine=ctx.router,
            population=kind,
            progress=progress,
            settings=ctx.settings,
        )
    except TrialreachError as exc:
        bar.empty()
        st.error(f"Coverage could not be computed: {md_lines(exc)}")
        st.stop()
    bar.empty()
    st.session_state["coverage"] = saved = (token, result)
    st.session_state.pop("suggestion", None)

if saved is None:
    st.info("Press **Compute coverage** (counties take a second with the estimate engine).")
    st.stop()
if saved[0] != token:
    st.warning("The sites, rule, engine or units changed since this result: compute it again.")
result = saved[1]

# Two rows of three: the head counts (up to nine digits, e.g. 320,692,846) need the width; five
# in a row cut "Beyond the limit" to "320,692,…".
c1, c2, c3 = st.columns(3)
c1.metric("People within the rule", f"{result.covered_population:,.0f}")
c2.metric("Beyond the limit", f"{result.outside_population:,.0f}")
c3.metric("Unknown (no drive time)", f"{result.unknown_population:,.0f}")
c4, c5, c6 = st.columns(3)
c4.metric("Share covered", f"{result.share_covered:.1%}")
c5.metric(
    "Answered by ESTIMATE",
    f"{1.0 - result.routed_share:.1%}",
    help="Share of the population whose drive time is an estimate (straight line × road "
    "factor), not routed on road data.",
)
c6.metric("People in all", f"{result.total_population:,.0f}")
st.caption(f"{result.summary()}. Population: {result.population_source}.")
for note in result.notes:
    st.caption(note)
if result.unknown_population > 0.5 * result.total_population and not result.engine.is_estimate:
    st.info(
        "Most people live outside this engine's road data, so their drive time is unknown. For a "
        "national picture choose the estimate engine in the sidebar, or build a road graph that "
        "covers the region (`trialreach graph build`)."
    )

bands = result.bands.copy()
bands["share"] = (bands["share"] * 100).round(1)
# One above the other: side by side, both tables scrolled sideways below ~1400 px (People and
# the routed share out of view at 1024 px, the browser test checks).
st.markdown("**Drive time to the nearest site**")
st.dataframe(
    bands,
    hide_index=True,
    key="bands_table",
    width="content",
    column_config={
        "band": "Drive time",
        "units": st.column_config.NumberColumn("Units", format="localized"),
        "population": st.column_config.NumberColumn("People", format="localized"),
        "share": st.column_config.NumberColumn("Share (%)", format="%.1f"),
    },
)
by_state = result.by_state.sort_values("uncovered_population", ascending=False).head(15)
st.markdown("**States with the most people not covered**")
st.dataframe(
    by_state[
        [
            "population",
            "covered_population",
            "uncovered_population",
            "share_covered",
            "share_routed",
        ]
    ],
    key="state_table",
    width="stretch",
    column_config={
        "state": "State",
        "population": st.column_config.NumberColumn("People", format="localized"),
        "covered_population": st.column_config.NumberColumn("Within the rule", format="localized"),
        "uncovered_population": st.column_config.NumberColumn("Not covered", format="localized"),
        "share_covered": st.column_config.ProgressColumn(
            "Share covered", min_value=0, max_value=1, width="small"
        ),
        "share_routed": st.column_config.ProgressColumn(
            "Routed share",
            min_value=0,
            max_value=1,
            width="small",
            help="Answered by routing on road data",
        ),
    },
)
st.caption(f"Routed on road data: {result.routed_share:.1%} of the population; the rest estimated.")

# --- suggestions -------------------------------------------------------------------------
st.subheader("Where would more sites help?")
st.markdown(
    "Candidates: open general acute-care hospitals with at least 100 beds (HIFLD). The exact "
    "answer (integer programme) is compared with the quick greedy one."
)
k = int(st.number_input("Sites to add", 1, 10, 3, key="suggest_k"))
if st.button("Suggest sites", key="suggest"):
    try:
        with st.spinner("Choosing sites (counties; up to a minute)…"):
            sug = api.suggest(
                ctx.sites,
                k=k,
                candidates="hospitals",
                rule=rule,
                engine=ctx.router,
                population="county",
                time_limit_s=60,
                settings=ctx.settings,
            )
        st.session_state["suggestion"] = (token, k, sug)
    except TrialreachError as exc:
        st.error(f"No suggestion: {md_lines(exc)}")
suggestion = st.session_state.get("suggestion")
suggested = None
if suggestion is not None and suggestion[0] == token:
    sug = suggestion[2]
    st.caption(sug.summary())
    table = sug.table("ilp")
    if "beds" in table.columns:  # read as text from the hospitals file
        table["beds"] = pd.to_numeric(table["beds"], errors="coerce")
    suggested = table
    st.dataframe(
        pd.DataFrame(
            table[
                [
                    "rank",
                    "name",
                    "city",
                    "state",
                    "beds",
                    "gain_population",
                    "cumulative_covered_population",
                ]
            ]
        ),
        hide_index=True,
        key="suggest_table",
        width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn("Order", format="%d"),
            "name": "Hospital",
            "city": "City",
            "state": "State",
            "beds": st.column_config.NumberColumn("Beds", format="localized"),
            "gain_population": st.column_config.NumberColumn("People it adds", format="localized"),
            "cumulative_covered_population": st.column_config.NumberColumn(
                "People within the rule with it", format="localized"
            ),
        },
    )

# --- downloads -----------------------------------------------------------------------------
st.subheader("Downloads")
# Downloads do not rerun the page (on_click="ignore"): a rerun rebuilds each file, and a
# GeoPackage is never byte-identical, so the browser's download of the old one was cancelled.
gaps = gaps_frame(result)
st.caption(
    f"Coverage gaps: {len(gaps):,} units ({gaps['population'].sum():,.0f} people) beyond the "
    "limit or without a drive time; estimated rows are marked in the `estimated` column."
)
g1, g2, g3 = st.columns(3)
g1.download_button(
    "Gaps (CSV)",
    csv_bytes(gaps.drop(columns="geometry")),
    "coverage-gaps.csv",
    "text/csv",
    key="dl_gaps_csv",
    on_click="ignore",
)
g2.download_button(
    "Gaps (GeoJSON)",
    geojson_bytes(gaps),
    "coverage-gaps.geojson",
    "application/geo+json",
    key="dl_gaps_geojson",
    on_click="ignore",
)
g3.download_button(
    "Gaps (GeoPackage)",
    gpkg_bytes(gaps, "gaps"),
    "coverage-gaps.gpkg",
    "application/geopackage+sqlite3",
    key="dl_gaps_gpkg",
    on_click="ignore",
)
if suggested is not None and len(suggested):
    sugg = gpd.GeoDataFrame(suggested)
    s1, s2, s3 = st.columns(3)
    s1.download_button(
        "Suggested sites (CSV)",
        csv_bytes(pd.DataFrame(sugg.drop(columns=sugg.geometry.name))),
        "suggested-sites.csv",
        "text/csv",
        key="dl_sugg_csv",
        on_click="ignore",
    )
    s2.download_button(
        "Suggested sites (GeoJSON)",
        geojson_bytes(sugg),
        "suggested-sites.geojson",
        "application/geo+json",
        key="dl_sugg_geojson",
        on_click="ignore",
    )
    s3.download_button(
        "Suggested sites (GeoPackage)",
        gpkg_bytes(sugg, "suggested_sites"),
        "suggested-sites.gpkg",
        "application/geopackage+sqlite3",
        key="dl_sugg_gpkg",
        on_click="ignore",
    )

# --- map -----------------------------------------------------------------------------------
try:
    states: gpd.GeoDataFrame | None = cached_boundaries(str(ctx.settings.data_dir))[1]
except TrialreachError:
    states = None  # the regions alone, no state names
focus_name = st.selectbox(
    "Map focus",
    focus_choices(states),
    key="planner_focus",
    help="Frames the map on a region or a state; the numbers above always cover every site.",
)
focus = map_focus(ctx.sites, focus_name, states=states)
units = result.units
if kind == "county":
    try:
        from geo.population import join_county_shapes

        units = join_county_shapes(units, ctx.settings).frame
    except TrialreachError:
        pass
if focus.bounds is not None:
    x0, y0, x1, y1 = focus.bounds
else:  # every site
    pts = np.column_stack([ctx.sites.geometry.x, ctx.sites.geometry.y])
    (x0, y0), (x1, y1) = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)
view = shapely.box(
    x0 - MAP_MARGIN_DEG, y0 - MAP_MARGIN_DEG, x1 + MAP_MARGIN_DEG, y1 + MAP_MARGIN_DEG
)
near = units.geometry.intersects(view).to_numpy()
shown = gpd.GeoDataFrame(units[near])
shown = shown.set_geometry(shown.geometry.simplify(0.01))
if len(shown) > MAP_MAX_UNITS:
    st.caption(f"The map shows the {MAP_MAX_UNITS:,} most populous of {len(shown):,} nearby units.")
if focus.note:
    st.caption(focus.note)
m = coverage_map(
    shown,
    ctx.sites,
    suggested,
    tiles=ctx.tiles,
    boundaries=boundaries_for_map(ctx.settings),
    max_units=MAP_MAX_UNITS,
    focus=focus,
)
st.caption(
    "Map: population units near the sites — green within the rule, red beyond, grey unknown; "
    "blue pins are the sites, purple pins the suggested ones."
)
show_map(m, key="coverage_map", height=560)
