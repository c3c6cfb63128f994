"""The planner map: framing (lower 48 by default, Alaska, Hawaii, Puerto Rico, a state), estimates.

Expected views are hand-computed from the site coordinates and the Census state outline of Ohio
(its published extent: 84.82-80.52 W, 38.40-41.98 N).
"""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import ValidationError
from geo.mapping import (
    ESTIMATE_COLOR,
    LOWER_48,
    coverage_legend_html,
    coverage_map,
    focus_choices,
    map_focus,
)
from geo.population import load_boundaries

COLUMBUS = (-82.99, 39.96)
HARRISBURG = (-76.88, 40.27)
HONOLULU = (-157.86, 21.31)
ANCHORAGE = (-149.90, 61.22)
SAN_JUAN = (-66.11, 18.47)


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    pts = [COLUMBUS, HARRISBURG, HONOLULU, ANCHORAGE, SAN_JUAN]
    return gpd.GeoDataFrame(
        {
            "site_id": list("ABCDEF"),
            "name": ["Columbus", "Harrisburg", "Honolulu", "Anchorage", "San Juan", "Nowhere"],
        },
        geometry=[shapely.Point(p) for p in pts] + [None],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def states() -> gpd.GeoDataFrame:
    return load_boundaries("states")


def test_lower_48_frames_the_mainland_sites_and_says_who_is_left_out(sites) -> None:
    f = map_focus(sites)
    assert f.name == LOWER_48
    assert f.inside.tolist() == [True, True, False, False, False, False]
    assert f.bounds == pytest.approx((COLUMBUS[0], COLUMBUS[1], HARRISBURG[0], HARRISBURG[1]))
    assert f.n_outside == 4
    assert "4 of 6 site(s) are outside this view" in f.note


@pytest.mark.parametrize(
    ("focus", "expected", "point"),
    [("Hawaii", 2, HONOLULU), ("Alaska", 3, ANCHORAGE), ("Puerto Rico", 4, SAN_JUAN)],
)
def test_each_region_frames_its_own_site(sites, focus, expected, point) -> None:
    f = map_focus(sites, focus)
    assert np.flatnonzero(f.inside).tolist() == [expected]
    assert f.bounds == pytest.approx((point[0], point[1], point[0], point[1]))


def test_region_without_a_site_shows_the_area_and_says_so(sites) -> None:
    f = map_focus(sites.iloc[:2], "Hawaii")
    assert not f.inside.any()
    assert f.bounds == (-160.5, 18.5, -154.5, 22.5)
    assert f.note.startswith("No study site in Hawaii")


def test_all_sites_fits_everything_and_names_the_unlocated(sites) -> None:
    f = map_focus(sites, "All sites")
    assert f.bounds is None
    assert f.inside.tolist() == [True] * 5 + [False]
    assert f.note == "1 site(s) have no location."


def test_state_focus_frames_the_state_outline(sites, states) -> None:
    assert "Ohio" in focus_choices(states) and focus_choices()[0] == LOWER_48
    f = map_focus(sites, "Ohio", states=states)
    assert f.inside.tolist() == [True, False, False, False, False, False]
    assert f.bounds == pytest.approx((-84.82, 38.40, -80.52, 41.98), abs=0.05)
    with pytest.raises(ValidationError, match="unknown map focus"):
        map_focus(sites, "Ohoi", states=states)
    with pytest.raises(ValidationError, match="unknown map focus"):
        map_focus(sites, "Ohio")  # no state outlines given


def test_a_state_across_the_antimeridian_frames_its_sites() -> None:
    wide = gpd.GeoDataFrame(
        {"name": ["Wide"]},
        geometry=[
            shapely.MultiPolygon([shapely.box(172, 50, 180, 60), shapely.box(-180, 50, -140, 60)])
        ],
        crs="EPSG:4326",
    )
    here = gpd.GeoDataFrame(
        {"name": ["in", "out"]},
        geometry=[shapely.Point(-150, 55), shapely.Point(-83, 40)],
        crs="EPSG:4326",
    )
    f = map_focus(here, "Wide", states=wide)
    assert f.inside.tolist() == [True, False]
    assert f.bounds == (-150.0, 55.0, -150.0, 55.0)


def test_coverage_map_uses_the_focus_view_and_draws_its_note(sites) -> None:
    units = gpd.GeoDataFrame(
        {
            "name": ["Franklin", "Honolulu"],
            "population": [1_300_000, 1_000_000],
            "within_rule": pd.array([True, None], dtype="boolean"),
        },
        geometry=[shapely.Point(COLUMBUS), shapely.Point(HONOLULU)],
        crs="EPSG:4326",
    )
    f = map_focus(sites)
    html = coverage_map(units, sites, tiles="none", focus=f).get_root().render()
    (lat0, lon0, _lat1, lon1) = map(
        float,
        re.search(
            r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", html
        ).groups(),
    )
    assert lon0 < COLUMBUS[0] and HARRISBURG[0] < lon1 < -66.5  # the mainland sites
    assert lon0 > -125.0 and lat0 > 24.0  # not the Pacific
    assert "focus-note" in html and "4 of 6 site(s) are outside this view" in html
    unfocused = coverage_map(units, sites, tiles="none").get_root().render()
    assert "focus-note" not in unfocused
    assert re.search(r"fitBounds\(\s*\[\[[-\d.]+, (-1[5-6]\d\.\d+)", unfocused)  # Pacific-wide


def test_estimated_units_are_drawn_apart_and_counted_in_the_legend(sites) -> None:
    units = gpd.GeoDataFrame(
        {
            "name": ["Routed County", "Guessed County", "Far County"],
            "population": [1_000, 3_000, 6_000],
            "within_rule": pd.array([True, True, False], dtype="boolean"),
            "duration_min": [30.0, 50.0, 300.0],
            "estimated": [False, True, True],
        },
        geometry=[
            shapely.box(-83.1, 39.9, -82.9, 40.1),
            shapely.box(-82, 40, -81, 41),
            shapely.box(-80, 40, -79, 41),
        ],
        crs="EPSG:4326",
    )
    m = coverage_map(units, sites.iloc[:2], tiles="none")
    layers = {
        g.layer_name: g
        for g in m._children.values()
        if isinstance(g, folium.GeoJson) and g.layer_name.startswith("Population")
    }
    routed, guessed = layers["Population: within"].data["features"]
    assert guessed["properties"]["label"].endswith("(ESTIMATE, not routed)")
    assert "ESTIMATE" not in routed["properties"]["label"]
    style = layers["Population: within"].style_function
    assert style(guessed)["dashArray"] and style(guessed)["color"] == ESTIMATE_COLOR
    assert "dashArray" not in style(routed)
    assert style(guessed)["fillOpacity"] < style(routed)["fillOpacity"]
    legend = coverage_legend_html(
        pd.DataFrame(
            {
                "status": ["within", "within", "outside"],
                "estimated": [False, True, True],
                "population": [1_000.0, 3_000.0, 6_000.0],
            }
        )
    )
    assert "within the rule: 4,000 (2 units)" in legend
    assert "beyond the limit: 6,000 (1 unit)" in legend
    assert "ESTIMATE, not routed (90% of these people)" in legend  # 9,000 of 10,000
    assert "suggested site" not in legend
    html = m.get_root().render()
    assert "ESTIMATE, not routed (90% of these people)" in html
