"""Ranking lodging by drive time to the site, with hand-computed times (1 km of grid = 1 min)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from geo.errors import ValidationError
from geo.lodging import find_lodging, search_lodging
from geo.lodging.catalogue import OSM_NOTICE
from geo.lodging.extract import empty_lodging
from geo.lodging.search import (
    RESULT_COLUMNS,
)
from geo.routing.estimate import EstimateRouter
from geo.rules import PRESETS
from geo.types import LonLat
from sites.lodging_lists import read_lodging_list

from .conftest import GridRouter, grid_point

RULE = PRESETS["resolution"]  # 120 min, margin 10 min
SITE_CR = (200, 200)
SITE = LonLat(*grid_point(*SITE_CR))


def _frame(rows: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    """Lodging rows (osm_id, kind, name, grid col, grid row) → an OSM-like lodging frame."""
    pts = np.array([grid_point(c, r) for _, _, _, c, r in rows])
    frame = empty_lodging().iloc[0:0]
    data = {
        "osm_id": [r[0] for r in rows],
        "kind": [r[1] for r in rows],
        "name": [r[2] for r in rows],
    }
    frame = gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=4326)
    for col in ("address", "city", "postcode", "website", "phone", "eligibility_note"):
        frame[col] = ""
    frame["source"] = "OpenStreetMap"
    frame["data_date"] = "2024-01-01"
    frame.loc[frame["kind"] == "hospitality_house", "eligibility_note"] = (
        "American Cancer Society Hope Lodge: for people in cancer treatment only"
    )
    return frame


LODGING = _frame(
    [
        # id, kind, name, col, row                 L1 km = minutes from the site at (200, 200)
        ("w1", "hotel", "Alpha Hotel", 230, 200),  # 30 → within (spare 90)
        ("w2", "apartment", "Beta Suites", 200, 250),  # 50 → within
        ("w3", "motel", "Gamma Motel", 260, 255),  # 115 → borderline (spare 5 < 10)
        ("w4", "hotel", "Delta Hotel", 270, 255),  # 125 → outside
        ("w5", "hotel", "Epsilon Hotel", 260, 260),  # 120 exactly → complies, borderline
        ("w6", "hotel", "Zeta Hotel", 310, 200),  # 110 → spare 10 = margin → within
        ("w7", "hotel", "Far Hotel", 500, 200),  # 300 km straight line → never routed
        ("n8", "hospitality_house", "Hope Lodge Gridtown", 190, 200),  # 10 (west) → within
        ("w9", "hotel", "Island Hotel", 360, 200),  # routed, no road (NaN) → no route
    ]
)


def test_ranked_with_hand_computed_times():
    router = GridRouter(unreachable_from_col=350)
    result = search_lodging(SITE, LODGING, RULE, router)
    f = result.frame
    assert list(f.columns) == [*RESULT_COLUMNS, "geometry"]
    assert list(f["name"]) == [
        "Hope Lodge Gridtown",
        "Alpha Hotel",
        "Beta Suites",
        "Zeta Hotel",
        "Gamma Motel",
        "Epsilon Hotel",
    ]
    assert f["drive_min"].to_numpy() == pytest.approx([10, 30, 50, 110, 115, 120], abs=1e-6)
    assert f["spare_min"].to_numpy() == pytest.approx([110, 90, 70, 10, 5, 0], abs=1e-6)
    assert list(f["verdict"]) == ["within"] * 4 + ["borderline"] * 2
    assert (f["engine"] == "grid · test grid").all()
    assert (f["engine_data_date"] == "2024-01-01").all()
    assert not f["preferred"].any()
    # What was left out is counted, not hidden.
    assert result.considered == 9
    assert (result.beyond_reach, result.outside, result.no_route) == (1, 1, 1)
    assert result.truncated == 0
    assert OSM_NOTICE in result.notices
    assert "6 OpenStreetMap place(s) listed of 9 considered" in result.summary()


def test_far_places_are_screened_out_before_routing():
    router = GridRouter()
    search_lodging(SITE, LODGING, RULE, router)
    routed = np.concatenate(router.calls)
    assert len(routed) == 8  # everything but the 300 km one, in one matrix call
    far = np.array(grid_point(500, 200))
    assert not np.isclose(routed, far).all(axis=1).any()


def test_prescreen_never_drops_a_place_that_could_qualify():
    """130 km/h is an upper bound: a place 255 km away (straight) is still routed."""
    lodging = _frame([("w1", "hotel", "Edge Case Inn", 455, 200)])
    router = GridRouter(kmh=130.0)
    result = search_lodging(SITE, lodging, RULE, router)
    assert result.beyond_reach == 0 and len(router.calls) == 1
    assert result.frame["drive_min"].iloc[0] == pytest.approx(255 / 130 * 60)
    assert result.frame["verdict"].iloc[0] == "borderline"  # 117.7 min: 2.3 min to spare


def test_drive_direction_is_from_the_lodging_to_the_site():
    # The test engine adds 10 min to trips that head east; the Hope Lodge is west of the site.
    router = GridRouter(one_way_extra_s=600)
    f = search_lodging(SITE, LODGING, RULE, router).frame.set_index("osm_id")
    assert f.loc["n8", "drive_min"] == pytest.approx(20)  # west → east: +10
    assert f.loc["w1", "drive_min"] == pytest.approx(30)  # east → west: as the grid says


def test_kinds_and_limit():
    router = GridRouter()
    result = search_lodging(SITE, LODGING, RULE, router, kinds="hotel, motel", limit=2)
    assert list(result.frame["name"]) == ["Alpha Hotel", "Zeta Hotel"]
    assert result.considered == 7 and result.truncated == 2
    assert "2 more within the rule not shown (limit)" in result.summary()
    only = search_lodging(SITE, LODGING, RULE, router, kinds=["apartment"])
    assert list(only.frame["name"]) == ["Beta Suites"]
    with pytest.raises(ValidationError, match=r"unknown lodging kind.*castle"):
        search_lodging(SITE, LODGING, RULE, router, kinds="hotel,castle")


def test_hope_lodge_note_for_resolution_only():
    router = GridRouter()
    f = search_lodging(SITE, LODGING, RULE, router).frame.set_index("osm_id")
    note = f.loc["n8", "eligibility_note"]
    assert note.startswith("American Cancer Society Hope Lodge")
    assert "lupus, myositis or systemic sclerosis" in note and "would not qualify" in note
    # A note, never a filter: the lodge is listed, with its verdict.
    assert f.loc["n8", "verdict"] == "within"
    car_t = search_lodging(SITE, LODGING, PRESETS["car-t-label-2025"], router).frame
    car_t_note = car_t.set_index("osm_id").loc["n8", "eligibility_note"]
    assert "would not qualify" not in car_t_note and "cancer treatment" in car_t_note
    assert (f.drop(index="n8")["eligibility_note"] == "").all()


def test_preferred_list_first_even_when_outside(tmp_path: Path):
    csv = tmp_path / "ours.csv"
    lon_a, lat_a = grid_point(230, 200)
    lon_b, lat_b = grid_point(205, 200)
    lon_c, lat_c = grid_point(330, 200)
    csv.write_text(
        "name,lat,lon,kind,note\n"
        f"Alpha Hotel Downtown,{lat_a},{lon_a},hotel,contracted rate\n"
        f"Contract Inn,{lat_b},{lon_b},,\n"
        f"Far Contract Lodge,{lat_c},{lon_c},apartment,old contract\n"
    )
    preferred = read_lodging_list(csv)
    router = GridRouter()
    result = search_lodging(SITE, LODGING, RULE, router, preferred=preferred, kinds="hotel")
    f = result.frame
    assert list(f["name"][:3]) == ["Contract Inn", "Alpha Hotel Downtown", "Far Contract Lodge"]
    assert list(f["preferred"]) == [True] * 3 + [False] * (len(f) - 3)
    assert f["drive_min"][:3].to_numpy() == pytest.approx([5, 30, 130])
    # The contracted place that does not comply is shown, and says so.
    assert list(f["verdict"][:3]) == ["within", "within", "outside"]
    assert f["note"].iloc[1] == "contracted rate"
    # OSM's "Alpha Hotel" is the same place as the listed "Alpha Hotel Downtown": listed once.
    assert "Alpha Hotel" not in set(f["name"])
    assert result.duplicates_of_preferred == 1
    assert f["source"].iloc[0] == "your list (ours.csv)"


def test_estimate_engine_widens_the_margin():
    """Estimated 105 min leaves 15 min: within for a routed engine, borderline for an estimate."""
    est = EstimateRouter()
    km = float(est.km_for_seconds(np.array([105 * 60.0]))[0])
    deg_lat = km / 111.195  # north of the site, on the same meridian
    lodging = _frame([("w1", "hotel", "Estimate Inn", 200, 200)])
    lodging = lodging.set_geometry(gpd.points_from_xy([SITE.lon], [SITE.lat + deg_lat]), crs=4326)
    result = search_lodging(SITE, lodging, RULE, est)
    row = result.frame.iloc[0]
    assert row["drive_min"] == pytest.approx(105, abs=0.05)
    assert row["verdict"] == "borderline"  # margin widened to 15 % of 120 = 18 min
    assert row["engine"] == "estimate"
    assert any("estimates from straight-line distance" in n for n in result.notices)


def test_edge_warnings_are_kept_and_flagged():
    router = GridRouter(edge_from_col=300)
    result = search_lodging(SITE, LODGING, RULE, router)
    f = result.frame.set_index("osm_id")
    assert bool(f.loc["w6", "edge_warning"]) and not f.drop(index="w6")["edge_warning"].any()
    assert any("edge of the road data" in n for n in result.notices)


def test_nothing_to_list():
    router = GridRouter()
    result = search_lodging(SITE, empty_lodging(), RULE, router)
    assert len(result.frame) == 0 and list(result.frame.columns) == [*RESULT_COLUMNS, "geometry"]
    assert result.considered == 0 and router.calls == []


def test_find_lodging_returns_the_frame_with_counts():
    frame = find_lodging(SITE, LODGING, RULE, GridRouter(unreachable_from_col=350), limit=3)
    assert len(frame) == 3 and frame["name"].iloc[0] == "Hope Lodge Gridtown"
    assert frame.attrs["counts"] == {
        "considered": 9,
        "beyond_reach": 1,
        "outside": 1,
        "no_route": 1,
        "truncated": 3,
        "duplicates_of_preferred": 0,
        "shown": 3,
    }
