"""Hostile names in a real browser: a map built from them runs none of them and shows them as text.

The map is the product's own (geo.mapping.coordinator_map, offline Leaflet inlined), written to a
temporary HTML file and opened in Chromium. Each payload would set ``window.__pwned`` if it ran.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from playwright.sync_api import Page, expect
from shapely import Point

from geo.mapping import coordinator_map
from geo.types import LonLat

PAYLOADS = [
    "${window.__pwned=1}",
    "`+(window.__pwned=2)+`",
    "</script><script>window.__pwned=3</script>",
    '<img src=x onerror="window.__pwned=4">',
    "\\`;window.__pwned=5;`",
    "\\x3cimg src=x onerror=window.__pwned=6>",
]
SITE_NAME = "Site " + " ".join(PAYLOADS)
PLACE_NAME = "Lodging ${window.__pwned=7} `x` <b>bold?</b>"


def _map_file(tmp_path: Path) -> Path:
    site = gpd.GeoDataFrame(
        {"site_id": ["S1"], "name": [SITE_NAME], "address": [PAYLOADS[3]], "city": ["Columbus"]},
        geometry=[Point(-83.0, 39.99)],
        crs="EPSG:4326",
    )
    m = coordinator_map(site, place=LonLat(-83.05, 39.95), place_label=PLACE_NAME, tiles="none")
    path = tmp_path / "hostile-map.html"
    path.write_text(m.get_root().render(), encoding="utf-8")
    return path


def test_hostile_names_render_as_text(page: Page, tmp_path: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(_map_file(tmp_path).as_uri())
    expect(page.locator(".leaflet-container")).to_be_visible(timeout=30_000)
    marker = page.locator("img.leaflet-marker-icon")
    expect(marker).to_have_count(1)
    marker.click()  # open the site's popup
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_be_visible()
    assert SITE_NAME in popup.inner_text().replace("\n", " ")
    assert popup.locator("img, script").count() == 0
    marker.hover()  # the site's tooltip
    tooltip = page.locator(".leaflet-tooltip").filter(has_text="Site")
    expect(tooltip.first).to_be_visible()
    assert SITE_NAME in tooltip.first.inner_text()
    page.locator("path.leaflet-interactive").last.hover()  # the lodging's tooltip
    expect(page.get_by_text(PLACE_NAME, exact=False).first).to_be_attached()
    assert page.locator(".leaflet-tooltip b, .leaflet-popup b:not(:first-child)").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not errors, errors
