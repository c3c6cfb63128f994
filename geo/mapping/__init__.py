"""Folium maps as pure functions of results: sites, isochrones, a place, a route, batches, coverage.

Every map built here

* loads Leaflet and jQuery from the app itself (inlined ``data:`` URLs made from the PyPI
  packages ``xstatic-leaflet`` and ``xstatic-jquery``), never from a CDN, so a blocked CDN (offline,
  a locked-down hospital network) cannot make the map vanish (:func:`make_offline`);
* uses only plain Leaflet layers (GeoJSON, CircleMarker, Marker with an inlined icon, PolyLine)
  and, for large batches, Leaflet.markercluster inlined from ``xstatic-leaflet-markercluster``:
  no awesome-markers, no branca colour maps (their scripts come from CDNs);
* escapes every site name, address and label put into a tooltip, popup or layer name for both
  contexts it lands in — HTML and the JavaScript template literal folium wraps it in (:func:`esc`);
* has a basemap: OpenStreetMap tiles with attribution (``tiles="osm"``), or with ``tiles="none"``
  a light basemap (state and county lines, main roads and place names) passed in by the caller,
  so the map still orients the user where no tile server is reachable.

The builders take plain data (GeoDataFrames in EPSG:4326, :class:`~geo.types.LonLat`, shapely
lines) and return a :class:`folium.Map`; they never read files other than the shipped Leaflet
assets, never route and never geocode.

Modules, one concern each: :mod:`~geo.mapping.style` (colours, tiles, attributions),
:mod:`~geo.mapping.assets` (inlined scripts and icons), :mod:`~geo.mapping.text` (escaping),
:mod:`~geo.mapping.base` (the empty map and its basemap), :mod:`~geo.mapping.legend` (legends
and notes), :mod:`~geo.mapping.layers` (areas, pins, place, route, points),
:mod:`~geo.mapping.edge` (where an area is cut by the end of the road data),
:mod:`~geo.mapping.batch` (batch results), :mod:`~geo.mapping.planner` (coverage),
:mod:`~geo.mapping.focus` (framing a region or state) and :mod:`~geo.mapping.maps` (the lodging
check's and the patient's maps).
"""

from __future__ import annotations

from geo.mapping.assets import LeafletAssets, leaflet_assets, make_offline, site_icon
from geo.mapping.base import Bounds, base_map, clip_boundaries
from geo.mapping.batch import batch_map
from geo.mapping.edge import add_data_edge, data_edge_lines
from geo.mapping.focus import (
    ALL_SITES,
    FOCUS_REGIONS,
    LOWER_48,
    MapFocus,
    focus_choices,
    map_focus,
)
from geo.mapping.layers import (
    add_isochrones,
    add_place,
    add_points,
    add_route,
    add_sites,
    estimated_mask,
)
from geo.mapping.legend import add_legend, add_note, isochrone_legend_html
from geo.mapping.maps import coordinator_map, map_summary, patient_map
from geo.mapping.planner import coverage_legend_html, coverage_map
from geo.mapping.style import (
    BAND_COLORS,
    BASEMAP_BACKGROUND,
    ESTIMATE_COLOR,
    ISOCHRONE_COLORS,
    OSM_ATTRIBUTION,
    PLACE_COLOR,
    ROUTE_COLOR,
    TILES,
)
from geo.mapping.text import esc

__all__ = [
    "ALL_SITES",
    "BAND_COLORS",
    "BASEMAP_BACKGROUND",
    "ESTIMATE_COLOR",
    "FOCUS_REGIONS",
    "ISOCHRONE_COLORS",
    "LOWER_48",
    "OSM_ATTRIBUTION",
    "PLACE_COLOR",
    "ROUTE_COLOR",
    "TILES",
    "Bounds",
    "LeafletAssets",
    "MapFocus",
    "add_data_edge",
    "add_isochrones",
    "add_legend",
    "add_note",
    "add_place",
    "add_points",
    "add_route",
    "add_sites",
    "base_map",
    "batch_map",
    "clip_boundaries",
    "coordinator_map",
    "coverage_legend_html",
    "coverage_map",
    "data_edge_lines",
    "esc",
    "estimated_mask",
    "focus_choices",
    "isochrone_legend_html",
    "leaflet_assets",
    "make_offline",
    "map_focus",
    "map_summary",
    "patient_map",
    "site_icon",
]
