"""The pages' maps: lodging check and patient ranking; a summary of a map for tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.mapping.base import _bounds_of, base_map
from geo.mapping.edge import add_data_edge
from geo.mapping.layers import (
    add_isochrones,
    add_place,
    add_points,
    add_route,
    add_sites,
)
from geo.mapping.legend import add_legend, isochrone_legend_html
from geo.types import LonLat
from geo.wording import VERDICT_COLORS


def _add_drive_areas(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    covered_area: BaseGeometry | None,
) -> None:
    """Drive-time areas named by their sites, the data-edge dashes and the legend naming both."""
    names = [str(n) for n in sites["name"]] if "name" in sites else None
    add_isochrones(m, isochrones, names)
    edge_drawn = add_data_edge(m, isochrones, covered_area)
    add_legend(m, isochrone_legend_html(isochrones, edge_drawn=edge_drawn))


def coordinator_map(
    site: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame | None = None,
    place: LonLat | None = None,
    place_label: str = "Lodging",
    route: BaseGeometry | None = None,
    route_label: str = "Driving route",
    lodging: gpd.GeoDataFrame | None = None,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
    *,
    covered_area: BaseGeometry | None = None,
) -> folium.Map:
    """The lodging check: the site, its drive-time areas, the lodging and the route.

    ``covered_area`` (the answering graphs' ``covered_area``, lon/lat) marks where a routed area
    is cut by the end of the road data (:func:`~geo.mapping.edge.add_data_edge`).

    ``site`` holds the site(s) to pin (usually the nearest one); ``lodging`` optional candidate
    places with ``name`` and ``verdict`` columns.
    """
    geoms: list[BaseGeometry] = list(site.geometry)
    if isochrones is not None and len(isochrones):
        geoms += list(isochrones.geometry)
    if place is not None:
        geoms.append(shapely.Point(place.lon, place.lat))
    if route is not None:
        geoms.append(route)
    m = base_map(_bounds_of(geoms), tiles, boundaries)
    if isochrones is not None:
        _add_drive_areas(m, isochrones, site, covered_area)
    if route is not None:
        add_route(m, route, route_label)
    if lodging is not None and len(lodging):
        add_points(m, lodging, "name", "Lodging nearby", color_column="verdict")
    add_sites(m, site)
    if place is not None:
        add_place(m, place, place_label)
    return m


def patient_map(
    place: LonLat | None,
    ranked_sites: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame | None = None,
    place_label: str = "Your place",
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
    zoom_to_sites: int = 3,
    *,
    covered_area: BaseGeometry | None = None,
) -> folium.Map:
    """A place and the nearest sites (pins coloured by verdict) with their drive-time areas.

    ``isochrones.point_index`` refers to rows of ``ranked_sites`` (in order). The view covers
    the place and its ``zoom_to_sites`` nearest sites. ``covered_area`` as in
    :func:`coordinator_map`.
    """
    near = ranked_sites.head(zoom_to_sites)
    geoms: list[BaseGeometry] = list(near.geometry)
    if place is not None:
        geoms.append(shapely.Point(place.lon, place.lat))
    if isochrones is not None and len(isochrones):
        geoms += list(isochrones.geometry)
    m = base_map(_bounds_of(geoms), tiles, boundaries)
    if isochrones is not None:
        _add_drive_areas(m, isochrones, ranked_sites, covered_area)
    if "verdict" in ranked_sites:
        for verdict, part in ranked_sites.groupby("verdict", sort=False):
            color = VERDICT_COLORS.get(str(verdict), "#0a3069")
            add_sites(m, part, name=f"Sites: {verdict}", color=color)
    else:
        add_sites(m, ranked_sites)
    if place is not None:
        add_place(m, place, place_label)
    return m


def map_summary(m: folium.Map) -> dict[str, Any]:
    """Counts of what a map holds, for tests and logs: layers by kind, script sources."""
    counts: dict[str, int] = {}

    def walk(node: Any) -> None:
        for child in node._children.values():
            kind = type(child).__name__
            counts[kind] = counts.get(kind, 0) + 1
            walk(child)

    walk(m)
    return {
        "counts": counts,
        "js": [src for _, src in m.default_js],
        "css": [src for _, src in m.default_css],
    }
