"""Lodging near a site in the app: the table both faces show, its export, and the coordinator's
panel (which links to the Lodging page rather than duplicating it).

The search itself is :func:`trialreach.api.find_lodging`; this module only presents its answer.
"""

from __future__ import annotations

from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from appkit.state import AppContext
from appkit.ui import ESTIMATE_WORDS, md_text
from geo.errors import TrialreachError
from geo.lodging.catalogue import KIND_LABELS, OSM_NOTICE
from geo.lodging.phones import phone_labels
from geo.wording import VERDICT_WORDS

LODGING_PAGE = "pages/lodging.py"
"""The Lodging page, for links from other pages (relative to app.py)."""

TABLE_CONFIG: dict[str, Any] = {
    "Drive (min)": st.column_config.NumberColumn("Drive (min)", format="%.0f"),
    "Spare (min)": st.column_config.NumberColumn("Spare (min)", format="%.0f"),
    "Website": st.column_config.LinkColumn("Website"),
}


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[col].fillna("").astype(str).replace("nan", "")


def _flag(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(False, index=frame.index, dtype=bool)
    return frame[col].fillna(False).astype(bool)


def _address(frame: pd.DataFrame) -> pd.Series:
    """Street, city and postcode in one line (the parts OpenStreetMap has)."""
    parts = pd.concat([_text(frame, c) for c in ("address", "city", "postcode")], axis=1)
    return parts.apply(lambda r: ", ".join(p for p in r if p), axis=1).astype(str)


def answer_words(frame: pd.DataFrame) -> pd.Series:
    """The verdict in words per row, with ESTIMATE where the drive time was not routed."""
    verdict = _text(frame, "verdict")
    words = verdict.map(lambda v: VERDICT_WORDS.get(v, v)).astype(str)
    est = _flag(frame, "estimated")
    edge = _flag(frame, "edge_warning")
    words = words.where(~est, words + " · " + ESTIMATE_WORDS)
    return words.where(~edge, words + " · road data ends near here")


def lodging_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The answer of :func:`trialreach.api.find_lodging` with human column names, for display.

    Websites that are not ``http(s)`` links are left out (a map tag could hold anything); US
    phones read ``(614) 280-1234`` (:func:`geo.lodging.phones.phone_labels`: no leading ``+``
    for the formula-safe CSV to neutralise), others as given.
    """
    website = _text(frame, "website")
    website = website.where(website.str.match(r"(?i)^https?://"), "")
    notes = pd.concat([_text(frame, "note"), _text(frame, "eligibility_note")], axis=1)
    return pd.DataFrame(
        {
            "Contracted": frame["preferred"].fillna(False).astype(bool).to_numpy(),
            "Name": _text(frame, "name").to_numpy(),
            "Answer": answer_words(frame).to_numpy(),
            "Drive (min)": frame["drive_min"].astype(float).round(1).to_numpy(),
            "Spare (min)": frame["spare_min"].astype(float).round(1).to_numpy(),
            "Kind": _text(frame, "kind").map(lambda k: KIND_LABELS.get(k, k)).to_numpy(),
            "Address": _address(frame).to_numpy(),
            "Phone": phone_labels(_text(frame, "phone")).to_numpy(),  # (614) 280-1234
            "Website": website.to_numpy(),
            "Notes": notes.apply(lambda r: "; ".join(p for p in r if p), axis=1).to_numpy(),
            "Engine": _text(frame, "engine").to_numpy(),
        }
    )


def lodging_export(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """The table to download: every display column plus verdict code, estimate flag, OSM id,
    data date and coordinates (lat, lon in degrees)."""
    out = lodging_table(frame)
    out["Website"] = _text(frame, "website").to_numpy()  # the file keeps what OSM says
    geoms = frame.geometry
    has = ~(geoms.isna() | geoms.is_empty).to_numpy()
    lat = np.full(len(frame), np.nan)
    lon = np.full(len(frame), np.nan)
    lat[has] = geoms[has].y.to_numpy()
    lon[has] = geoms[has].x.to_numpy()
    extra = {
        "verdict": _text(frame, "verdict").to_numpy(),
        "estimated": _flag(frame, "estimated").to_numpy(),
        "edge_warning": _flag(frame, "edge_warning").to_numpy(),
        "osm_id": _text(frame, "osm_id").to_numpy(),
        "source": _text(frame, "source").to_numpy(),
        "osm_data_date": _text(frame, "data_date").to_numpy(),
        "lat": lat,
        "lon": lon,
    }
    return out.assign(**extra)


def data_line(frame: pd.DataFrame) -> str:
    """Where the lodging comes from and how old it is, in one line.

    The dates are those of the OpenStreetMap rows listed (each row carries its file's date);
    rows whose file has no date are said to have none, never given another file's date.
    """
    osm = frame[~_flag(frame, "preferred")] if len(frame) else frame
    dates = _text(osm, "data_date")
    known = sorted(set(dates[dates != ""]))
    if not len(osm):
        known = (
            [str(frame.attrs.get("osm_data_date", ""))] if frame.attrs.get("osm_data_date") else []
        )
    undated = bool(len(osm)) and bool((dates == "").any())
    if known:
        when = "of " + " and ".join(known) + (" (some rows undated)" if undated else "")
    else:
        when = "with no date in the file"
    sources = [str(s) for s in frame.attrs.get("lodging_sources", [])]
    where = f" ({'; '.join(sources)})" if sources else ""
    return f"OpenStreetMap data {when}{where}. {OSM_NOTICE}; call ahead to confirm."


def search(
    ctx: AppContext,
    site_id: str,
    *,
    kinds: list[str] | None = None,
    limit: int | None = 50,
    preferred: IO[bytes] | None = None,
    preferred_name: str = "",
) -> Any:
    """:func:`trialreach.api.find_lodging` with the sidebar's sites, rule, engine and geocoder."""
    from trialreach import api

    return api.find_lodging(
        site_id,
        sites=ctx.sites,
        rule=ctx.rule,
        engine=ctx.router,
        kinds=kinds,
        limit=limit,
        preferred=preferred,
        preferred_name=preferred_name,
        geocoder=ctx.geocoder,
        settings=ctx.settings,
    )


def lodging_panel(ctx: AppContext, site: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Toggle + short table of lodging within the rule of ``site``; returns the places for the map.

    The full task (kinds, drive-time limit, contracted list, export) is the Lodging page, linked
    here with the site chosen.
    """
    if site.empty or ctx.router is None:
        return None
    site_id = str(site["site_id"].iloc[0])
    st.page_link(
        LODGING_PAGE,
        label="Find lodging near this site (its own list, kinds, export)",
        query_params={"site": site_id},
    )
    if not st.toggle(
        "Show lodging near this site here (OpenStreetMap hotels, motels, hospitality houses)",
        key="find_lodging",
    ):
        return None
    try:
        with st.spinner("Reading lodging from OpenStreetMap and routing to the site…"):
            result = search(ctx, site_id)
    except TrialreachError as exc:
        st.warning(f"Lodging search unavailable: {md_text(exc)}")
        return None
    frame = result.frame
    st.caption(md_text(f"{result.summary()}. {data_line(frame)}"))
    for notice in result.notices:
        if notice != OSM_NOTICE:
            st.caption(md_text(notice))
    if len(frame):
        st.dataframe(
            lodging_table(frame),
            hide_index=True,
            width="stretch",
            key="lodging_table",
            column_config=TABLE_CONFIG,
        )
    return frame
