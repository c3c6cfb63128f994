"""Map builders: layers, GeoJSON contents, offline assets, escaping (no browser needed)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import ValidationError
from geo.mapping import (
    OSM_ATTRIBUTION,
    add_isochrones,
    base_map,
    batch_map,
    coordinator_map,
    coverage_map,
    estimated_mask,
    isochrone_legend_html,
    leaflet_assets,
    patient_map,
)
from geo.routing import get_router
from geo.types import LonLat
from geo.wording import VERDICT_COLORS

EVIL = '<img src=x onerror="alert(1)">'


def _walk(node: object) -> list[object]:
    out: list[object] = []
    for child in node._children.values():  # type: ignore[attr-defined]
        out.append(child)
        out.extend(_walk(child))
    return out


def _of(m: folium.Map, cls: type) -> list:
    return [c for c in _walk(m) if type(c) is cls]


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["A", "B"],
            "name": [f"Site {EVIL}", "Second & Co"],
            "address": ["1 Main St", "2 Oak Ave"],
            "city": ["Columbus", "Dublin"],
            "state": ["OH", "OH"],
        },
        geometry=[shapely.Point(-83.0, 40.0), shapely.Point(-83.1, 40.1)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def iso(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return get_router("estimate").isochrones([(-83.0, 40.0)], [60, 120])


def _outline() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Ohio", "Far away"]},
        geometry=[shapely.box(-85, 38, -80, 42), shapely.box(-120, 30, -119, 31)],
        crs="EPSG:4326",
    )


def test_assets_are_inlined_and_nothing_comes_from_a_cdn(sites, iso) -> None:
    a = leaflet_assets()
    assert a.leaflet_js.startswith("data:text/javascript;base64,")
    assert a.jquery_js.startswith("data:text/javascript;base64,")
    assert a.leaflet_css.startswith("data:text/css;base64,")
    assert a.leaflet_version.startswith("1.9")
    m = coordinator_map(sites.head(1), iso, LonLat(-82.9, 39.9), tiles="none")
    assert [name for name, _ in m.default_js] == ["leaflet", "jquery"]
    html = m.get_root().render()
    urls = set(re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html))
    assert urls == set(), urls
    assert "cdn" not in html.lower()
    assert "awesome-markers" not in html


def test_css_images_inlined() -> None:
    import base64

    css = base64.b64decode(leaflet_assets().leaflet_css.split(",", 1)[1]).decode()
    assert "url(images/" not in css
    assert "url(data:image/png;base64," in css


def test_coordinator_map_layers(sites, iso) -> None:
    route = shapely.LineString([(-82.9, 39.9), (-82.95, 39.95), (-83.0, 40.0)])
    m = coordinator_map(
        sites.head(1),
        iso,
        LonLat(-82.9, 39.9),
        "Lodging: Hotel",
        route,
        "Drive 12 min",
        tiles="none",
    )
    geojsons = [g for g in _of(m, folium.GeoJson) if g.data.get("features")]
    minutes = sorted(
        f["properties"]["minutes"]
        for g in geojsons
        for f in g.data["features"]
        if "minutes" in f["properties"]
    )
    assert minutes == [60.0, 120.0]
    labels = [
        f["properties"]["label"]
        for g in geojsons
        for f in g.data["features"]
        if "minutes" in f["properties"]
    ]
    assert any("Within 2 hours by car" in lbl and "estimate" in lbl for lbl in labels)
    markers = _of(m, folium.Marker)
    assert len(markers) == 1 and markers[0].location == [40.0, -83.0]
    assert [c for c in _walk(markers[0]) if isinstance(c, folium.CustomIcon)]
    circles = _of(m, folium.CircleMarker)
    assert len(circles) == 1 and circles[0].location == [39.9, -82.9]
    (line,) = _of(m, folium.PolyLine)
    assert line.locations == [[39.9, -82.9], [39.95, -82.95], [40.0, -83.0]]


def test_names_are_escaped_everywhere(sites, iso) -> None:
    m = coordinator_map(sites.head(1), iso, LonLat(-82.9, 39.9), f"Lodging: {EVIL}", tiles="none")
    html = m.get_root().render()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    p = patient_map(LonLat(-82.9, 39.9), sites.assign(verdict=["within", "outside"]), iso)
    assert "<img src=x" not in p.get_root().render()


def test_osm_tiles_carry_attribution_and_none_draws_outlines(sites) -> None:
    osm = base_map((-83.2, 39.9, -82.9, 40.1), tiles="osm")
    (tiles,) = _of(osm, folium.TileLayer)
    assert "tile.openstreetmap.org" in tiles.tiles
    assert tiles.options.get("attribution", OSM_ATTRIBUTION) == OSM_ATTRIBUTION or (
        "OpenStreetMap" in osm.get_root().render()
    )
    off = base_map((-83.2, 39.9, -82.9, 40.1), tiles="none", boundaries=[_outline()])
    assert not _of(off, folium.TileLayer)
    (outline,) = _of(off, folium.GeoJson)
    names = [f["properties"]["name"] for f in outline.data["features"]]
    assert names == ["Ohio"]  # clipped to the view: the far-away box is not sent
    assert outline.data["features"][0]["geometry"]["type"] in ("LineString", "MultiLineString")
    with pytest.raises(ValidationError):
        base_map(None, tiles="satellite")


def test_routed_areas_credit_openstreetmap_without_tiles(sites, iso) -> None:
    m = base_map((-83.2, 39.9, -82.9, 40.1), tiles="none", boundaries=[_outline()])
    add_isochrones(m, iso.assign(approximate=False))
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in m.get_root().render()
    est = base_map((-83.2, 39.9, -82.9, 40.1), tiles="none")
    add_isochrones(est, iso.assign(approximate=True))
    assert "OpenStreetMap" not in est.get_root().render()


def test_outline_basemap_replaces_unreachable_tiles(sites) -> None:
    # Online tiles with the outlines held back: shown only if a tile fails to load.
    m = base_map((-83.2, 39.9, -82.9, 40.1), tiles="osm", boundaries=[_outline()])
    (group,) = [g for g in _of(m, folium.FeatureGroup) if g.layer_name == "Basemap: outlines"]
    assert group.show is False
    (outline,) = _of(m, folium.GeoJson)
    assert [f["properties"]["name"] for f in outline.data["features"]] == ["Ohio"]
    html = m.get_root().render()
    (tiles,) = _of(m, folium.TileLayer)
    assert f'{tiles.get_name()}.on("tileerror"' in html
    assert f"{group.get_name()}.addTo(" in html
    # Without boundaries there is nothing to fall back to, and no script.
    assert "tileerror" not in base_map(None, tiles="osm").get_root().render()


def test_patient_map_colours_pins_by_verdict(sites, iso) -> None:
    ranked = sites.assign(verdict=["within", "outside"], drive_min=[20.0, 150.0])
    m = patient_map(LonLat(-82.9, 39.9), ranked, iso)
    groups = {g.layer_name: g for g in _of(m, folium.FeatureGroup)}
    assert {"Sites: within", "Sites: outside"} <= set(groups)
    icons = [c for c in _walk(groups["Sites: outside"]) if isinstance(c, folium.CustomIcon)]
    assert len(icons) == 1
    import base64

    svg = base64.b64decode(icons[0].options["icon_url"].split(",", 1)[1]).decode()
    assert VERDICT_COLORS["outside"] in svg


def test_coverage_map_shades_units(sites) -> None:
    units = gpd.GeoDataFrame(
        {
            "name": ["Near County", "Far County", "Lost County"],
            "population": [1000, 2000, 300],
            "within_rule": np.array([True, False, None], dtype=object),
            "duration_min": [30.0, 200.0, np.nan],
        },
        geometry=[
            shapely.box(-83.1, 39.9, -82.9, 40.1),
            shapely.box(-80, 40, -79, 41),
            shapely.box(-81, 38, -80.5, 38.5),
        ],
        crs="EPSG:4326",
    )
    units["within_rule"] = units["within_rule"].astype("boolean")
    m = coverage_map(units, sites)
    layers = {g.layer_name: g for g in _of(m, folium.GeoJson) if g.layer_name.startswith("Pop")}
    assert set(layers) == {"Population: within", "Population: outside", "Population: unknown"}
    within = layers["Population: within"].data["features"]
    assert [f["properties"]["label"] for f in within] == [
        "Near County: 1,000 people — within, 30 min"
    ]


def test_record_html_has_what_a_monitor_needs() -> None:
    from appkit.record import CheckRecord, record_html
    from geo.rules import get_rule
    from geo.types import EngineInfo, GeocodeResult, Precision

    rec = CheckRecord(
        checked_at=datetime(2026, 11, 25, 9, 30),
        address=f"12 Elm St {EVIL}",
        geocode=GeocodeResult(LonLat(-92.47, 44.02), Precision.ZIP, "ZIP centroid", "55902"),
        rule=get_rule("resolution"),
        verdict="within",
        drive_min=14.2,
        spare_min=105.8,
        site_name="Mayo Clinic (Rochester)",
        site_id="RES-MAYO-RST",
        site_address="200 First St SW, Rochester, MN",
        basis="routed drive time",
        reason="",
        engine=EngineInfo("valhalla", "OSM extract demo of 2015-02-07", data_date="2015-02-07"),
        engine_description="valhalla — OSM extract demo of 2015-02-07",
        site_set="resolution",
    )
    html = record_html(rec)
    for text in (
        "2026-11-25 09:30",
        "Mayo Clinic (Rochester)",
        "14 min",
        "1 h 46 min",
        "NCT07085104",
        "2015-02-07",
        "Within the rule",
        "could be off by several km",
    ):
        assert text in html, text
    assert "<img src=x" not in html and "<script" not in html
    assert "44.02000, -92.47000 — ZIP code centroid: could be off by several km" in html
    assert "(source: ZIP centroid)" in html
    # Typed coordinates: said once, not "coordinates: coordinates as given: exact (source:
    # coordinates)".
    exact = GeocodeResult(LonLat(-83.0, 39.99), Precision.COORDINATES, "coordinates", "39.99")
    html = record_html(replace(rec, geocode=exact))
    assert "39.99000, -83.00000 — coordinates as given: exact</td>" in html


def test_record_takes_every_verdict_field_from_the_answer() -> None:
    """Issue 12: under `auto`, an estimated answer was recorded as "no — routed" with the
    rule's 10-min margin although its verdict used 30. The reference is check()'s own row."""
    import geopandas as gpd
    from shapely import Point

    from appkit.record import CheckRecord, record_html
    from geo.proximity import check
    from geo.routing import get_router
    from geo.rules import get_rule
    from geo.types import EngineInfo, GeocodeResult, Precision
    from sites import load_site_set

    rule = get_rule("resolution")
    place = gpd.GeoDataFrame(
        {"precision": ["coordinates"], "error": [""]},
        geometry=[Point(-83.5, 40.3)],
        crs="EPSG:4326",
    )
    row = check(place, load_site_set("demo"), rule, get_router("estimate")).iloc[0]
    assert row["margin_min"] > rule.margin_min  # the estimate's widened margin
    rec = CheckRecord.from_answer(
        row,
        checked_at=datetime(2026, 11, 25, 9, 30),
        address="somewhere",
        geocode=GeocodeResult(LonLat(-83.5, 40.3), Precision.COORDINATES, "coordinates", ""),
        rule=rule,
        site_address="",
        # what the auto router says about itself: not an estimate (its rows may be)
        engine=EngineInfo("auto", "valhalla where covered", data_date="2015-02-07"),
        engine_description="auto: valhalla, then estimate",
        site_set="demo",
    )
    html = record_html(rec)
    assert "yes — approximate" in html and "no — routed" not in html
    assert f"margin {row['margin_min']:g} min" in html
    assert f"margin {rule.margin_min:g} min)" not in html
    assert rec.verdict == row["verdict"] and rec.drive_min == row["drive_min"]
    assert rec.spare_min == row["spare_min"] and rec.site_id == row["nearest_site_id"]


def test_legend_names_contours_and_says_estimate(sites, iso) -> None:
    # The estimate's areas: one dashed swatch per contour, labelled as not routed.
    text = isochrone_legend_html(iso)
    assert text.count("dashed") == 2 and "solid" not in text
    assert "within 1 hour by car" in text and "within 2 hours by car" in text
    assert text.count("ESTIMATE, not routed") == 2
    assert "edge-note" not in text
    # A routed area cut by the end of the road data: solid swatch and the edge note.
    routed = iso.copy()
    routed["approximate"] = False
    routed["touches_data_edge"] = [False, True]
    text = isochrone_legend_html(routed)
    assert text.count("solid") == 2 and "dashed" not in text
    assert "routed on OSM roads" in text and "edge-note" in text
    # The legend reaches the rendered map, as a script string that cannot close <script>.
    html_out = coordinator_map(sites.head(1), iso, tiles="none").get_root().render()
    assert 'data-testid", "map-legend"' in html_out
    assert "\\u003cb\\u003eDrive-time areas" in html_out


def test_estimated_mask_from_engine_basis_or_column() -> None:
    frame = gpd.GeoDataFrame(
        {
            "engine": ["valhalla · demo", "estimate", "", "osrm · demo"],
            "basis": ["routed drive time", "", "", "estimate from straight-line distance"],
        }
    )
    assert estimated_mask(frame).tolist() == [False, True, False, True]
    frame["estimated"] = [True, False, False, False]  # an explicit column wins
    assert estimated_mask(frame).tolist() == [True, False, False, False]


def test_batch_map_colours_by_verdict_and_rings_estimates(sites) -> None:
    results = gpd.GeoDataFrame(
        {
            "row": [1, 2, 3, 4],
            "place": [EVIL, "Two", "Three", "Nowhere"],
            "verdict": ["within", "outside", "within", "unknown"],
            "drive_min": [30.0, 150.0, 45.0, np.nan],
            "engine": ["valhalla · demo", "estimate", "valhalla · demo", ""],
        },
        geometry=[
            shapely.Point(-83.0, 40.05),
            shapely.Point(-84.0, 41.0),
            shapely.Point(-83.05, 40.0),
            None,
        ],
        crs="EPSG:4326",
    )
    m = batch_map(results, sites, tiles="none")
    layers = {g.layer_name: g for g in _of(m, folium.GeoJson)}
    assert set(layers) == {"Places: within", "Places: outside"}  # the unlocated row is skipped
    within = layers["Places: within"].data["features"]
    assert [f["properties"]["estimated"] for f in within] == [False, False]
    (outside,) = layers["Places: outside"].data["features"]
    assert outside["properties"]["estimated"] is True
    assert outside["properties"]["label"].endswith("(ESTIMATE)")
    style = layers["Places: outside"].style_function(outside)
    assert style["fillColor"] == VERDICT_COLORS["outside"] and style["dashArray"]
    assert layers["Places: within"].style_function(within[0])["dashArray"] is None
    rendered = m.get_root().render()
    assert EVIL not in rendered  # the place text is escaped


def test_offline_basemap_roads_and_places_from_the_extract(tmp_path) -> None:
    from pathlib import Path

    import osmium

    from geo.basemap import ROAD_RANKS, load_basemap

    pbf = Path(__file__).resolve().parents[2] / "data" / "osm" / "harrisburg.osm.pbf"
    roads, places = load_basemap(pbf.parent, tmp_path)
    # Independent count: every way with a drawn highway value and 2+ located nodes.
    expected = 0
    for obj in osmium.FileProcessor(str(pbf)).with_locations():
        if isinstance(obj, osmium.osm.Way) and obj.tags.get("highway") in ROAD_RANKS:
            expected += sum(n.location.valid() for n in obj.nodes) >= 2
    harrisburg = roads.cx[-77.2:-76.5, 40.0:40.6]
    assert len(harrisburg) == expected > 0
    assert set(roads["rank"]) <= {0, 1, 2, 3, 4}
    assert "Colonial Park" in set(places["name"])
    # Cached: the second load reads the GeoParquet files written the first time.
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "basemap").iterdir()) == [
        "places",
        "roads",
    ]
    again, _ = load_basemap(pbf.parent, tmp_path)
    assert len(again) == len(roads) and again.attrs["basemap"] == "roads"
    # Drawn offline: a roads layer and escaped place labels inside the basemap group.
    m = base_map((-76.95, 40.2, -76.75, 40.35), tiles="none", boundaries=(roads, places))
    names = {g.layer_name for g in _of(m, folium.GeoJson)}
    assert {"Basemap: roads", "Basemap: places"} <= names
    assert "Colonial Park" in m.get_root().render()


def test_record_map_filing_fields_and_signature() -> None:
    import dataclasses

    from appkit.record import SVG_H, SVG_W, CheckRecord, record_html, record_svg, route_vertices
    from geo.rules import get_rule
    from geo.types import EngineInfo, GeocodeResult, Precision

    place, site = (-92.50, 44.00), (-92.4668, 44.0225)
    line = shapely.LineString([place, (-92.49, 44.01), (-92.475, 44.015), site])
    rec = CheckRecord(
        checked_at=datetime(2026, 11, 25, 9, 30),
        address="somewhere",
        geocode=GeocodeResult(LonLat(*place), Precision.COORDINATES, "typed", ""),
        rule=get_rule("resolution"),
        verdict="within",
        drive_min=9.0,
        spare_min=111.0,
        site_name=f"Clinic {EVIL}",
        site_id="S1",
        site_address="",
        basis="routed drive time",
        reason="",
        engine=EngineInfo("valhalla", "demo"),
        engine_description="valhalla",
        site_set="x",
        site_lonlat=site,
        route_lonlat=route_vertices(line),
    )
    svg = record_svg(rec)
    # Route vertices inside the drawing; the place and the site at the extremes of the view
    # (they span it), and x/y scaled equally in km (checked against the haversine distance).
    pts = [tuple(map(float, p.split(","))) for p in re.search(r'points="([^"]+)"', svg)[1].split()]
    assert len(pts) == 4
    assert all(0 <= x <= SVG_W and 0 <= y <= SVG_H for x, y in pts)
    from geo.geodesy import haversine_km

    km = float(haversine_km(np.array([place]), np.array([site]))[0, 0])
    px = float(np.hypot(pts[-1][0] - pts[0][0], pts[-1][1] - pts[0][1]))
    bar_km = float(re.search(r">([\d.]+) km<", svg)[1])
    bar_px = float(re.search(r'x2="([\d.]+)" y2', svg)[1]) - 12
    assert px / bar_px * bar_km == pytest.approx(km, rel=0.01)
    assert EVIL not in svg
    html_out = record_html(rec)
    assert 'data-testid="record-map"' in html_out
    for field in ('id="participant"', 'id="study"', "Checked by (signature)", "<th>Date</th>"):
        assert field in html_out
    assert "<script" not in html_out
    # Without a route or site: still a map of the place, no polyline.
    bare = record_svg(dataclasses.replace(rec, site_lonlat=None, route_lonlat=()))
    assert "<polyline" not in bare and "Place checked" in bare


def test_record_data_version_is_the_answering_graphs_not_a_repeat() -> None:
    """Under `auto` the engine has no data date of its own: the record's data version is the
    road data of the engine that answered (its label after " · "), not "Answered by" again."""
    import pandas as pd

    from appkit.record import CheckRecord, record_html
    from geo.rules import get_rule
    from geo.types import EngineInfo, GeocodeResult, Precision

    row = pd.Series(
        {
            "verdict": "within",
            "drive_min": 1.2,
            "spare_min": 118.8,
            "margin_min": 10.0,
            "nearest_site": "OSU Arthur G. James Cancer Hospital",
            "nearest_site_id": "DEMO-JAMES",
            "basis": "routed drive time",
            "engine": "osrm · OSM extract demo of 2015-02-07",
            "reason": "",
            "estimated": False,
        }
    )
    rec = CheckRecord.from_answer(
        row,
        checked_at=datetime(2026, 11, 30, 9, 30),
        address="39.99, -83.02",
        geocode=GeocodeResult(LonLat(-83.02, 39.99), Precision.COORDINATES, "coordinates", ""),
        rule=get_rule("resolution"),
        site_address="",
        engine=EngineInfo("auto", "osrm · OSM extract demo of 2015-02-07 → estimate"),
        engine_description="auto: osrm, then estimate",
        site_set="demo",
    )
    html = record_html(rec)
    assert "<th>Answered by</th><td>osrm · OSM extract demo of 2015-02-07</td>" in html
    assert "<th>Engine data version</th><td>OSM extract demo of 2015-02-07</td>" in html


def test_record_of_a_zip_says_its_caveat_once() -> None:
    """A ZIP centroid's record: "Location used" gives the caveat; the reason (from the real
    check of 55010, borderline for its centroid) and no "Location note" say it again."""
    from appkit.record import CheckRecord, record_html
    from geo.geocode import Geocoder
    from geo.routing import get_router
    from geo.rules import get_rule
    from sites import load_site_set
    from trialreach import api

    point = Geocoder().geocode("55010")
    row = api.check(point, sites=load_site_set("resolution"), engine=get_router("estimate")).iloc[0]
    assert row["verdict"] == "borderline" and row["reason"].endswith("check the exact address")
    rec = CheckRecord.from_answer(
        row,
        checked_at=datetime(2026, 12, 1, 9, 30),
        address="55010",
        geocode=point,
        rule=get_rule("resolution"),
        site_address="",
        engine=get_router("estimate").info,
        engine_description="estimate",
        site_set="resolution",
    )
    html = record_html(rec)
    assert html.count("check the exact address") == 1, html
    assert "<th>Reason</th><td>the place is a ZIP centroid; the exact locations could" in html
    assert "Location note" not in html


def test_record_of_an_estimated_outside_says_it_as_the_card_does() -> None:
    """Columbus ZIP 43215 checked against Mayo (Rochester, MN) by the estimate: the record says
    "Over the limit by" (as the card's metric), never a negative "Minutes to spare", and its
    map line is the estimate's straight line, said so, with no OpenStreetMap route credit."""
    from appkit.record import CheckRecord, record_html
    from geo.geocode import Geocoder
    from geo.routing import get_router
    from geo.rules import get_rule
    from geo.wording import format_minutes
    from sites import load_site_set
    from trialreach import api

    point = Geocoder().geocode("43215")
    estimate = get_router("estimate")
    row = api.check(point, sites=load_site_set("resolution"), engine=estimate).iloc[0]
    assert row["verdict"] == "outside" and row["spare_min"] < -600
    mayo = load_site_set("resolution").set_index("site_id").loc[row["nearest_site_id"]].geometry
    route = estimate.route(point.point, LonLat(mayo.x, mayo.y))
    rec = CheckRecord.from_answer(
        row,
        checked_at=datetime(2026, 12, 1, 9, 30),
        address="43215",
        geocode=point,
        rule=get_rule("resolution"),
        site_address="",
        engine=estimate.info,
        engine_description="estimate",
        site_set="resolution",
        site_lonlat=(mayo.x, mayo.y),
        route_lonlat=tuple(route.geometry.coords),
        route_on_roads=not route.engine.is_estimate,
    )
    html = record_html(rec)
    over = format_minutes(-float(row["spare_min"]))
    assert f"<th>Over the limit by</th><td>{over}</td>" in html
    assert "Minutes to spare" not in html and ">-" not in html
    assert "line: a straight line for orientation, not a road route" in html
    assert "Route: OpenStreetMap data" not in html and "the driving route" not in html
