"""The tasks of their own in a real browser: lodging near a site, the patient ranking, the
planner's exports — each download read back and checked against an independent answer.

Screenshots go to a temporary folder (``TRIALREACH_SCREENSHOT_DIR`` for
``docs/screenshots/refresh.py``), never over tracked files.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from .app_server import SLOW, map_frame, shot, watch_errors


def _open(page: Page, app_url: str, path: str) -> None:
    """Open a page by its link (deep links work on a fresh server too: test_deep_links.py)."""
    page.goto(f"{app_url}{path}")


def _download(page: Page, label: str, folder: Path) -> bytes:
    button = page.get_by_role("button", name=label, exact=True)
    expect(button).to_be_visible(timeout=SLOW)
    with page.expect_download(timeout=SLOW) as download:
        button.click()
    path = folder / download.value.suggested_filename
    download.value.save_as(path)
    return path.read_bytes()


def test_lodging_page_in_browser(page: Page, app_url: str, tmp_path: Path) -> None:
    """Opened as the coordinator page links it (?site=), routed on the demo graph; the CSV
    export's drive times equal OSRM's own single route from each place to the site."""
    from geo.types import LonLat
    from trialreach import api

    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 2000})
    _open(page, app_url, "/lodging?site=DEMO-JAMES")
    expect(page.get_by_text("Lodging near a study site")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(re.compile(r"12 OpenStreetMap place")).first).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_text("OSU Arthur G. James Cancer Hospital").first).to_be_visible()
    expect(page.get_by_text("OpenStreetMap data of 2015-02-07").first).to_be_visible()
    frame = map_frame(page)
    expect(frame.locator("img.leaflet-marker-icon")).to_have_count(1)  # the site
    shot(page, "lodging.png")

    raw = _download(page, "Download CSV", tmp_path)
    table = pd.read_csv(io.BytesIO(raw), keep_default_na=False)
    assert len(table) == 12 and not table["Contracted"].any()
    assert not table["Name"].str.contains("unnamed").any()
    # The four unnamed airport hotels: told apart by their coordinates.
    assert table["Name"].str.startswith("hotel on International Gateway (").sum() == 4
    assert table["Name"].is_unique
    assert (table["verdict"] == "within").all() and not table["estimated"].any()
    hyatt = table[table["Name"] == "Hyatt Place"].iloc[0]
    # OSM's "+1-614-280-1234" written the US way: no leading "+" for the CSV to neutralise.
    assert hyatt["Phone"] == "(614) 280-1234"
    assert hyatt["Website"] == "http://columbusosu.place.hyatt.com/"
    # Independent reference: OSRM's single route (its table equals its route exactly).
    sites = api.load_sites("demo").set_index("site_id")
    james = sites.loc["DEMO-JAMES"].geometry
    osrm = api.open_engine("osrm")
    for _, row in table.head(3).iterrows():
        route = osrm.route(LonLat(row["lon"], row["lat"]), LonLat(james.x, james.y))
        assert row["Drive (min)"] == pytest.approx(route.duration_s / 60.0, abs=0.051)
    assert not errors, errors


def test_patient_ranking_in_browser(page: Page, app_url: str) -> None:
    """From the OSU ZIP: the James first and within; the Pennsylvania sites, which no road
    data joins to Columbus, answered by estimate and marked so."""
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    _open(page, app_url, "/patient")
    place = page.get_by_role("textbox", name="Your address, ZIP code or town")
    expect(place).to_be_visible(timeout=SLOW)
    place.fill("43210")
    page.get_by_role("button", name="Find sites").click()
    expect(page.get_by_text("The nearest site is OSU Arthur G. James").first).to_be_visible(
        timeout=SLOW
    )
    verdicts = re.compile(r"^\s*(Within the rule|Borderline|Outside the rule|Unknown)")
    ranking = page.get_by_test_id("stMarkdown").filter(has_text=verdicts)
    expect(ranking.first).to_contain_text("OSU Arthur G. James Cancer Hospital")
    texts = ranking.all_inner_texts()
    assert len(texts) == 3, texts
    assert "ESTIMATE" not in texts[0]
    assert all("ESTIMATE" in t and "(estimate)" in t for t in texts[1:]), texts
    assert all("Outside the rule" in t or "Borderline" in t for t in texts[1:]), texts
    frame = map_frame(page)
    expect(frame.locator("img.leaflet-marker-icon").first).to_be_visible(timeout=SLOW)
    assert not errors, errors


def test_planner_exports_in_browser(page: Page, app_url: str, tmp_path: Path) -> None:
    """Coverage of the demo sites by county: the gaps in CSV, GeoJSON and GeoPackage hold the
    same units, whose people add up to the page's 'Beyond the limit' + 'Unknown'."""
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 2200})
    _open(page, app_url, "/planner")
    button = page.get_by_role("button", name="Compute coverage")
    expect(button).to_be_visible(timeout=SLOW)
    button.click()
    expect(page.get_by_text("People within the rule")).to_be_visible(timeout=SLOW)
    metrics = dict(
        zip(
            page.get_by_test_id("stMetricLabel").all_inner_texts(),
            page.get_by_test_id("stMetricValue").all_inner_texts(),
            strict=True,
        )
    )
    # Thousands separators on the headline numbers; the estimate share beside them.
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", metrics["People within the rule"]), metrics
    assert re.fullmatch(r"\d+\.\d%", metrics["Answered by ESTIMATE"]), metrics
    uncovered = sum(
        int(metrics[k].replace(",", "")) for k in ("Beyond the limit", "Unknown (no drive time)")
    )

    csv = pd.read_csv(io.BytesIO(_download(page, "Gaps (CSV)", tmp_path)), dtype={"unit_id": str})
    geojson = json.loads(_download(page, "Gaps (GeoJSON)", tmp_path))
    gpkg_path = tmp_path / "gaps.gpkg"
    gpkg_path.write_bytes(_download(page, "Gaps (GeoPackage)", tmp_path))
    gpkg = gpd.read_file(gpkg_path, layer="gaps")
    assert len(csv) == len(geojson["features"]) == len(gpkg) > 100
    assert csv["population"].sum() == pytest.approx(uncovered, abs=len(csv))  # rounding
    assert set(csv["unit_id"].astype(str)) == set(gpkg["unit_id"].astype(str))
    # No gap is a unit known to lie well within the limit (120 min less the estimate's error).
    assert (csv["duration_min"].isna() | (csv["duration_min"] > 90.0)).all()
    assert gpkg.crs is not None and gpkg.crs.to_epsg() == 4326
    assert not errors, errors
