"""Leaflet, jQuery and the site pin inlined as ``data:`` URLs: maps load nothing from a CDN."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import folium

from geo.errors import ValidationError

_SITE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="40" viewBox="0 0 28 40">'
    '<path d="M14 1C7 1 1.5 6.5 1.5 13.5 1.5 23 14 39 14 39s12.5-16 12.5-25.5C26.5 6.5 21 1 14 1z"'
    ' fill="{fill}" stroke="#ffffff" stroke-width="2"/>'
    '<rect x="11.5" y="6.5" width="5" height="14" fill="#ffffff"/>'
    '<rect x="7" y="11" width="14" height="5" fill="#ffffff"/></svg>'
)


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


@lru_cache(maxsize=1)
def markercluster_assets() -> tuple[str, str]:
    """Leaflet.markercluster (``xstatic-leaflet-markercluster``) as ``data:`` URLs: (js, css).

    Only ``MarkerCluster.css`` (the animations) is inlined; cluster icons are drawn by the caller.
    """
    import xstatic.pkg.leaflet_markercluster as xcluster

    folder = Path(xcluster.BASE_DIR)
    return (
        _data_url((folder / "leaflet.markercluster.js").read_bytes(), "text/javascript"),
        _data_url((folder / "MarkerCluster.css").read_bytes(), "text/css"),
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
