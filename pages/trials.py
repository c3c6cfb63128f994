"""Trials near me: which trials have a site within my drive-time limit?

Searches ClinicalTrials.gov by condition/treatment/status around a coarsened point (the centre of
the 0.1° grid cell holding the place, never the place), then ranks every study's sites by drive
time on this machine. Results stay in this session's memory; the study records (public) are
cached on disk.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from appkit.batch import NO_VALUE, whole_minutes_text
from appkit.state import boundaries_for_map, cached_isochrones, context, covered_area
from appkit.ui import chip, md_text, minutes, show_map
from geo.errors import GeocodeError, TrialreachError
from geo.export import csv_bytes
from geo.mapping import patient_map
from geo.types import GeocodeResult, LonLat, Precision
from sites.trials import STUDY_COLUMNS, TrialQuery, TrialSearch, find_trials, study_drive_text
from sites.trials.search import GRID_DEG

MAP_SITES = 3  # sites whose drive-time areas are drawn
MAX_MAP_SITES = 400  # pins drawn (nearest first)
STATUS_CHOICES = {
    "RECRUITING": "Recruiting",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
}
_ORDER = {"within": 0, "borderline": 1, "unknown": 2, "outside": 3}

ctx = context("trials")

st.title("Trials near me")
st.markdown(
    "Which trials for your condition have a study site you could reach by car within your "
    "limit? Type where you would stay and what you are looking for. Studies with a known rule "
    "(RESOLUTION, approved CAR-T products) are judged by it; the others by your limit."
)

place_text = st.text_input(
    "Where you would stay: an address, a ZIP code or a town",
    key="trials_place",
    placeholder="e.g. 55902 or Rochester, MN",
)
cols = st.columns(2)
condition = cols[0].text_input("Condition", key="trials_condition", placeholder="e.g. lupus")
intervention = cols[1].text_input(
    "Treatment (optional)", key="trials_intervention", placeholder="e.g. CAR T"
)
cols = st.columns(2)
statuses = cols[0].multiselect(
    "Study status",
    list(STATUS_CHOICES),
    default=["RECRUITING", "NOT_YET_RECRUITING"],
    format_func=lambda s: STATUS_CHOICES.get(s, s),
    key="trials_status",
)
limit_min = cols[1].number_input(
    "Longest drive you accept (minutes)",
    min_value=15,
    max_value=600,
    value=int(ctx.rule.max_drive_min),
    step=5,
    key="trials_minutes",
)
st.caption(
    "What is sent to ClinicalTrials.gov: the condition, the treatment, the statuses and a wide "
    f"area around the centre of the {GRID_DEG:g}° grid square (about 10 km across) that holds "
    "your place — never your address or your exact location. Drive times are worked out on "
    "this computer."
)

if ctx.router is None:
    st.error(f"No routing engine: {md_text(ctx.router_error)}")
    st.stop()

searched = st.button("Search trials", key="trials_search", type="primary")
if searched:
    st.session_state.pop("trials_result", None)
    if not place_text.strip():
        st.warning("Type where you would stay first.")
    elif not (condition.strip() or intervention.strip()):
        st.warning("Type a condition (e.g. lupus) or a treatment (e.g. CAR T).")
    elif not statuses:
        st.warning("Choose at least one study status.")
    else:
        try:
            point: GeocodeResult = ctx.geocoder.geocode(place_text)
        except GeocodeError as exc:
            st.error(f"We could not find that place: {md_text(exc)}")
        else:
            try:
                query = TrialQuery(
                    condition=condition,
                    intervention=intervention,
                    statuses=tuple(statuses),
                    max_drive_min=float(limit_min),
                )
                with st.spinner("Searching ClinicalTrials.gov and working out driving times…"):
                    found = find_trials(
                        query,
                        point.point,
                        ctx.router,
                        place_precision=Precision(point.precision).value,
                        margin_min=ctx.rule.margin_min,
                        settings=ctx.settings,
                    )
                st.session_state["trials_result"] = (place_text, point, found)
            except TrialreachError as exc:
                st.error(f"The search did not work: {md_text(exc)}")

saved: tuple[str, GeocodeResult, TrialSearch] | None = st.session_state.get("trials_result")
if saved is None:
    if not searched:  # after a search that did not work, its message stands alone
        st.info("Results appear here: the trials ranked by driving time to their nearest site.")
    st.stop()

text, point, found = saved
studies = found.ranking.studies
if found.search.partial:
    st.warning(
        f"Partial list: {md_text(found.search.error)}. The studies below are those found "
        "before that; search again later for the complete list."
    )
n_within, n_border = found.ranking.n_within, found.ranking.n_borderline
st.markdown(
    f"**From:** {md_text(text)} · *{md_text(Precision(point.precision).value)} precision* — "
    f"**{len(studies)}** studies found, **{n_within}** with a site within the limit"
    + (f" (**{n_border}** of them only borderline: check those)." if n_border else ".")
)
if studies.empty:
    st.info("No study matched. Try a broader condition, or other statuses.")
    st.stop()

for _, row in studies.head(10).iterrows():
    drive = study_drive_text(row, blank="no drive time")
    where = ", ".join(str(x) for x in (row["nearest_city"], row["nearest_state"]) if x)
    st.markdown(
        f"{chip(str(row['verdict']))} **{md_text(row['nct_id'])}** {md_text(row['title'])} — "
        f"{md_text(drive)} to {md_text(row['nearest_site'] or '—')}"
        + (f" ({md_text(where)})" if where else "")
        + f" · {md_text(row['rule_used'])}"
    )

table = pd.DataFrame(
    {
        "rank": studies["rank"],
        "answer": studies["verdict"],
        # Text, so a study without a drive time reads "—" (Streamlit shows a missing number as
        # "None"); the CSV download keeps the numbers.
        "drive (min)": whole_minutes_text(studies["drive_min"].to_numpy()),
        "study": studies["nct_id"],
        "title": studies["title"],
        "phase": studies["phase"],
        "status": studies["status"].str.replace("_", " "),
        "nearest site": studies["nearest_site"].replace("", NO_VALUE),
        "city": studies["nearest_city"],
        "state": studies["nearest_state"],
        "sites within": studies["sites_within_limit"],
        "sites checked": studies["sites_checked"],
        "rule": studies["rule_used"],
        "why": (studies["reason"] + "; " + studies["notes"]).str.strip("; "),
        "record": studies["url"],
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key="trials_table",
    column_config={"record": st.column_config.LinkColumn("record", display_text="open")},
)
st.download_button(
    "Download as CSV",
    csv_bytes(studies.loc[:, STUDY_COLUMNS]),
    file_name="trials.csv",
    mime="text/csv",
    key="trials_csv",
    on_click="ignore",
)
for note in found.ranking.notes:
    st.caption(note)
st.caption(
    "ClinicalTrials.gov gives each site's city centre, not the building: a site near the limit "
    "is 'borderline' — ask the study team for its address."
)
st.caption(found.sent_text())
st.caption(f"Driving times: {found.ranking.engine}")

# --- map: the place, the sites coloured by their answer, areas of the nearest few ------------
sites = found.ranking.sites
shown = sites[sites["checked"].to_numpy(dtype=bool) & sites["lat"].notna().to_numpy()]
shown = shown.assign(_v=shown["verdict"].map(_ORDER).fillna(9), _t=shown["sort_min"].fillna(1e9))
shown = shown.sort_values(["_v", "_t"], kind="stable")
studies_at = shown.groupby(["name", "lat", "lon"], sort=False)["nct_id"].agg(", ".join)
pins = shown.drop_duplicates(["name", "lat", "lon"]).head(MAX_MAP_SITES)
pins = gpd.GeoDataFrame(
    pins.assign(
        institution="Studies: "
        + studies_at.reindex(pd.MultiIndex.from_frame(pins[["name", "lat", "lon"]])).to_numpy()
    ).drop(columns=["_v", "_t"]),
    geometry="geometry",
    crs="EPSG:4326",
)
iso = None
top = pins[np.isfinite(pins["drive_min"].to_numpy(dtype=float))].head(MAP_SITES)
pins = pd.concat([top, pins.drop(index=top.index)])  # areas are drawn for the first rows
if len(top):
    pts = tuple((float(g.x), float(g.y)) for g in top.geometry)
    try:
        iso = cached_isochrones(ctx.engine_key, ctx.router, pts, (float(limit_min),))
    except TrialreachError as exc:
        st.caption(f"Drive-time areas not drawn: {md_text(exc)}")
m = patient_map(
    LonLat(point.point.lon, point.point.lat),
    gpd.GeoDataFrame(pins, geometry="geometry", crs="EPSG:4326"),
    iso,
    place_label=f"You: {text}",
    tiles=ctx.tiles,
    boundaries=boundaries_for_map(ctx.settings, ctx.router),
    covered_area=covered_area(ctx.router),
    zoom_to_sites=max(1, int(pins["verdict"].isin(["within", "borderline"]).sum())),
)
st.caption(
    f"Map: your place (purple dot), the open sites of these studies (pins coloured by answer) "
    f"and the areas within {minutes(limit_min)} by car of the {MAP_SITES} nearest."
)
show_map(m, key="trials_map")
