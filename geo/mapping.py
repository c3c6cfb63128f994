"""Folium maps as pure functions of results: sites, isochrones, a place, a route, coverage.

Every map built here

* loads Leaflet and jQuery from the app itself (inlined ``data:`` URLs made from the PyPI
  packages ``xstatic-leaflet`` and ``xstatic-jquery``), never from a CDN, so a blocked CDN (offline,
  a locked-down hospital network) cannot make the map vanish (:func:`make_offline`);
* uses only plain Leaflet layers (GeoJSON, CircleMarker, Marker with an inlined icon, PolyLine):
  no awesome-markers, no plugins, no branca colour maps (their scripts come from CDNs);
* escapes every site name, address and label put into a tooltip, popup or layer name for both
  contexts it lands in — HTML and the JavaScript template literal folium wraps it in (:func:`esc`);
* has a basemap: OpenStreetMap tiles with attribution (``tiles="osm"``), or with ``tiles="none"``
  a light outline of state and county boundaries passed in by the caller, so the map still
  orients the user where no tile server is reachable.

The builders take plain data (GeoDataFrames in EPSG:4326, :class:`~geo.types.LonLat`, shapely
lines) and return a :class:`folium.Map`; they never read files other than the shipped Leaflet
assets, never route and never geocode.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry.base import BaseGeometry

from geo.errors import ValidationError
from geo.types import LonLat
from geo.wording import VERDICT_COLORS, format_minutes

TILES = ("osm", "none")
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
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

_SITE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="40" viewBox="0 0 28 40">'
    '<path d="M14 1C7 1 1.5 6.5 1.5 13.5 1.5 23 14 39 14 39s12.5-16 12.5-25.5C26.5 6.5 21 1 14 1z"'
    ' fill="{fill}" stroke="#ffffff" stroke-width="2"/>'
    '<rect x="11.5" y="6.5" width="5" height="14" fill="#ffffff"/>'
    '<rect x="7" y="11" width="14" height="5" fill="#ffffff"/></svg>'
)


# --------------------------------------------------------------------------------------------
# Assets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeafletAssets:
    """Leaflet and jQuery as ``data:`` URLs (CSS images inlined too)."""

    leaflet_js: str
    jquery_js: str
    leaflet_css: str
    leaflet_version: str
    jquery_version: str


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@lru_cache(maxsize=1)
def leaflet_assets() -> LeafletAssets:
    """The shipped Leaflet (``xstatic-leaflet``) and jQuery (``xstatic-jquery``), inlined.

    Image references in ``leaflet.css`` (the layer-control icon, the default marker) are inlined
    as well: with the stylesheet itself a ``data:`` URL, relative image paths could not resolve.
    """
    import xstatic.pkg.jquery as xjquery
    import xstatic.pkg.leaflet as xleaflet

    leaflet_dir = Path(xleaflet.BASE_DIR)
    jquery_dir = Path(xjquery.BASE_DIR)
    css = (leaflet_dir / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = leaflet_dir / match.group(1)
        if not image.is_file():
            return match.group(0)
        return f"url({_data_url(image.read_bytes(), 'image/png')})"

    css = re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", inline, css)
    return LeafletAssets(
        leaflet_js=_data_url((leaflet_dir / "leaflet.js").read_bytes(), "text/javascript"),
        jquery_js=_data_url((jquery_dir / "jquery.min.js").read_bytes(), "text/javascript"),
        leaflet_css=_data_url(css.encode("utf-8"), "text/css"),
        leaflet_version=str(xleaflet.VERSION),
        jquery_version=str(xjquery.VERSION),
    )


def make_offline(m: folium.Map) -> folium.Map:
    """Make ``m`` load Leaflet and jQuery from inlined copies, and nothing from a CDN.

    folium's defaults also pull Bootstrap, Font Awesome and awesome-markers from CDNs; they are
    dropped (nothing built here needs them).
    """
    assets = leaflet_assets()
    m.default_js = [("leaflet", assets.leaflet_js), ("jquery", assets.jquery_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css)]
    return m


def site_icon(color: str = "#0a3069") -> folium.CustomIcon:
    """A hospital pin (white cross on ``color``) as an inlined SVG icon."""
    if not re.fullmatch(r"#[0-9a-fA-F]{3,8}", color):
        raise ValidationError(f"icon colour must be a hex colour like '#0a3069', got {color!r}")
    svg = _SITE_SVG.replace("{fill}", color)
    return folium.CustomIcon(
        _data_url(svg.encode("utf-8"), "image/svg+xml"),
        icon_size=(28, 40),
        icon_anchor=(14, 39),
        popup_anchor=(0, -34),
    )


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------
_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
"""Characters that mean something inside a JavaScript template literal, as HTML entities."""


def esc(value: object) -> str:
    """Text made safe for a tooltip or popup (None/NaN → empty).

    Folium puts tooltip and popup content inside JavaScript template literals (`` `…` ``)
    that Leaflet then renders as HTML, so the text is escaped for both contexts: HTML
    (``< > & " '``) and the template literal (backtick, ``$`` of ``${…}``, backslash), the latter
    as HTML character references, which the browser shows as the characters themselves.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_LITERAL)


def _contour_label(minutes: float) -> str:
    if float(minutes) % 60 == 0:
        hours = int(minutes // 60)
        return f"within {hours} hour{'s' if hours != 1 else ''} by car"
    return f"within {format_minutes(minutes)} by car"


# --------------------------------------------------------------------------------------------
# Base map
# --------------------------------------------------------------------------------------------
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
    outlines = _outline_layer(boundaries, view, show=(tiles == "none"))
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
    m.fit_bounds([[view[1], view[0]], [view[3], view[2]]])
    return make_offline(m)


def _light_background(m: folium.Map) -> None:
    style = f"<style>.leaflet-container {{ background: {BASEMAP_BACKGROUND} !important; }}</style>"
    root: Any = m.get_root()
    root.header.add_child(folium.Element(style))


def _outline_layer(
    boundaries: Sequence[gpd.GeoDataFrame], view: Bounds, show: bool
) -> folium.FeatureGroup | None:
    """County and state lines clipped to the view, as one layer (None without boundaries)."""
    if not boundaries:
        return None
    group = folium.FeatureGroup(name="Basemap: outlines", control=False, show=show)
    widths = [0.6, 1.4]
    colors = ["#c9c4b8", "#8c8577"]
    names = ["Counties", "States"]
    added = False
    outline_index = 0
    for layer in boundaries:
        kind = layer.attrs.get("basemap", "")
        clipped = clip_boundaries(layer, view, margin_deg=0.3 if kind else 1.0)
        if clipped is None:
            continue
        span_deg = max(view[2] - view[0], view[3] - view[1])
        if kind == "places" and span_deg > PLACE_LABEL_MAX_SPAN_DEG:
            continue  # permanent labels only at city/region zoom (they would clutter a state)
        if kind:  # roads and place names from the OSM extracts (geo.basemap)
            _basemap_layer(clipped, str(kind)).add_to(group)
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
    return group if added else None


PLACE_LABEL_MAX_SPAN_DEG = 3.0
"""Place names are drawn only on maps showing at most this many degrees across."""

ROAD_STYLE = {0: ("#c8a26a", 2.6), 1: ("#c8a26a", 2.2), 2: ("#b8b0a0", 1.8), 3: ("#c4bdb0", 1.3)}
"""Road rank (geo.basemap.ROAD_RANKS) → (colour, weight px); others are thin light grey."""


def _basemap_layer(layer: gpd.GeoDataFrame, kind: str) -> folium.GeoJson:
    """Roads as light lines by rank, or place names as small permanent labels (all escaped)."""
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
            attribution=OSM_ATTRIBUTION,
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
        attribution=OSM_ATTRIBUTION,
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


class _Legend(MacroElement):
    """A Leaflet control (bottom right) holding pre-escaped legend HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "trialreach-legend");
                div.setAttribute("data-testid", "map-legend");
                div.style.cssText = "background: rgba(255,255,255,.92); padding: 6px 9px; "
                    + "font: 12px/1.35 sans-serif; border-radius: 4px; "
                    + "box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 260px;";
                div.innerHTML = {{ this.content_json }};
                return div;
            };
            legend.addTo({{ this.map.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, m: folium.Map, content_html: str):
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.map = m
        # JSON with < > & escaped as \u003c etc.: the HTML cannot close the script element.
        self.content_json = (
            json.dumps(content_html)
            .replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
        )


def isochrone_legend_html(isochrones: gpd.GeoDataFrame) -> str:
    """Legend rows for drawn drive-time areas: one swatch per contour, routed vs estimate.

    Swatches use the colours :func:`add_isochrones` draws with; an estimated area is a dashed
    swatch labelled "estimate"; areas cut by the end of the road data get a note.
    """
    geoms = isochrones.geometry
    iso = isochrones[(~geoms.isna() & ~geoms.is_empty).to_numpy()]
    if len(iso) == 0:
        return ""
    contours = sorted({float(v) for v in iso["minutes"]})
    approx = (
        iso["approximate"].fillna(False).astype(bool).to_numpy()
        if "approximate" in iso
        else np.zeros(len(iso), dtype=bool)
    )
    minutes_col = iso["minutes"].astype(float).to_numpy()
    rows = ["<b>Drive-time areas</b>"]
    for i, c in enumerate(contours):
        color = ISOCHRONE_COLORS[min(i, len(ISOCHRONE_COLORS) - 1)]
        for is_est in (False, True):
            if not bool((approx[minutes_col == c] == is_est).any()):
                continue
            border = f"2px {'dashed' if is_est else 'solid'} {color}"
            kind = "ESTIMATE, not routed" if is_est else "routed on OSM roads"
            rows.append(
                f'<span style="display:inline-block;width:18px;height:10px;border:{border};'
                f'background:{color}2e;vertical-align:middle;margin-right:5px"></span>'
                f"{esc(_contour_label(c))} — {esc(kind)}"
            )
    edge = (
        bool(iso["touches_data_edge"].fillna(False).astype(bool).any())
        if "touches_data_edge" in iso
        else False
    )
    if edge:
        rows.append(
            '<span data-testid="edge-note" style="color:#9a6700">&#9888; Straight, blocky edges: '
            "the road data ends there; the real area is larger.</span>"
        )
    return "<br>".join(rows)


def add_legend(m: folium.Map, content_html: str) -> None:
    """Add a legend box (``content_html`` must already be escaped) unless it is empty."""
    if content_html:
        _Legend(m, content_html).add_to(m)


def batch_map(
    results: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
) -> folium.Map:
    """Batch results as dots coloured by verdict (estimated rows ringed amber) and the sites.

    ``results`` needs ``verdict`` and point geometry (rows without a location are skipped),
    optionally ``place``, ``row``, ``drive_min`` and ``engine``. All rows go into one GeoJSON
    layer per verdict (built column-wise, no per-row markers), so thousands of rows stay light.
    """
    geoms = results.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    pts = results[ok]
    bounds = _bounds_of(list(pts.geometry) + list(sites.geometry))
    m = base_map(bounds, tiles, boundaries)
    if len(pts):
        verdict = pts["verdict"].astype(str).to_numpy()
        est = estimated_mask(pts)
        place = pts["place"].astype(str) if "place" in pts else pd.Series("", index=pts.index)
        row_no = pts["row"].astype(str) if "row" in pts else pd.Series("", index=pts.index)
        drive = pts["drive_min"] if "drive_min" in pts else pd.Series(np.nan, index=pts.index)
        label = [
            esc(
                f"Row {r}: {p} — {v}"
                + (f", {format_minutes(d)}" if np.isfinite(d) else "")
                + (" (ESTIMATE)" if e else "")
            )
            for r, p, v, d, e in zip(
                row_no, place, verdict, drive.to_numpy(float), est, strict=True
            )
        ]
        data = gpd.GeoDataFrame(
            {"label": label, "verdict": verdict, "estimated": est},
            geometry=pts.geometry.to_numpy(),
            crs="EPSG:4326",
        )
        for key in ("unknown", "outside", "borderline", "within"):
            part = data[data["verdict"] == key]
            if len(part) == 0:
                continue
            color = VERDICT_COLORS.get(key, "#57606a")
            folium.GeoJson(
                part.__geo_interface__,
                name=f"Places: {key}",
                style_function=lambda f, c=color: {
                    "color": ESTIMATE_COLOR if f["properties"]["estimated"] else "#ffffff",
                    "weight": 2.5 if f["properties"]["estimated"] else 1,
                    "dashArray": "3 2" if f["properties"]["estimated"] else None,
                    "fillColor": c,
                    "fillOpacity": 0.9,
                },
                marker=folium.CircleMarker(radius=6, fill=True),
                tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
            ).add_to(m)
    add_sites(m, sites)
    rows = ["<b>Places</b>"] + [
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'background:{VERDICT_COLORS[v]};margin-right:5px"></span>{esc(v)}'
        for v in ("within", "borderline", "outside", "unknown")
    ]
    rows.append(
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'border:2px dashed {ESTIMATE_COLOR};margin-right:5px"></span>estimate (not routed)'
    )
    add_legend(m, "<br>".join(rows))
    return m


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


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------
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
) -> folium.Map:
    """The lodging check: the site, its drive-time areas, the lodging and the route.

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
    names = [str(n) for n in site["name"]] if "name" in site else None
    if isochrones is not None:
        add_isochrones(m, isochrones, names)
        add_legend(m, isochrone_legend_html(isochrones))
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
) -> folium.Map:
    """A place and the nearest sites (pins coloured by verdict) with their drive-time areas.

    ``isochrones.point_index`` refers to rows of ``ranked_sites`` (in order). The view covers
    the place and its ``zoom_to_sites`` nearest sites.
    """
    near = ranked_sites.head(zoom_to_sites)
    geoms: list[BaseGeometry] = list(near.geometry)
    if place is not None:
        geoms.append(shapely.Point(place.lon, place.lat))
    if isochrones is not None and len(isochrones):
        geoms += list(isochrones.geometry)
    m = base_map(_bounds_of(geoms), tiles, boundaries)
    names = [str(n) for n in ranked_sites["name"]] if "name" in ranked_sites else None
    if isochrones is not None:
        add_isochrones(m, isochrones, names)
        add_legend(m, isochrone_legend_html(isochrones))
    if "verdict" in ranked_sites:
        for verdict, part in ranked_sites.groupby("verdict", sort=False):
            color = VERDICT_COLORS.get(str(verdict), "#0a3069")
            add_sites(m, part, name=f"Sites: {verdict}", color=color)
    else:
        add_sites(m, ranked_sites)
    if place is not None:
        add_place(m, place, place_label)
    return m


def coverage_map(
    units: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    suggested: gpd.GeoDataFrame | None = None,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
    max_units: int = 4000,
) -> folium.Map:
    """Population units shaded by coverage (within / outside / unknown), sites and suggestions.

    ``units`` needs ``name``, ``population``, ``within_rule`` (nullable boolean), and polygon or
    point geometry; the most populous ``max_units`` are drawn (the caller says so if cut).
    """
    if len(units) > max_units:
        units = units.nlargest(max_units, "population")
    status = np.where(
        units["within_rule"].isna().to_numpy(),
        "unknown",
        np.where(units["within_rule"].fillna(False).astype(bool).to_numpy(), "within", "outside"),
    )
    drive = units["duration_min"] if "duration_min" in units else pd.Series(np.nan, units.index)
    label = [
        esc(f"{n}: {int(p):,} people — {s}" + (f", {format_minutes(t)}" if np.isfinite(t) else ""))
        for n, p, s, t in zip(
            units["name"], units["population"], status, drive.to_numpy(float), strict=True
        )
    ]
    data = gpd.GeoDataFrame(
        {"label": label, "status": status, "population": units["population"].astype(float)},
        geometry=units.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    geoms: list[BaseGeometry] = list(sites.geometry)
    if suggested is not None:
        geoms += list(suggested.geometry)
    covered_bounds = _bounds_of(geoms) or _bounds_of(list(data.geometry))
    m = base_map(covered_bounds, tiles, boundaries)
    for key in ("outside", "unknown", "within"):
        part = data[data["status"] == key]
        if len(part) == 0:
            continue
        color = BAND_COLORS[key]
        polygonal = part.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
        folium.GeoJson(
            part.__geo_interface__,
            name=f"Population: {key}",
            style_function=lambda _f, c=color: {
                "color": c,
                "weight": 0.3,
                "fillColor": c,
                "fillOpacity": 0.45,
            },
            marker=None
            if polygonal
            else folium.CircleMarker(radius=3, fill=True, fill_color=color, weight=0),
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
        ).add_to(m)
    add_sites(m, sites)
    if suggested is not None and len(suggested):
        add_sites(m, suggested, name="Suggested sites", color="#8250df")
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


__all__ = [
    "BAND_COLORS",
    "ESTIMATE_COLOR",
    "OSM_ATTRIBUTION",
    "TILES",
    "LeafletAssets",
    "add_isochrones",
    "add_legend",
    "add_place",
    "add_points",
    "add_route",
    "add_sites",
    "base_map",
    "batch_map",
    "clip_boundaries",
    "coordinator_map",
    "coverage_map",
    "esc",
    "estimated_mask",
    "isochrone_legend_html",
    "leaflet_assets",
    "make_offline",
    "map_summary",
    "patient_map",
    "site_icon",
]
