"""Layers added to a map: drive-time areas, site pins, the place, the route, small points."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.mapping.assets import site_icon
from geo.mapping.style import (
    ISOCHRONE_COLORS,
    OSM_ATTRIBUTION,
    PLACE_COLOR,
    ROUTE_COLOR,
)
from geo.mapping.text import _contour_label, esc
from geo.types import LonLat
from geo.wording import VERDICT_COLORS, format_minutes


def estimated_mask(frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Which rows were answered by the estimate rather than a routed drive.

    An ``estimated`` column wins where present (the patient ranking has one); otherwise a row is
    an estimate when its ``engine`` label is ``"estimate"`` (the label
    :attr:`geo.types.EngineInfo.label` gives estimates) or its ``basis`` says so.
    """
    n = len(frame)
    if "estimated" in frame:
        return frame["estimated"].fillna(False).astype(bool).to_numpy()
    est = np.zeros(n, dtype=bool)
    if "engine" in frame:
        est |= frame["engine"].fillna("").astype(str).str.startswith("estimate").to_numpy()
    if "basis" in frame:
        est |= frame["basis"].fillna("").astype(str).str.startswith("estimate").to_numpy()
    return est


def add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    site_names: Sequence[str] | None = None,
    name: str = "Drive-time areas",
) -> folium.FeatureGroup | None:
    """Isochrone polygons, largest first so the nearer band draws on top.

    ``site_names[point_index]`` labels a polygon. Empty polygons (no road data) are skipped;
    estimates (``approximate``) are dashed and say so in the tooltip.
    """
    if isochrones is None or len(isochrones) == 0:
        return None
    geoms = isochrones.geometry
    keep = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    iso = isochrones[keep]
    if len(iso) == 0:
        return None
    contours = sorted({float(v) for v in iso["minutes"]})
    color_of = {
        c: ISOCHRONE_COLORS[min(i, len(ISOCHRONE_COLORS) - 1)] for i, c in enumerate(contours)
    }
    group = folium.FeatureGroup(name=name, show=True)
    order = iso.sort_values("minutes", ascending=False, kind="stable")
    for _, row in order.iterrows():
        minutes = float(row["minutes"])
        approximate = bool(row.get("approximate", False))
        edge = bool(row.get("touches_data_edge", False))
        idx = int(row.get("point_index", 0))
        site = site_names[idx] if site_names is not None and 0 <= idx < len(site_names) else ""
        label = _contour_label(minutes).capitalize()
        if site:
            label += f" of {site}"
        if approximate:
            label += " (estimate — approximate area)"
        if edge:
            label += " (road data ends nearby: area may be cut short)"
        color = color_of[minutes]
        props = {
            "minutes": minutes,
            "label": esc(label),
            "site": esc(site),
            "engine": esc(row.get("engine", "")),
            "approximate": approximate,
            "touches_data_edge": edge,
        }
        feature = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": shapely.geometry.mapping(row.geometry),
                }
            ],
        }
        folium.GeoJson(
            feature,
            name=esc(label),
            style_function=lambda _f, c=color, a=approximate: {
                "color": c,
                "weight": 2,
                "fillColor": c,
                "fillOpacity": 0.18,
                "dashArray": "6 4" if a else None,
            },
            tooltip=folium.Tooltip(esc(label)),
            # Routed areas are made from OpenStreetMap roads (ODbL): say so on the map.
            attribution=None if approximate else OSM_ATTRIBUTION,
        ).add_to(group)
    group.add_to(m)
    return group


def _site_popup(row: pd.Series) -> str:
    parts = [f"<b>{esc(row.get('name', ''))}</b>"]
    inst = row.get("institution", "")
    if inst and inst != row.get("name", ""):
        parts.append(esc(inst))
    addr = ", ".join(
        esc(row.get(c, ""))
        for c in ("address", "city", "state", "zip")
        if isinstance(row.get(c, ""), str) and row.get(c, "")
    )
    if addr:
        parts.append(addr)
    if "drive_min" in row and np.isfinite(float(row["drive_min"])):
        parts.append(f"Drive: {esc(format_minutes(float(row['drive_min'])))}")
    if row.get("verdict"):
        parts.append(f"Verdict: {esc(row['verdict'])}")
    return "<br>".join(parts)


def add_sites(
    m: folium.Map,
    sites: gpd.GeoDataFrame,
    name: str = "Study sites",
    color: str = "#0a3069",
) -> folium.FeatureGroup:
    """One hospital pin per site with a point; the name (escaped) as tooltip, details in a popup."""
    group = folium.FeatureGroup(name=name, show=True)
    geoms = sites.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    for (_, row), has_point in zip(sites.iterrows(), ok, strict=True):
        if not has_point:
            continue
        pt = row.geometry
        folium.Marker(
            location=[float(pt.y), float(pt.x)],
            icon=site_icon(color),
            tooltip=folium.Tooltip(esc(row.get("name", row.get("site_id", "site")))),
            popup=folium.Popup(_site_popup(row), max_width=320),
        ).add_to(group)
    group.add_to(m)
    return group


PLACES_PANE = "trialreach-places"
"""Leaflet pane of checked places (z-index 620: above site pins at 600, below tooltips at 650),
so a lodging at the hospital's own address is not hidden under the pin."""


def places_pane(m: folium.Map) -> str:
    """Add the :data:`PLACES_PANE` to ``m`` once; returns its name (for a layer's ``pane``)."""
    if not any(
        isinstance(c, folium.map.CustomPane) and c.name == PLACES_PANE for c in m._children.values()
    ):
        folium.map.CustomPane(PLACES_PANE, z_index=620).add_to(m)
    return PLACES_PANE


def add_place(
    m: folium.Map,
    place: LonLat,
    label: str,
    color: str = PLACE_COLOR,
    radius: float = 9.0,
) -> folium.CircleMarker:
    """The checked place (lodging, home) as a filled circle; ``label`` is escaped."""
    marker = folium.CircleMarker(
        location=[place.lat, place.lon],
        radius=radius,
        color="#ffffff",
        weight=2,
        fill=True,
        fill_color=color,
        fill_opacity=0.95,
        tooltip=folium.Tooltip(esc(label)),
        popup=folium.Popup(esc(label), max_width=320),
    )
    marker.options["pane"] = places_pane(m)
    marker.add_to(m)
    return marker


def add_route(m: folium.Map, line: BaseGeometry, label: str) -> folium.PolyLine | None:
    """The driving route as a line; ``label`` (escaped) as tooltip."""
    if line is None or line.is_empty:
        return None
    coords = np.asarray(shapely.get_coordinates(line))
    poly = folium.PolyLine(  # type: ignore[no-untyped-call]
        locations=[[float(y), float(x)] for x, y in coords],
        color=ROUTE_COLOR,
        weight=5,
        opacity=0.85,
        tooltip=folium.Tooltip(esc(label)),
    )
    poly.add_to(m)
    return poly


def add_points(
    m: folium.Map,
    points: gpd.GeoDataFrame,
    label_column: str,
    name: str,
    color_column: str | None = None,
    default_color: str = "#57606a",
) -> folium.FeatureGroup:
    """Small circles (e.g. lodging candidates) with escaped tooltips."""
    group = folium.FeatureGroup(name=name, show=True)
    geoms = points.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    for (_, row), has_point in zip(points.iterrows(), ok, strict=True):
        if not has_point:
            continue
        color = default_color
        if color_column is not None:
            color = VERDICT_COLORS.get(str(row.get(color_column, "")), default_color)
        folium.CircleMarker(
            location=[float(row.geometry.y), float(row.geometry.x)],
            radius=6,
            color="#ffffff",
            weight=1,
            fill=True,
            fill_color=color,
            fill_opacity=0.9,
            tooltip=folium.Tooltip(esc(row.get(label_column, ""))),
        ).add_to(group)
    group.add_to(m)
    return group
