"""Lodging: where can a patient stay within the rule's drive time of a study site?"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.lodging_panel import (
    TABLE_CONFIG,
    data_line,
    lodging_export,
    lodging_table,
    search,
)
from appkit.state import boundaries_for_map, cached_isochrones, context, covered_area
from appkit.ui import ESTIMATE_BADGE, engine_details, md_lines, md_text, minutes, show_map
from geo.errors import TrialreachError
from geo.export import csv_bytes
from geo.lodging.catalogue import KIND_LABELS, KINDS, OSM_NOTICE
from geo.mapping import coordinator_map

ctx = context("lodging")
rule = ctx.rule

st.title("Lodging near a study site")
st.markdown(
    "Hotels, motels and hospitality houses from OpenStreetMap within "
    f"**{minutes(rule.max_drive_min)}** by car of the site (the drive *to* the site), "
    "nearest first — with the site's own contracted list on top when you add it."
)
if ctx.router is None:
    st.error(f"No routing engine: {md_text(ctx.router_error)}")
    st.stop()
if ctx.sites.empty:
    st.warning("The site set has no sites.")
    st.stop()

ids = [str(s) for s in ctx.sites["site_id"]]
labels = dict(zip(ids, (str(n) for n in ctx.sites["name"]), strict=True))
wanted = str(st.query_params.get("site", ""))  # a link from the coordinator page names the site
if wanted in ids and st.session_state.get("_lodging_linked") != wanted:
    st.session_state["lodging_site"] = wanted
    st.session_state["_lodging_linked"] = wanted
col1, col2 = st.columns([2, 1])
site_id = col1.selectbox(
    "Study site",
    ids,
    format_func=lambda i: f"{labels[i]} ({i})",
    key="lodging_site",
)
max_min = col2.slider(
    "Longest drive to the site (min)",
    min_value=5,
    max_value=int(np.ceil(rule.max_drive_min)),
    value=int(np.ceil(rule.max_drive_min)),
    step=5,
    key="lodging_max_min",
    help="Show only places at most this far by car; every answer is still judged by the rule.",
)
kinds = st.multiselect(
    "Kinds of lodging",
    list(KINDS),
    default=list(KINDS),
    format_func=lambda k: KIND_LABELS.get(k, k),
    key="lodging_kinds",
)
upload = st.file_uploader(
    "The site's own contracted lodging (CSV, optional): `name` and `lat`/`lon` or `address`; "
    "`note`, `phone`, `website` if you have them",
    type=["csv", "txt"],
    key="lodging_preferred",
)
if not kinds:
    st.info("Choose at least one kind of lodging.")
    st.stop()

try:
    with st.spinner("Reading lodging from OpenStreetMap and routing to the site…"):
        result = search(
            ctx,
            site_id,
            kinds=kinds,
            limit=None,
            preferred=upload,
            preferred_name=upload.name if upload is not None else "",
        )
except TrialreachError as exc:
    st.error(f"Lodging search unavailable: {md_lines(exc)}")
    st.stop()

frame = result.frame
drive = frame["drive_min"].astype(float).to_numpy()
keep = frame["preferred"].astype(bool).to_numpy() | (np.nan_to_num(drive, nan=np.inf) <= max_min)
shown = frame[keep]
shown.attrs = dict(frame.attrs)
closer = int((~keep).sum())
contracted = int(shown["preferred"].astype(bool).sum())
estimated = int(shown["estimated"].astype(bool).sum())

st.markdown(
    f"**{len(shown) - contracted}** OpenStreetMap place(s) within {minutes(max_min)} of "
    f"**{md_text(labels[site_id])}**"
    + (f", after **{contracted}** from the site's own list" if contracted else "")
    + "."
)
st.caption(md_text(data_line(frame)))
summary = result.summary() + (
    f"; {closer} more within the rule but over {max_min} min" if closer else ""
)
st.caption(md_text(summary))
if estimated:
    st.warning(
        f"{estimated} of {len(shown)} drive times are ESTIMATES from straight-line distance, "
        "not routed (marked in the Answer column); confirm a chosen place with a routed check."
    )
    st.markdown(ESTIMATE_BADGE)
for notice in result.notices:
    if notice != OSM_NOTICE and "estimate" not in notice:
        st.caption(md_text(notice))

if len(shown):
    st.dataframe(
        lodging_table(shown),
        hide_index=True,
        width="stretch",
        key="lodging_page_table",
        column_config=TABLE_CONFIG,
    )
    name = f"lodging-{site_id}".replace(" ", "_")
    st.download_button(
        "Download CSV",
        csv_bytes(lodging_export(shown)),
        file_name=f"{name}.csv",
        mime="text/csv",
        key="lodging_csv",
        on_click="ignore",
    )
else:
    st.info(
        "No lodging within that drive time in the OpenStreetMap data read. Widen the drive "
        "time or the kinds, or add the site's own list."
    )
engine_details(ctx.router, estimated=bool(estimated))

site = ctx.sites[ctx.sites["site_id"].astype(str) == site_id].head(1)
iso = None
try:
    pt = site.geometry.iloc[0]
    iso = cached_isochrones(
        ctx.engine_key, ctx.router, ((float(pt.x), float(pt.y)),), (float(max_min),)
    )
except TrialreachError as exc:
    st.caption(f"Drive-time area not drawn: {md_text(exc)}")
m = coordinator_map(
    site,
    iso,
    lodging=shown,
    tiles=ctx.tiles,
    boundaries=boundaries_for_map(ctx.settings, ctx.router),
    covered_area=covered_area(ctx.router),
)
st.caption(
    f"Map: the site, the area within {minutes(max_min)} by car and the places listed "
    "(dots coloured by answer)."
)
show_map(m, key="lodging_map")
