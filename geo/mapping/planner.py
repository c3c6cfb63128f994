"""The planner's map: population units shaded by coverage, estimates set apart, sites, suggestions.

A unit whose drive time came from the estimate (straight line x road factor, not routed) is drawn
paler with a dashed amber edge and says "ESTIMATE" in its tooltip, and the legend counts the
people behind such answers, so a green county answered by the estimate cannot be read as routed.
"""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.mapping.base import _bounds_of, base_map
from geo.mapping.focus import MapFocus
from geo.mapping.layers import add_sites, estimated_mask
from geo.mapping.legend import add_legend, add_note
from geo.mapping.style import BAND_COLORS, ESTIMATE_COLOR
from geo.mapping.text import esc
from geo.wording import format_minutes

SUGGESTED_COLOR = "#8250df"
SITE_COLOR = "#0a3069"
STATUS_WORDS = {"within": "within the rule", "outside": "beyond the limit", "unknown": "unknown"}


def _status(units: gpd.GeoDataFrame) -> npt.NDArray[np.str_]:
    within = units["within_rule"]
    return np.where(
        within.isna().to_numpy(),
        "unknown",
        np.where(within.fillna(False).astype(bool).to_numpy(), "within", "outside"),
    )


def _unit_style(color: str, estimated: bool) -> dict[str, object]:
    if estimated:
        return {
            "color": ESTIMATE_COLOR,
            "weight": 0.9,
            "dashArray": "3 3",
            "fillColor": color,
            "fillOpacity": 0.22,
        }
    return {"color": color, "weight": 0.3, "fillColor": color, "fillOpacity": 0.45}


def coverage_map(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    suggested: gpd.GeoDataFrame | None = None,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
    max_units: int = 4000,
    *,
    focus: MapFocus | None = None,
) -> folium.Map:
    """Population units shaded by coverage (within / outside / unknown), sites and suggestions.

    Parameters
    ----------
    units
        ``name``, ``population``, ``within_rule`` (nullable boolean), optionally
        ``duration_min`` and ``estimated`` / ``engine`` (see :func:`~geo.mapping.estimated_mask`),
        and polygon or point geometry (EPSG:4326). The most populous ``max_units`` are drawn (the
        caller says so if cut).
    sites, suggested
        Study sites (blue pins) and suggested sites (purple pins).
    tiles, boundaries
        The basemap (see :func:`~geo.mapping.base_map`).
    focus
        :func:`~geo.mapping.map_focus`: frames the view on a region or state (e.g. the lower 48
        rather than a Pacific-wide view when a site is in Hawaii) and draws its note (sites left
        out of the view); every site is still drawn.

    Returns
    -------
    folium.Map
        One GeoJSON layer per status (``"Population: within"`` …); estimated units paler with a
        dashed amber edge; a legend with units and people per status and the estimated share.
    """
    if len(units) > max_units:
        units = units.nlargest(max_units, "population")
    status = _status(units)
    est = estimated_mask(units)
    drive = units["duration_min"] if "duration_min" in units else pd.Series(np.nan, units.index)
    label = [
        esc(
            f"{n}: {int(p):,} people — {s}"
            + (f", {format_minutes(t)}" if np.isfinite(t) else "")
            + (" (ESTIMATE, not routed)" if e else "")
        )
        for n, p, s, t, e in zip(
            units["name"],
            units["population"],
            status,
            drive.to_numpy(float, na_value=np.nan),
            est,
            strict=True,
        )
    ]
    data = gpd.GeoDataFrame(
        {
            "label": label,
            "status": status,
            "estimated": est,
            "population": units["population"].astype(float).to_numpy(),
        },
        geometry=units.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    geoms: list[BaseGeometry] = list(sites.geometry)
    if suggested is not None:
        geoms += list(suggested.geometry)
    view = _bounds_of(geoms) or _bounds_of(list(data.geometry))
    if focus is not None and focus.bounds is not None:
        view = focus.bounds
    m = base_map(view, tiles, boundaries)
    if focus is not None:
        add_note(m, focus.note, position="topright", testid="focus-note")
    for key in ("outside", "unknown", "within"):
        part = data[data["status"] == key]
        if len(part) == 0:
            continue
        color = BAND_COLORS[key]
        polygonal = part.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
        folium.GeoJson(
            part.__geo_interface__,
            name=f"Population: {key}",
            style_function=lambda f, c=color: _unit_style(c, bool(f["properties"]["estimated"])),
            marker=None
            if polygonal
            else folium.CircleMarker(radius=3, fill=True, fill_color=color, weight=0),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)
    add_sites(m, sites, color=SITE_COLOR)
    has_suggested = suggested is not None and len(suggested) > 0
    if suggested is not None and has_suggested:
        add_sites(m, suggested, name="Suggested sites", color=SUGGESTED_COLOR)
    add_legend(m, coverage_legend_html(data, suggested=has_suggested))
    return m


def coverage_legend_html(data: pd.DataFrame, *, suggested: bool = False) -> str:
    """Legend rows: each status with its units and people, the estimated share, the pins.

    ``data`` holds ``status``, ``estimated`` and ``population`` per drawn unit.
    """
    box = "display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;"
    pop = data["population"].to_numpy(float)
    status = data["status"].to_numpy()
    est = data["estimated"].to_numpy(bool)
    rows = ["<b>People (units drawn)</b>"]
    for key in ("within", "outside", "unknown"):
        hit = status == key
        if not hit.any():
            continue
        color = BAND_COLORS[key]
        n = int(hit.sum())
        rows.append(
            f'<span style="{box}background:{color}73;border:1px solid {color}"></span>'
            f"{esc(STATUS_WORDS[key])}: {int(pop[hit].sum()):,} "
            f"({n:,} unit{'' if n == 1 else 's'})"
        )
    if est.any():
        share = pop[est].sum() / pop.sum() if pop.sum() > 0 else 0.0
        rows.append(
            f'<span style="{box}background:#8c959f38;border:1px dashed {ESTIMATE_COLOR}"></span>'
            f"paler, dashed amber edge: ESTIMATE, not routed ({share:.0%} of these people)"
        )
    pin = "display:inline-block;width:10px;height:10px;border-radius:50% 50% 50% 0;"
    rows.append(f'<span style="{pin}background:{SITE_COLOR};margin-right:5px"></span>study site')
    if suggested:
        rows.append(
            f'<span style="{pin}background:{SUGGESTED_COLOR};margin-right:5px"></span>'
            "suggested site"
        )
    return "<br>".join(rows)
