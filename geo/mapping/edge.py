"""Where a drive-time area is cut by the end of the road data, drawn on the map itself.

A local road graph knows roads only inside its covered area (``GraphManifest.covered_area``); an
isochrone that reaches that boundary stops there with straight, blocky edges although the real
area goes on. The legend already says so; :func:`add_data_edge` also marks *where*: the stretches
of a flagged area's outline lying along the end of the data, as heavy amber dashes with the
tooltip "Road data ends here".
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.mapping.style import ESTIMATE_COLOR
from geo.mapping.text import esc

EDGE_MARGIN_DEG = 0.03
"""Outline within this distance of the data boundary counts as cut (~3 km, the routing rule)."""

EDGE_LABEL = "Road data ends here: this drive-time area is cut short (the real area is larger)"


def data_edge_lines(
    isochrones: gpd.GeoDataFrame,
    covered_area: BaseGeometry | None,
    margin_deg: float = EDGE_MARGIN_DEG,
) -> BaseGeometry:
    """The parts of routed areas' outlines that lie along the end of the road data.

    Parameters
    ----------
    isochrones
        Drive-time areas (EPSG:4326) with optional ``approximate`` (estimates are skipped: they
        are not made from road data) and ``touches_data_edge`` (only flagged areas are used when
        the column is present).
    covered_area
        Where the answering graph(s) have road data (lon/lat (multi)polygon); ``None`` or empty:
        nothing to mark.
    margin_deg
        How close (degrees) to the data boundary an outline must run to count as cut.

    Returns
    -------
    BaseGeometry
        (Multi)linestring in lon/lat; empty when no area is cut.
    """
    if covered_area is None or covered_area.is_empty or isochrones is None or not len(isochrones):
        return shapely.MultiLineString()
    geoms = isochrones.geometry
    keep = (~geoms.isna() & ~geoms.is_empty).to_numpy().copy()
    if "approximate" in isochrones:
        keep &= ~isochrones["approximate"].fillna(False).astype(bool).to_numpy()
    if "touches_data_edge" in isochrones:
        keep &= isochrones["touches_data_edge"].fillna(False).astype(bool).to_numpy()
    if not keep.any():
        return shapely.MultiLineString()
    outlines = shapely.boundary(geoms.to_numpy()[keep])
    zone = shapely.buffer(shapely.boundary(covered_area), margin_deg)
    cut = shapely.intersection(outlines, zone)
    lines = shapely.get_parts(cut)
    lines = lines[np.isin(shapely.get_type_id(lines), [1, 2])]  # LineString, LinearRing
    if len(lines) == 0:
        return shapely.MultiLineString()
    return shapely.line_merge(shapely.union_all(lines))


def add_data_edge(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame | None,
    covered_area: BaseGeometry | None,
) -> bool:
    """Draw :func:`data_edge_lines` as heavy amber dashes; True when anything was drawn."""
    if isochrones is None:
        return False
    lines = data_edge_lines(isochrones, covered_area)
    if lines.is_empty:
        return False
    feature = {
        "type": "Feature",
        "properties": {"label": esc(EDGE_LABEL)},
        "geometry": shapely.geometry.mapping(lines),
    }
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [feature]},
        name="Road data ends",
        style_function=lambda _f: {
            "color": ESTIMATE_COLOR,
            "weight": 5,
            "opacity": 0.9,
            "dashArray": "8 6",
        },
        tooltip=folium.Tooltip(esc(EDGE_LABEL)),
        control=False,
    ).add_to(m)
    return True
