"""Coordinator: is this lodging within the rule's drive time of the nearest study site?"""

from __future__ import annotations

import io
from datetime import datetime

import geopandas as gpd
import pandas as pd
import streamlit as st

from appkit.batch import run_batch, table_view, to_csv_bytes, to_geojson_bytes, verdict_counts
from appkit.lodging_panel import lodging_panel
from appkit.record import CheckRecord, record_html, route_vertices
from appkit.state import (
    boundaries_for_map,
    cached_isochrones,
    cached_route,
    context,
    covered_area,
)
from appkit.ui import (
    ESTIMATE_BADGE,
    chip,
    engine_details,
    finite,
    md_lines,
    md_text,
    minutes,
    show_map,
    verdict_card,
)
from geo.errors import GeocodeError, TrialreachError
from geo.mapping import batch_map, coordinator_map, estimated_mask
from geo.proximity import headline
from geo.types import GeocodeResult, Precision, Verdict, reason_beside_location
from trialreach import api

ctx = context("coordinator")
rule = ctx.rule

st.title("Lodging check")
st.markdown(
    f"Is a hotel, rental or family home within **{minutes(rule.max_drive_min)}** of the nearest "
    f"study site? Rule: {rule.title or rule.name} — {rule.summary()}. "
    f"Sites: **{ctx.sites_label}** ({len(ctx.sites)})."
)

one, many = st.tabs(["One address", "Many places (CSV)"])


def _site_row(site_id: str) -> gpd.GeoDataFrame:
    return ctx.sites[ctx.sites["site_id"].astype(str) == site_id].head(1)


def _site_address(site: gpd.GeoDataFrame) -> str:
    if site.empty:
        return ""
    row = site.iloc[0]
    parts = [str(row.get(c, "") or "") for c in ("address", "city", "state", "zip")]
    return ", ".join(p for p in parts if p and p != "nan")


def _single_check() -> None:
    address = st.text_input(
        "Address of the lodging",
        key="address",
        placeholder="e.g. 123 Main St, Columbus, OH 43215 — or a ZIP code, or 'lat, lon'",
        help="Street address, ZIP code, city and state, or coordinates as 'lat, lon'.",
    )
    if st.button("Check", key="check", type="primary"):
        if not address.strip():
            st.session_state.pop("coord_point", None)
            st.warning("Type an address, a ZIP code or 'lat, lon' first.")
        else:
            try:
                point = api.geocode(address, geocoder=ctx.geocoder)
                st.session_state["coord_point"] = (address, point)
            except GeocodeError as exc:
                st.session_state.pop("coord_point", None)
                st.error(f"Could not locate that place: {md_text(exc)}")
    saved = st.session_state.get("coord_point")
    if saved is None:
        return
    if ctx.router is None:
        st.error(f"No routing engine: {md_text(ctx.router_error)}")
        return
    text, point = saved
    with st.spinner("Routing…"):
        answer = api.check(
            point, sites=ctx.sites, rule=rule, engine=ctx.router, settings=ctx.settings
        )
    row = answer.iloc[0]
    _render_result(text, point, row)


def _render_result(text: str, point: GeocodeResult, row: pd.Series) -> None:
    assert ctx.router is not None
    precision = Precision(point.precision)
    verdict = str(row["verdict"])
    reason = reason_beside_location(str(row["reason"] or ""), precision)
    unknown = verdict == Verdict.UNKNOWN.value
    engine = str(row["engine"] or "")
    lines = [
        f"Basis: {row['basis']}" if row["basis"] else "",
        # An unknown's headline is its reason (geo.proximity.headline), as in the CLI.
        f"Why: {reason}" if reason and not unknown else "",
        *point.location_lines(),
        # The engine that answered this row (auto may route one row, estimate another): said
        # once; the headline ends with it except for an unknown.
        f"Answered by: {engine}" if engine and unknown else "",
    ]
    estimated = bool(estimated_mask(pd.DataFrame([row]))[0])
    site = _site_row(str(row["nearest_site_id"]))
    route_note = ""
    edge_note = ""
    iso = None
    route = None
    contours = (rule.max_drive_min / 2.0, rule.max_drive_min)
    if not site.empty:
        s = site.geometry.iloc[0]
        try:
            iso = cached_isochrones(ctx.engine_key, ctx.router, ((s.x, s.y),), contours)
        except TrialreachError as exc:
            st.caption(f"Drive-time areas not drawn: {md_text(exc)}")
        if iso is not None and bool(iso.get("touches_data_edge", pd.Series(False)).any()):
            edge_note = (
                "The road data of this graph ends near the site: the drawn areas stop where the "
                "data stops (the real areas are larger)."
            )
        try:
            route = cached_route(
                ctx.engine_key, ctx.router, point.point.as_tuple(), (float(s.x), float(s.y))
            )
            route_note = "; ".join(route.notes)
        except TrialreachError as exc:
            route_note = f"route not drawn: {exc}"
        except Exception as exc:  # a display extra must not hide the verdict
            route_note = f"route not drawn ({type(exc).__name__})"

    drive = float(row["drive_min"])
    drive_label = "Drive time"
    if not finite(drive) and route is not None and not ctx.router.info.is_estimate:
        # The verdict was settled by screening ("well inside/outside"); the route to the
        # nearest site still gives the coordinator a number for the file.
        drive = route.duration_s / 60.0
        drive_label = "Drive time (route)"
    if estimated:
        drive_label = "Drive time (ESTIMATE)"
    spare = rule.max_drive_min - drive if finite(drive) else float("nan")
    verdict_card(verdict, headline(row, rule), lines, estimated=estimated)
    c1, c2, c3, c4 = st.columns([1, 1, 2, 1.3])
    c1.metric(drive_label, minutes(drive))
    c2.metric(
        "Minutes to spare" if not finite(spare) or spare >= 0 else "Over the limit by",
        minutes(abs(spare)) if finite(spare) else "—",
    )
    c3.metric("Nearest site", str(row["nearest_site"]) or "—")
    c4.metric("Location precision", precision.value)
    engine_details(ctx.router, estimated=estimated)
    if route_note:
        st.caption(f"Route: {md_text(route_note)}")
    if edge_note:
        st.caption(edge_note)
    route_line = route.geometry if route is not None else None
    route_label = (
        f"Drive {minutes(route.duration_s / 60)}, {route.distance_m / 1000:.0f} km"
        if route is not None
        else "Driving route"
    )
    lodging = lodging_panel(ctx, site)
    m = coordinator_map(
        site if not site.empty else ctx.sites.head(0),
        iso,
        point.point,
        place_label=f"Lodging: {text}",
        route=route_line,
        route_label=route_label,
        lodging=lodging,
        tiles=ctx.tiles,
        boundaries=boundaries_for_map(ctx.settings, ctx.router),
        covered_area=covered_area(ctx.router),
    )
    if site.empty:
        st.caption("Map: the lodging (purple dot); no site could be reached from it.")
    else:
        st.caption(
            f"Map: the nearest site, the areas within {minutes(contours[0])} and "
            f"{minutes(contours[1])} by car, the lodging (purple dot) and the route."
        )
    show_map(m, key="coord_map")

    # Every verdict field of the record comes from the answer row itself (estimate or routed,
    # the margin the verdict used); the route drawn on the map is recorded separately.
    record = CheckRecord.from_answer(
        row,
        checked_at=datetime.now(),
        address=text,
        geocode=point,
        rule=rule,
        site_address=_site_address(site),
        engine=ctx.router.info,
        engine_description=ctx.router.describe(),
        site_set=ctx.sites_label,
        route_note=route_note,
        route_drive_min=drive if drive_label == "Drive time (route)" else None,
        site_lonlat=(
            (float(site.geometry.iloc[0].x), float(site.geometry.iloc[0].y))
            if not site.empty
            else None
        ),
        route_lonlat=route_vertices(route.geometry) if route is not None else (),
        route_on_roads=route is not None and not route.engine.is_estimate,
    )
    st.download_button(
        "Printable record of this check (HTML → print to PDF)",
        data=record_html(record).encode("utf-8"),
        file_name=f"trialreach-check-{record.checked_at:%Y%m%d-%H%M}.html",
        mime="text/html",
        key="record",
        on_click="ignore",
    )


def _batch() -> None:
    st.markdown(
        "Upload a CSV of candidate lodgings: an `address` column (or `street`, `city`, `state`, "
        "`zip`), or `lat`/`lon` columns. Every row gets a verdict or a message; none is dropped."
    )
    up = st.file_uploader("CSV of places", type=["csv", "txt"], key="batch_file")
    if up is None:
        st.session_state.pop("batch_result", None)
        return
    if ctx.router is None:
        st.error(f"No routing engine: {md_text(ctx.router_error)}")
        return
    token = (up.name, up.size, rule, ctx.engine_key, ctx.sites_label, len(ctx.sites))
    saved = st.session_state.get("batch_result")
    if saved is None or saved[0] != token:
        bar = st.progress(0.0, text="Locating places…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Locating places… {done} of {total}")

        try:
            result = run_batch(
                io.BytesIO(up.getvalue()),
                up.name,
                ctx.sites,
                rule,
                ctx.router,
                ctx.geocoder,
                progress,
            )
        except TrialreachError as exc:
            bar.empty()
            st.session_state.pop("batch_result", None)
            st.error(f"That file cannot be checked: {md_lines(exc)}")
            return
        bar.empty()
        st.session_state["batch_result"] = (token, result)
    else:
        result = saved[1]
    _render_batch(result)


def _render_batch(result: gpd.GeoDataFrame) -> None:
    counts = verdict_counts(result)
    for note in result.attrs.get("read_notes", ()):
        st.caption(md_text(note))
    if result.attrs.get("replaced_columns"):
        st.caption(
            "Replaced the result columns of an earlier run: "
            + md_text(", ".join(result.attrs["replaced_columns"]))
        )
    estimated = estimated_mask(result)
    n_est = int(estimated.sum())
    st.markdown(
        f"**{len(result)} places:** "
        + " · ".join(f"{chip(v)} {n}" for v, n in counts.items())
        + (f" · {ESTIMATE_BADGE} {n_est} answered by estimate" if n_est else "")
    )
    shown = st.multiselect(
        "Show verdicts",
        options=list(counts),
        default=[v for v, n in counts.items() if n],
        key="batch_filter",
        help="Filters the table and the map (downloads always hold every row).",
    )
    keep = result["verdict"].isin(shown).to_numpy()
    table = table_view(result, estimated)[keep]
    st.dataframe(
        table,
        key="batch_table",
        hide_index=True,
        width="stretch",
        column_config={
            "row": st.column_config.NumberColumn("Row", width="small"),
            # Text ("—" where there is no drive time; Streamlit shows a missing number as
            # "None"): sorting these two columns is by text. The downloads keep the numbers.
            "drive_min": st.column_config.TextColumn("Drive (min)"),
            "spare_min": st.column_config.TextColumn("Spare (min)"),
            "place": "Place",
            "verdict": "Verdict",
            # Not "Answer": the patient and lodging tables use that for the verdict in words.
            "answer": st.column_config.TextColumn(
                "Routed or estimate",
                help="ESTIMATE: straight-line distance × road factor, not routed",
            ),
            "precision": "Location precision",
            "nearest_site": "Nearest site",
            "message": st.column_config.TextColumn("Message", width="large"),
        },
    )
    if n_est:
        st.warning(
            f"{n_est} row(s) are answered by the estimate (straight-line distance × road factor), "
            "not a routed drive: check them with a routing engine before filing."
        )
    placed = int((~result.geometry.isna() & ~result.geometry.is_empty)[keep].sum())
    if placed:
        st.caption(
            f"Map: {placed} located place(s) coloured by verdict (estimates ringed amber, "
            "dashed; many places grouped into numbered circles that split as you zoom in) and "
            "the study sites."
        )
        show_map(
            batch_map(
                result,
                ctx.sites,
                tiles=ctx.tiles,
                boundaries=boundaries_for_map(ctx.settings, ctx.router),
                verdicts=shown,
            ),
            key="batch_map",
        )
    bad = result[result["verdict"] == "unknown"]
    if len(bad):
        st.warning(
            f"{len(bad)} row(s) without a verdict:\n\n"
            + "\n".join(f"- {md_text(m)}" for m in bad["message"].astype(str))
        )
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download CSV",
        to_csv_bytes(result),
        "trialreach-batch.csv",
        "text/csv",
        key="dl_csv",
        on_click="ignore",
    )
    c2.download_button(
        "Download GeoJSON",
        to_geojson_bytes(result),
        "trialreach-batch.geojson",
        "application/geo+json",
        key="dl_geojson",
        on_click="ignore",
    )


with one:
    _single_check()
with many:
    _batch()
