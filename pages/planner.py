"""Planner: who lives within the rule's drive time of a site, and where would more sites help?"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from appkit.state import boundaries_for_map, cached_site_set, context
from appkit.ui import md_lines, md_text, minutes, show_map
from geo.errors import TrialreachError
from geo.mapping import coverage_map

MAP_MARGIN_DEG = 4.0  # units drawn: those within this many degrees of the sites' bounding box
MAP_MAX_UNITS = 3500

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
    from geo.coverage import coverage

    bar = st.progress(0.0, text="Routing population units to the nearest site…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Routing population units… {done:,} of {total:,}")

    try:
        result = coverage(
            ctx.sites, rule, ctx.router, kind, progress=progress, settings=ctx.settings
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

c1, c2, c3, c4 = st.columns(4)
c1.metric("People within the rule", f"{result.covered_population:,.0f}")
c2.metric("Share covered", f"{result.share_covered:.1%}")
c3.metric("Beyond the limit", f"{result.outside_population:,.0f}")
c4.metric("Unknown (no drive time)", f"{result.unknown_population:,.0f}")
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
left, right = st.columns([1, 2])
left.markdown("**Drive time to the nearest site**")
left.dataframe(
    bands.rename(columns={"share": "share_%"}),
    hide_index=True,
    key="bands_table",
    width="stretch",
)
by_state = result.by_state.sort_values("uncovered_population", ascending=False).head(15)
right.markdown("**States with the most people not covered**")
right.dataframe(
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
        "share_covered": st.column_config.ProgressColumn(min_value=0, max_value=1),
        "share_routed": st.column_config.ProgressColumn(
            "routed share", min_value=0, max_value=1, help="Answered by routing on road data"
        ),
    },
)
right.caption(
    f"Routed on road data: {result.routed_share:.1%} of the population; the rest estimated."
)

# --- suggestions -------------------------------------------------------------------------
st.subheader("Where would more sites help?")
st.markdown(
    "Candidates: open general acute-care hospitals with at least 100 beds (HIFLD). The exact "
    "answer (integer programme) is compared with the quick greedy one."
)
k = int(st.number_input("Sites to add", 1, 10, 3, key="suggest_k"))
if st.button("Suggest sites", key="suggest"):
    from geo.siting import default_candidates, suggest_sites

    try:
        with st.spinner("Choosing sites (counties; up to a minute)…"):
            candidates = default_candidates(
                cached_site_set("hospitals", str(ctx.settings.data_dir))
            )
            sug = suggest_sites(
                ctx.sites,
                candidates,
                k,
                rule,
                ctx.router,
                "county",
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
    )

# --- map -----------------------------------------------------------------------------------
units = result.units
if kind == "county":
    try:
        from geo.population import join_county_shapes

        units = join_county_shapes(units, ctx.settings).frame
    except TrialreachError:
        pass
pts = np.column_stack([ctx.sites.geometry.x, ctx.sites.geometry.y])
x0, y0 = pts.min(axis=0) - MAP_MARGIN_DEG
x1, y1 = pts.max(axis=0) + MAP_MARGIN_DEG
near = units.geometry.intersects(shapely.box(x0, y0, x1, y1)).to_numpy()
shown = gpd.GeoDataFrame(units[near])
shown = shown.set_geometry(shown.geometry.simplify(0.01))
if len(shown) > MAP_MAX_UNITS:
    st.caption(f"The map shows the {MAP_MAX_UNITS:,} most populous of {len(shown):,} nearby units.")
m = coverage_map(
    shown,
    ctx.sites,
    suggested,
    tiles=ctx.tiles,
    boundaries=boundaries_for_map(ctx.settings),
    max_units=MAP_MAX_UNITS,
)
st.caption(
    "Map: population units near the sites — green within the rule, red beyond, grey unknown; "
    "blue pins are the sites, purple pins the suggested ones."
)
show_map(m, key="coverage_map", height=560)
