"""The empty map: view, OSM tiles or the offline basemap (outlines, roads, place names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry.base import BaseGeometry

from geo.errors import ValidationError
from geo.mapping.assets import make_offline
from geo.mapping.legend import add_note
from geo.mapping.style import (
    BASEMAP_BACKGROUND,
    BOUNDARY_ATTRIBUTION,
    MAX_ZOOM,
    OSM_ATTRIBUTION,
    OSM_TILE_URL,
    PLACE_LABEL_MAX_SPAN_DEG,
    ROAD_STYLE,
    TILES,
)
from geo.mapping.text import esc

Bounds = tuple[float, float, float, float]
"""(min lon, min lat, max lon, max lat)."""


def _bounds_of(geoms: Sequence[BaseGeometry]) -> Bounds | None:
    kept = [g for g in geoms if g is not None and not g.is_empty]
    if not kept:
        return None
    b = shapely.total_bounds(np.array(kept, dtype=object))
    if not np.isfinite(b).all():
        return None
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _padded(bounds: Bounds, min_span_deg: float = 0.05, pad: float = 0.08) -> Bounds:
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max((x1 - x0) / 2, min_span_deg) * (1 + pad)
    half_h = max((y1 - y0) / 2, min_span_deg) * (1 + pad)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def clip_boundaries(
    boundaries: gpd.GeoDataFrame | None, bounds: Bounds, margin_deg: float = 1.0
) -> gpd.GeoDataFrame | None:
    """The boundary rows that meet ``bounds`` grown by ``margin_deg`` (keeps maps small)."""
    if boundaries is None or len(boundaries) == 0:
        return None
    x0, y0, x1, y1 = bounds
    box = shapely.box(x0 - margin_deg, y0 - margin_deg, x1 + margin_deg, y1 + margin_deg)
    hit = boundaries.geometry.intersects(box).to_numpy()
    out = boundaries[hit]
    return out if len(out) else None


def base_map(
    bounds: Bounds | None,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
) -> folium.Map:
    """An empty map fitted to ``bounds``, with its basemap, loading nothing from a CDN.

    Parameters
    ----------
    bounds
        Area to show; ``None`` shows the contiguous United States.
    tiles
        ``"osm"`` (OpenStreetMap tiles with attribution) or ``"none"`` (no tile server: a light
        background with ``boundaries`` drawn as thin lines).
    boundaries
        Outline layers for ``tiles="none"``: counties first, then states (drawn on top).
    """
    if tiles not in TILES:
        raise ValidationError(f"unknown map tiles {tiles!r}; choose one of: {', '.join(TILES)}")
    view = _padded(bounds) if bounds is not None else (-125.0, 24.0, -66.5, 49.5)
    m = folium.Map(
        location=[(view[1] + view[3]) / 2, (view[0] + view[2]) / 2],
        zoom_start=8,
        tiles=None,
        control_scale=True,
    )
    # A zoom ceiling even without tiles (marker clusters need one; OSM tiles stop at 19 too).
    m.options["max_zoom"] = MAX_ZOOM
    outlines, roads_in_view = _outline_layer(boundaries, view, show=(tiles == "none"))
    if tiles == "osm":
        tile_layer = folium.TileLayer(
            tiles=OSM_TILE_URL,
            attr=OSM_ATTRIBUTION,
            name="OpenStreetMap",
            max_zoom=19,
            control=False,
        )
        tile_layer.add_to(m)
        if outlines is not None:
            # No tile server reachable (offline, a locked-down network): the first failed tile
            # swaps in the light outline basemap, so the map still orients the user.
            outlines.add_to(m)
            _OutlineFallback(m, tile_layer, outlines).add_to(m)
    else:
        _light_background(m)
        if outlines is not None:
            outlines.add_to(m)
    span_deg = max(view[2] - view[0], view[3] - view[1])
    if outlines is not None and not roads_in_view and span_deg <= PLACE_LABEL_MAX_SPAN_DEG:
        # Shown with the offline basemap only (at once, or when it replaces unreachable tiles),
        # on maps at town or region scale, where roads would be expected (not on a national map).
        add_note(m, NO_ROADS_NOTE, when_shown=outlines, testid="basemap-note")
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    return make_offline(m)


def _light_background(m: folium.Map) -> None:
    style = f"<style>.leaflet-container {{ background: {BASEMAP_BACKGROUND} !important; }}</style>"
    root: Any = m.get_root()
    root.header.add_child(folium.Element(style))


def _outline_layer(
    boundaries: Sequence[gpd.GeoDataFrame], view: Bounds, show: bool
) -> tuple[folium.FeatureGroup | None, bool]:
    """County and state lines, main roads and place names clipped to the view, as one layer.

    Returns the layer (None without boundaries) and whether any road lies in the view itself.
    """
    if not boundaries:
        return None, False
    roads_in_view = False
    group = folium.FeatureGroup(name="Basemap: outlines", control=False, show=show)
    widths = [0.6, 1.4]
    colors = ["#c9c4b8", "#8c8577"]
    names = ["Counties", "States"]
    added = False
    named_extracts = False
    outline_index = 0
    for layer in boundaries:
        kind = layer.attrs.get("basemap", "")
        clipped = clip_boundaries(layer, view, margin_deg=0.3 if kind else 1.0)
        if clipped is None:
            continue
        span_deg = max(view[2] - view[0], view[3] - view[1])
        if kind == "places" and span_deg > PLACE_LABEL_MAX_SPAN_DEG:
            continue  # permanent labels only at city/region zoom (they would clutter a state)
        if kind == "roads":
            roads_in_view = clip_boundaries(clipped, view, margin_deg=0.0) is not None
        if kind:  # roads and place names from the OSM extracts (geo.basemap)
            sources = tuple(layer.attrs.get("basemap_sources", ()))
            _basemap_layer(clipped, str(kind)).add_to(group)
            if sources and not named_extracts:
                _extracts_note(sources).add_to(group)
                named_extracts = True
            added = True
            continue
        k = min(outline_index, 1)
        outline_index += 1
        data = gpd.GeoDataFrame(
            {"name": clipped["name"].map(esc) if "name" in clipped else ""},
            geometry=clipped.geometry.boundary,
            crs="EPSG:4326",
        )
        folium.GeoJson(
            data.__geo_interface__,
            name=f"Basemap: {names[k].lower()}",
            style_function=lambda _f, c=colors[k], w=widths[k]: {
                "color": c,
                "weight": w,
                "opacity": 0.9,
            },
            control=False,
            attribution=BOUNDARY_ATTRIBUTION,
            interactive=False,
        ).add_to(group)
        added = True
    return (group if added else None), roads_in_view


def _extracts_note(sources: Sequence[str]) -> folium.GeoJson:
    """An empty layer whose attribution names the extracts drawn ("OSM extracts: a, b").

    Its own attribution item, so that every OpenStreetMap layer (tiles, basemap, routed areas)
    carries the same :data:`OSM_ATTRIBUTION` and Leaflet shows the copyright once.
    """
    short = ", ".join(str(n).removesuffix(".osm.pbf").removesuffix(".pbf") for n in sources)
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": []},
        name="Basemap: extracts",
        control=False,
        attribution=f"OSM extract{'s' if len(sources) > 1 else ''}: {esc(short)}",
    )


def _basemap_layer(layer: gpd.GeoDataFrame, kind: str) -> folium.GeoJson:
    """Roads as light lines by rank, or place names as small permanent labels (all escaped).

    Both carry :data:`OSM_ATTRIBUTION` exactly (as the tiles and routed areas do): one copyright
    line on the map; :func:`_extracts_note` names the extracts.
    """
    attribution = OSM_ATTRIBUTION
    if kind == "places":
        data = gpd.GeoDataFrame(
            {"name": layer["name"].map(esc)}, geometry=layer.geometry.to_numpy(), crs="EPSG:4326"
        )
        return folium.GeoJson(
            data.__geo_interface__,
            name="Basemap: places",
            marker=folium.CircleMarker(radius=2, fill=True, weight=0),
            style_function=lambda _f: {"fillColor": "#6e6a62", "fillOpacity": 0.9},
            tooltip=folium.GeoJsonTooltip(
                fields=["name"],
                labels=False,
                permanent=True,
                direction="right",
                class_name="trialreach-place-label",
            ),
            control=False,
            attribution=attribution,
        )
    data = gpd.GeoDataFrame(
        {
            "rank": layer["rank"].astype(int).to_numpy(),
            "name": layer["name"].map(esc).to_numpy() if "name" in layer else "",
        },
        geometry=layer.geometry.to_numpy(),
        crs="EPSG:4326",
    ).sort_values("rank", ascending=False, kind="stable")
    return folium.GeoJson(
        data.__geo_interface__,
        name="Basemap: roads",
        style_function=lambda f: {
            "color": ROAD_STYLE.get(int(f["properties"]["rank"]), ("#d6d0c4", 0.9))[0],
            "weight": ROAD_STYLE.get(int(f["properties"]["rank"]), ("#d6d0c4", 0.9))[1],
            "opacity": 0.95,
        },
        control=False,
        attribution=attribution,
        interactive=False,
    )


class _OutlineFallback(MacroElement):
    """JavaScript: on the first tile error, show the outline layer on a light background."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var shown = false;
            {{ this.tiles.get_name() }}.on("tileerror", function () {
                if (shown) { return; }
                shown = true;
                {{ this.map.get_name() }}.getContainer().style.background = "{{ this.background }}";
                {{ this.outlines.get_name() }}.addTo({{ this.map.get_name() }});
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, m: folium.Map, tiles: folium.TileLayer, outlines: folium.FeatureGroup):
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "OutlineFallback"
        self.map = m
        self.tiles = tiles
        self.outlines = outlines
        self.background = BASEMAP_BACKGROUND


NO_ROADS_NOTE = (
    "No local road data in this area: only state and county lines are drawn. "
    "Roads and place names appear where a local road graph covers."
)
