"""Small rendering helpers shared by the pages (verdict card, chips, the map)."""

from __future__ import annotations

import html
import re
from typing import Any

import folium
import numpy as np
import streamlit as st
from streamlit_folium import st_folium

from geo.mapping import ESTIMATE_COLOR
from geo.wording import VERDICT_BADGES, VERDICT_COLORS, VERDICT_WORDS, format_minutes


def chip(verdict: str) -> str:
    """A coloured Markdown badge for a verdict (``:green-badge[Within the rule]``)."""
    colour = VERDICT_BADGES.get(verdict, "gray")
    return f":{colour}-badge[{VERDICT_WORDS.get(verdict, verdict)}]"


def md_text(value: object) -> str:
    """Text safe inside Markdown (escapes HTML and Markdown's active characters)."""
    text = html.escape("" if value is None else str(value))
    for ch in "\\`*_[]{}()#+!|~$:<>":
        text = text.replace(ch, "\\" + ch)
    return text


def md_lines(value: object) -> str:
    """Multi-line text (an error listing problems) safe inside Markdown, line by line.

    Each line is escaped with :func:`md_text`; lines the product wrote as ``"  - item"`` stay
    list items. Use it for any message that may quote user text (file cells, names, titles).
    """
    out = []
    for line in ("" if value is None else str(value)).splitlines():
        m = re.match(r"^(\s*- )(.*)$", line)
        out.append(m.group(1) + md_text(m.group(2)) if m else md_text(line))
    return "\n".join(out)


ESTIMATE_BADGE = ":orange-badge[ESTIMATE · not routed]"
"""Markdown badge beside any answer that comes from the estimate (straight line x road factor)."""

ESTIMATE_WORDS = "ESTIMATE · not a routed drive"


def estimate_chip(estimated: bool) -> str:
    """:data:`ESTIMATE_BADGE` for an estimated answer, else an empty string."""
    return f" {ESTIMATE_BADGE}" if estimated else ""


def verdict_card(verdict: str, headline: str, lines: list[str], estimated: bool = False) -> None:
    """The big coloured answer: verdict word, headline, details (all escaped).

    ``estimated`` adds an amber "ESTIMATE · not a routed drive" badge beside the verdict word
    and a dashed amber frame, so an estimate cannot be read as a routed answer.
    """
    colour = VERDICT_COLORS.get(verdict, "#57606a")
    detail = "".join(f"<li>{html.escape(line)}</li>" for line in lines if line)
    badge = (
        f'<span data-testid="estimate-badge" style="font-size: .9rem; font-weight: 700; '
        f"color: #ffffff; background: {ESTIMATE_COLOR}; padding: .15rem .5rem; "
        f'border-radius: 4px; margin-left: .6rem; vertical-align: middle;">'
        f"{html.escape(ESTIMATE_WORDS)}</span>"
        if estimated
        else ""
    )
    frame = f"outline: 2px dashed {ESTIMATE_COLOR};" if estimated else ""
    st.markdown(
        f"""<div data-testid="verdict-card" style="border-left: 8px solid {colour};
        padding: .6rem 1rem; margin: .4rem 0 1rem 0; background: #f6f8fa; border-radius: 6px;
        {frame}">
        <div style="font-size: 1.6rem; font-weight: 700; color: {colour};">
        {html.escape(VERDICT_WORDS.get(verdict, verdict).upper())}{badge}</div>
        <div style="font-size: 1.05rem; margin: .2rem 0 .4rem 0;">{html.escape(headline)}</div>
        <ul style="margin: 0; padding-left: 1.2rem; color: #424a53;">{detail}</ul></div>""",
        unsafe_allow_html=True,
    )


METRIC_CSS = """<style>
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; overflow-wrap: anywhere;
}
[data-testid="stMetricValue"] { font-size: 1.5rem; line-height: 1.2; }
</style>"""
"""Metric values wrap instead of ending in "…" (a drive time "1 h 56 min" or a long site name
cut to "1 h 56 …" would lose the number a coordinator files)."""


def unclipped_metrics() -> None:
    """Let metric values wrap onto a second line rather than be cut with "…".

    Called once by ``app.py`` before the page runs, for every page: a style-only ``st.html``
    goes to Streamlit's event container (it takes no room on the page), and being the first
    element of every run, it is never displaced while a rerun replaces the page's elements (a
    page that drew it after its own first elements could show metrics without it for a moment:
    ``320,692,846`` cut at 1024 px in a CI browser run).
    """
    st.html(METRIC_CSS)


def minutes(value: Any) -> str:
    try:
        return format_minutes(float(value))
    except (TypeError, ValueError):
        return "—"


def show_map(m: folium.Map, key: str, height: int = 520, clicks: bool = False) -> dict[str, Any]:
    """Render a folium map (display only unless ``clicks``: then the last click is returned)."""
    returned = ["last_clicked"] if clicks else []
    out = st_folium(
        m,
        key=key,
        height=height,
        width=None,
        use_container_width=True,
        returned_objects=returned,
    )
    return out if isinstance(out, dict) else {}


def finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def engine_plain(info: Any) -> str:
    """The engine in plain words, one short line (details go in :func:`engine_details`)."""
    if getattr(info, "is_estimate", False):
        return (
            "Drive times are estimated from straight-line distance, not routed on roads: "
            "approximate, with a wider safety margin."
        )
    data = getattr(info, "data", "") or ""
    where = f" ({data})" if data else ""
    name = getattr(info, "name", "") or ""
    by = f" by {name}" if name else ""
    return f"Drive times are routed on OpenStreetMap roads{by}{where}."


def engine_details(router: Any, estimated: bool = False) -> None:
    """The engine in one plain line, its full description in an expander (shown once per page).

    ``estimated`` says the answer shown came from the estimate even where the engine routes
    others (the ``auto`` engine falls back per row).
    """
    line = engine_plain(router.info)
    if estimated and not router.is_estimate:
        line += (
            " Answers marked ESTIMATE could not be routed: they come from straight-line "
            "distance (approximate, with a wider safety margin)."
        )
    st.caption(md_text(line))
    with st.expander("Engine details", expanded=False):
        st.markdown(md_text(router.describe()))
