"""The product's maps in Chromium, opened from a file: clustered batches, hostile text, no network.

Each map is built by geo.mapping, written to a temporary HTML file and opened offline: nothing may
be requested from the network (Leaflet and its cluster plugin are inlined), no script error may
occur, and text that would set ``window.__pwned`` if it ran must show as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from playwright.sync_api import Page, expect

from geo.mapping import batch_map, coordinator_map
from geo.types import LonLat
from geo.wording import VERDICT_COLORS

PAYLOAD = "P ${window.__pwned=1} `+(window.__pwned=2)+` <img src=x onerror=window.__pwned=3>"


def _open(page: Page, tmp_path: Path, html: str) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if r.url.startswith("http") else None)
    path = tmp_path / "map.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    expect(page.locator(".leaflet-container")).to_be_visible(timeout=30_000)
    return errors, requests


def _batch(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    verdict = rng.choice(["within", "borderline", "outside", "unknown"], n, p=[0.6, 0.1, 0.2, 0.1])
    xy = np.c_[-83.0 + rng.normal(0, 0.3, n), 40.0 + rng.normal(0, 0.3, n)]
    return gpd.GeoDataFrame(
        {
            "row": np.arange(1, n + 1),
            "place": [f"{PAYLOAD} #{i}" for i in range(n)],
            "verdict": verdict,
            "drive_min": rng.uniform(10, 200, n),
            "engine": np.where(np.arange(n) % 10 == 0, "estimate", "osrm · demo"),
        },
        geometry=shapely.points(xy),
        crs="EPSG:4326",
    )


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"Site {PAYLOAD}"]}, geometry=[shapely.Point(-83.0, 40.0)], crs="EPSG:4326"
    )


def test_clustered_batch_offline_counts_add_up(page: Page, tmp_path: Path) -> None:
    results = _batch(300)
    errors, requests = _open(
        page, tmp_path, batch_map(results, _sites(), tiles="none").get_root().render()
    )
    clusters = page.locator(".trialreach-cluster")
    expect(clusters.first).to_be_visible()
    # every row is either a lone dot or counted in exactly one cluster
    counts = [int(t) for t in clusters.locator("span").all_inner_texts()]
    lone = page.locator("path.leaflet-interactive").count()
    assert sum(counts) + lone == len(results), (sum(counts), lone)
    titles = [
        clusters.nth(i).locator("div").get_attribute("title") or "" for i in range(clusters.count())
    ]
    for verdict in ("within", "borderline", "outside", "unknown"):
        in_groups = sum(int(n) for t in titles for n in re.findall(rf"(\d+) {verdict}", t))
        color = VERDICT_COLORS[verdict]
        alone = page.locator(f'path.leaflet-interactive[fill="{color}"]').count()
        assert in_groups + alone == int((results["verdict"] == verdict).sum()), verdict
    assert any("ESTIMATE" in t for t in titles)  # every tenth row is an estimate
    legend = page.get_by_test_id("map-legend")
    expect(legend).to_contain_text("ESTIMATE, not routed (30)")
    expect(page.get_by_test_id("cluster-note")).to_be_visible()
    biggest = int(np.argmax(counts))
    clusters.nth(biggest).click()  # zooms in: the group splits
    page.wait_for_timeout(800)
    after = [int(t) for t in page.locator(".trialreach-cluster span").all_inner_texts()]
    assert max(after, default=0) < counts[biggest]  # the biggest group split as the map zoomed
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not errors, errors
    assert not requests, requests


def test_batch_dot_tooltip_shows_hostile_text_as_text(page: Page, tmp_path: Path) -> None:
    results = _batch(6)
    errors, requests = _open(
        page, tmp_path, batch_map(results, _sites(), tiles="none").get_root().render()
    )
    dots = page.locator("path.leaflet-interactive")
    expect(dots).to_have_count(6)
    dots.first.hover()
    tip = page.locator(".leaflet-tooltip").first
    expect(tip).to_be_visible()
    assert PAYLOAD in tip.inner_text()
    assert tip.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not errors, errors
    assert not requests, requests


def test_unreachable_tiles_swap_in_outlines_with_the_no_roads_note(
    page: Page, tmp_path: Path
) -> None:
    """Tiles fail (offline): the outline basemap replaces them and, with no road data in view,
    the note says why the map shows only state and county lines."""
    outline = gpd.GeoDataFrame(
        {"name": ["Box"]}, geometry=[shapely.box(-100, 30, -70, 45)], crs="EPSG:4326"
    )
    page.route("http*://**", lambda route: route.abort())
    m = batch_map(_batch(6), _sites(), tiles="osm", boundaries=(outline,))
    errors, _ = _open(page, tmp_path, m.get_root().render())
    note = page.get_by_test_id("basemap-note")
    expect(note).to_be_visible(timeout=10_000)
    expect(note).to_contain_text("No local road data in this area")
    assert not errors, errors


def test_a_place_at_the_site_is_drawn_above_the_site_pin(page: Page, tmp_path: Path) -> None:
    """A lodging at the hospital's own address: its dot must not hide under the pin."""
    sites = _sites()
    results = _batch(3)
    results["geometry"] = [sites.geometry.iloc[0]] * 3  # all three exactly at the site
    errors, _ = _open(page, tmp_path, batch_map(results, sites, tiles="none").get_root().render())
    dot = page.locator("path.leaflet-interactive").first
    expect(dot).to_be_visible()
    box = dot.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    on_top = page.evaluate(f"document.elementFromPoint({x}, {y}).tagName.toLowerCase()")
    assert on_top == "path", on_top  # the dot, not the pin's <img>
    assert not errors, errors


def test_the_checked_place_at_the_site_is_drawn_above_the_pin(page: Page, tmp_path: Path) -> None:
    sites = _sites()
    pt = sites.geometry.iloc[0]
    m = coordinator_map(sites, place=LonLat(pt.x, pt.y), place_label="Guest house", tiles="none")
    errors, requests = _open(page, tmp_path, m.get_root().render())
    dot = page.locator("path.leaflet-interactive").first
    expect(dot).to_be_visible()
    box = dot.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).tagName.toLowerCase()") == "path"
    assert not errors, errors
    assert not requests, requests
