"""Patient: which study sites are nearest to me by car?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from appkit.state import boundaries_for_map, cached_isochrones, context, covered_area
from appkit.ui import (
    chip,
    engine_details,
    estimate_chip,
    finite,
    md_lines,
    md_text,
    minutes,
    show_map,
)
from geo.errors import GeocodeError, TrialreachError
from geo.mapping import patient_map
from geo.types import CHECK_ADDRESS, GeocodeResult, LonLat
from geo.wording import VERDICT_WORDS
from trialreach import api

MAX_RANKED = 20  # sites routed per place: the nearest in a straight line
MAP_SITES = 3  # sites whose drive-time areas are drawn

ctx = context("patient")
rule = ctx.rule

st.title("Nearest study sites")
st.markdown(
    f"Type where you would stay — an address, a ZIP code or a town — or click on the map. "
    f"The trial asks you to stay within **{minutes(rule.max_drive_min)}** by car of your site."
)

place_text = st.text_input(
    "Your address, ZIP code or town", key="place", placeholder="e.g. 43215 or Dublin, OH"
)
if st.button("Find sites", key="find", type="primary"):
    if place_text.strip():
        try:
            point = api.geocode(place_text, geocoder=ctx.geocoder)
            st.session_state["patient_point"] = (place_text, point)
        except GeocodeError as exc:
            st.session_state.pop("patient_point", None)
            st.error(f"We could not find that place: {md_text(exc)}")
    else:
        st.warning("Type an address, ZIP code or town first.")

saved: tuple[str, GeocodeResult] | None = st.session_state.get("patient_point")
if ctx.router is None:
    st.error(f"No routing engine: {md_text(ctx.router_error)}")
    st.stop()

if saved is None:
    st.info("Results appear here: the sites ranked by driving time, nearest first.")
    m = patient_map(
        None,
        ctx.sites,
        None,
        tiles=ctx.tiles,
        boundaries=boundaries_for_map(ctx.settings, ctx.router),
        zoom_to_sites=len(ctx.sites),
    )
    clicked = show_map(m, key="patient_map_empty", clicks=True).get("last_clicked")
    if clicked:
        text = f"{clicked['lat']:.5f}, {clicked['lng']:.5f}"
        st.session_state["patient_point"] = (text, api.geocode(text, geocoder=ctx.geocoder))
        st.rerun()
    st.stop()

text, point = saved
with st.spinner("Working out driving times…"):
    try:
        ranked = api.rank_sites(
            point,
            sites=ctx.sites,
            rule=rule,
            engine=ctx.router,
            geocoder=ctx.geocoder,
            max_sites=MAX_RANKED,
            settings=ctx.settings,
        )
    except TrialreachError as exc:
        st.error(f"Driving times are not available: {md_lines(exc)}")
        st.stop()

where_from = [md_text(line) for line in point.location_lines() if line]
st.markdown(f"**From:** {md_text(text)}  \n*" + "*  \n*".join(where_from) + "*")

best = ranked.iloc[0]
best_name, best_drive = md_text(best["name"]), md_text(minutes(best["drive_min"]))
limit = md_text(minutes(rule.max_drive_min))
if best["verdict"] == "within":
    st.success(
        f"The nearest site is {best_name}, about {best_drive} away by car — within the {limit} "
        "the trial allows."
    )
elif best["verdict"] == "borderline":
    # Close to the limit (or an approximate place, or engines that disagree): not a yes.
    st.warning(
        f"The nearest site is {best_name}, about {best_drive} away by car — close to the "
        f"{limit} the trial allows, so not certain. Ask the study team to check your exact "
        "address."
    )
    why = str(best["reason"] or "").replace(CHECK_ADDRESS, "")  # the message says it
    if why:
        st.caption(f"Why not certain: {md_text(why)}")
elif best["verdict"] == "outside":
    st.warning(
        f"The nearest site is {best_name}, about {best_drive} away by car — longer than the "
        f"{limit} the trial allows. Ask the study team about staying closer during treatment."
    )
else:
    st.warning("We could not work out a driving time from this place; ask the study team.")

for _, row in ranked.head(10).iterrows():
    drive = minutes(row["drive_min"]) if finite(row["drive_min"]) else "no driving time"
    est = bool(row.get("estimated", False)) and finite(row["drive_min"])
    if est:
        drive += " (estimate)"
    where = ", ".join(
        str(row.get(c, "")) for c in ("city", "state") if str(row.get(c, "")) not in ("", "nan")
    )
    st.markdown(
        f"{chip(str(row['verdict']))}{estimate_chip(est)} **{md_text(row['name'])}** — "
        f"{md_text(drive)}" + (f" · {md_text(where)}" if where else "")
    )

estimated = ranked["estimated"].fillna(False).astype(bool).to_numpy()
table = pd.DataFrame(
    {
        "Site": ranked["name"].astype(str).to_numpy(),
        "City": ranked.get("city", pd.Series("", index=ranked.index)).astype(str).to_numpy(),
        "Drive (min)": ranked["drive_min"].astype(float).round(1).to_numpy(),
        "Road distance (km)": ranked["distance_km"].astype(float).round(1).to_numpy(),
        "Straight line (km)": ranked["straight_km"].astype(float).to_numpy(),
        "Answer": ranked["verdict"].astype(str).map(lambda v: VERDICT_WORDS.get(v, v)).to_numpy(),
        # Per site: auto may route some sites and estimate others (wider margin there).
        "Routed or estimate": np.where(estimated, "ESTIMATE · not routed", "routed"),
        "Engine": ranked["engine"].astype(str).to_numpy(),
        "Why": ranked["reason"].astype(str).to_numpy(),
    }
)
with st.expander("All ranked sites as a table"):
    st.dataframe(table, hide_index=True, width="stretch", key="patient_table")
engine_details(ctx.router, estimated=bool(estimated.any()))

top = ranked.head(MAP_SITES)
iso = None
if len(top):
    pts = tuple((float(g.x), float(g.y)) for g in top.geometry)
    try:
        iso = cached_isochrones(ctx.engine_key, ctx.router, pts, (float(rule.max_drive_min),))
    except TrialreachError as exc:
        st.caption(f"Drive-time areas not drawn: {md_text(exc)}")
m = patient_map(
    LonLat(point.point.lon, point.point.lat),
    ranked,
    iso,
    place_label=f"You: {text}",
    tiles=ctx.tiles,
    boundaries=boundaries_for_map(ctx.settings, ctx.router),
    # Zoom to the sites within reach (else the nearest one), not to far-away ones.
    zoom_to_sites=max(1, int(top["verdict"].isin(["within", "borderline"]).sum())),
    # Where the road data ends: a drive-time area cut there is marked "Road data ends here".
    covered_area=covered_area(ctx.router),
)
st.caption(
    f"Map: your place (purple dot), the nearest sites (pins coloured by answer) and the areas "
    f"within {minutes(rule.max_drive_min)} by car of the {MAP_SITES} nearest. Click the map to "
    "check another place."
)
clicked = show_map(m, key="patient_map", clicks=True).get("last_clicked")
if clicked:
    new_text = f"{clicked['lat']:.5f}, {clicked['lng']:.5f}"
    if new_text != text:
        st.session_state["patient_point"] = (new_text, api.geocode(new_text, geocoder=ctx.geocoder))
        st.rerun()
