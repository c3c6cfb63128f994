"""Which Geofabrik extracts cover a set of sites: the shipped index and the reach planning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geo.errors import GraphBuildError
from geo.osm.geofabrik import INDEX_FILE, load_extract_index, state_index_from_boundaries
from geo.osm.plan import describe_plan, plan_extracts, reach_circles, reach_radius_km
from geo.settings import Settings
from sites import load_site_set

from .conftest import DATA

ROCHESTER_MN = (-92.466293, 44.024120)  # Mayo Clinic, the RESOLUTION site
HARRISBURG_PA = (-76.8867, 40.2732)


@pytest.fixture(scope="module")
def offline() -> Settings:
    return Settings(data_dir=DATA)


@pytest.fixture(scope="module")
def index(offline: Settings) -> object:
    return load_extract_index(offline)


def test_shipped_index_is_derived_from_the_state_shapes() -> None:
    shipped = pd.read_csv(DATA / INDEX_FILE, dtype={"fips": str})
    derived = state_index_from_boundaries(DATA / "boundaries" / "states-10m.json")
    assert len(shipped) == 53  # 50 states, DC, Puerto Rico, US Virgin Islands
    assert shipped["name"].tolist() == derived["name"].tolist()
    assert shipped["geofabrik_path"].tolist() == derived["geofabrik_path"].tolist()
    for col in ("minlon", "minlat", "maxlon", "maxlat"):
        np.testing.assert_allclose(shipped[col], derived[col], atol=1e-6)
    rows = shipped.set_index("name")
    assert rows.loc["Minnesota", "geofabrik_path"] == "north-america/us/minnesota-latest.osm.pbf"
    assert rows.loc["District of Columbia", "slug"] == "district-of-columbia"
    assert rows.loc["Puerto Rico", "slug"] == "puerto-rico"
    assert rows.loc["United States Virgin Islands", "slug"] == "us-virgin-islands"
    assert "Guam" not in rows.index
    # Minnesota: lon −97.24…−89.49, lat 43.50…49.38 (rounded outwards)
    mn = rows.loc["Minnesota"]
    assert (mn.minlon, mn.minlat, mn.maxlon, mn.maxlat) == (-97.24, 43.499, -89.49, 49.385)
    # Alaska's Aleutians west of 180° are shifted, so its box is not the whole world.
    ak = rows.loc["Alaska"]
    assert ak.maxlon - ak.minlon < 60


def test_index_uses_the_real_state_shapes(index: object) -> None:
    geoms = index.set_index("name").geometry  # type: ignore[attr-defined]
    # Shapes, not boxes: Minnesota's shape is well below its bounding box area.
    mn = geoms["Minnesota"]
    assert mn.area < 0.9 * mn.envelope.area
    assert mn.contains(shapely.Point(*ROCHESTER_MN))


def test_reach_circle_is_geodesic_260_km_for_two_hours() -> None:
    assert reach_radius_km(120) == pytest.approx(260.0)
    circle = reach_circles(np.array([ROCHESTER_MN]), 260.0)[0]
    xy = np.asarray(circle.exterior.coords)
    _, _, dist_m = Geod(ellps="WGS84").inv(
        np.full(len(xy), ROCHESTER_MN[0]), np.full(len(xy), ROCHESTER_MN[1]), xy[:, 0], xy[:, 1]
    )
    np.testing.assert_allclose(dist_m, 260_000.0, atol=1.0)


def test_rochester_selects_minnesota_and_its_neighbours(offline: Settings, index: object) -> None:
    sites = load_site_set("resolution", settings=offline)
    plan = plan_extracts(sites, 120, offline, index=index)
    # NW Illinois (Jo Daviess County) is ~230 km from Rochester, South Dakota ~320 km.
    assert plan.names == ("Illinois", "Iowa", "Minnesota", "Wisconsin")
    assert plan.radius_km == pytest.approx(260.0)
    assert plan.site_count == 1
    assert plan.outside_index_km2 < 1.0  # all inland
    one_hour = plan_extracts(np.array([ROCHESTER_MN]), 60, offline, index=index)
    assert one_hour.names == ("Iowa", "Minnesota", "Wisconsin")
    assert "Illinois, Iowa, Minnesota, Wisconsin" in describe_plan(plan)


def test_harrisburg_selects_pennsylvania_and_the_mid_atlantic(
    offline: Settings, index: object
) -> None:
    plan = plan_extracts(np.array([HARRISBURG_PA]), 120, offline, index=index)
    assert plan.names == (
        "Delaware",
        "District of Columbia",
        "Maryland",
        "New Jersey",
        "New York",
        "Pennsylvania",
        "Virginia",
        "West Virginia",
    )
    assert "Ohio" not in plan.names  # the Ohio line is ~330 km west


def test_demo_sites_span_two_regions_and_report_reach_beyond_the_us(
    offline: Settings, index: object
) -> None:
    plan = plan_extracts(load_site_set("demo", settings=offline), 120, offline, index=index)
    assert {"Ohio", "Pennsylvania", "Maryland", "Kentucky", "Indiana"} <= set(plan.names)
    # From Columbus, 260 km reaches over Lake Erie into Ontario: said, not hidden.
    assert plan.outside_index_km2 > 1000
    assert "outside every extract" in describe_plan(plan)


def test_site_outside_the_index_says_what_to_do(offline: Settings, index: object) -> None:
    toronto = np.array([[-79.3832, 43.6532], ROCHESTER_MN])
    with pytest.raises(GraphBuildError) as err:
        plan_extracts(toronto, 120, offline, index=index)
    text = str(err.value)
    assert "1 site(s) lie outside" in text
    assert "site 1 (" in text
    assert "43.6532, -79.3832" in text
    assert "graph build --pbf FILE" in text


def test_sites_outside_are_named_by_their_site_name(offline: Settings, index: object) -> None:
    sites = load_site_set("resolution", settings=offline)
    sites = sites.assign(geometry=shapely.points([[-0.1276, 51.5072]]))  # moved to London
    with pytest.raises(GraphBuildError, match=r"Mayo Clinic \(Rochester\) \(51\.5072"):
        plan_extracts(sites, 120, offline, index=index)


def test_empty_site_set_is_refused(offline: Settings, index: object) -> None:
    with pytest.raises(GraphBuildError, match="empty"):
        plan_extracts(np.zeros((0, 2)), 120, offline, index=index)


def test_fake_index_without_shapes_uses_its_boxes(offline: Settings, fake_index_path: Path) -> None:
    boxes = load_extract_index(offline, fake_index_path, shapes=False)
    assert boxes.geometry.iloc[0].equals(boxes.geometry.iloc[0].envelope)
    plan = plan_extracts(np.array([HARRISBURG_PA]), 120, offline, index=boxes)
    assert plan.names == ("Pennsylvania",)  # Ohio's box (east edge −80.52) is ~340 km away
