"""Colours, tile sources and attributions shared by every map (one place to change a look)."""

from __future__ import annotations

TILES = ("osm", "none")
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
MAX_ZOOM = 19
"""The deepest zoom of every map (OpenStreetMap's tiles end there)."""
BOUNDARY_ATTRIBUTION = "Boundaries: U.S. Census Bureau (us-atlas)"

ISOCHRONE_COLORS = ("#0550ae", "#218bff", "#80ccff", "#b6e3ff")
"""Shortest contour first: darker blue for the nearer band."""

BAND_COLORS: dict[str, str] = {
    "within": "#2da44e",
    "outside": "#cf222e",
    "unknown": "#8c959f",
}

PLACE_COLOR = "#8250df"
ESTIMATE_COLOR = "#9a6700"
"""Amber: an estimated answer or area (straight-line distance x road factor, not routed)."""
ROUTE_COLOR = "#0a3069"
BASEMAP_BACKGROUND = "#f6f4ef"

PLACE_LABEL_MAX_SPAN_DEG = 3.0
"""Place names are drawn only on maps showing at most this many degrees across."""

ROAD_STYLE = {0: ("#c8a26a", 2.6), 1: ("#c8a26a", 2.2), 2: ("#b8b0a0", 1.8), 3: ("#c4bdb0", 1.3)}
"""Road rank (geo.basemap.ROAD_RANKS) → (colour, weight px); others are thin light grey."""
