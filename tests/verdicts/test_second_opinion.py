"""Where OSRM and Valhalla fall on different sides of the limit, the verdict is borderline.

Fakes: the primary ("osrm") drives 1° of longitude in 60 min (+10 min westward); the second
engine ("valhalla") is the same road at another speed (``scale``). Times are hand-computed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point

from geo.lodging import search_lodging
from geo.proximity import check, rank_sites
from geo.routing.auto import AutoRouter
from geo.routing.second_opinion import BAND_HIGH, BAND_LOW, SecondOpinionRouter
from geo.rules import get_rule
from geo.types import LonLat

from .fakes import AsymBox

RULE = get_rule("resolution")  # 120 min, margin 10
SITES = gpd.GeoDataFrame(
    {"site_id": ["A"], "name": ["Site A"]}, geometry=[Point(0.0, 0.0)], crs="EPSG:4326"
)


def pair(scale: float) -> tuple[SecondOpinionRouter, AsymBox, AsymBox]:
    primary = AsymBox(-10, 10, label="osrm")
    second = AsymBox(-10, 10, label="valhalla", scale=scale)
    return SecondOpinionRouter(primary, second), primary, second


def west_of_site(minutes: float) -> tuple[float, float]:
    """A place whose drive east to the site takes ``minutes`` on the primary (no penalty)."""
    return (-minutes / 60.0, 0.0)


def test_outside_contradicted_by_a_faster_model_is_borderline_with_both_times():
    router, _, _ = pair(scale=0.8)  # primary 130 min, second 104 min
    out = check([west_of_site(130)], SITES, RULE, router)
    assert out["verdict"].iloc[0] == "borderline"
    assert out["drive_min"].iloc[0] == 130.0  # the verdict engine's time is the one reported
    assert out["reason"].iloc[0] == "engines disagree: 130 min (OSRM) vs 104 min (Valhalla)"


def test_within_contradicted_by_a_slower_model_is_borderline():
    router, _, _ = pair(scale=1.25)  # primary 100 min (spare 20), second 125 min
    out = check([west_of_site(100)], SITES, RULE, router)
    assert out["verdict"].iloc[0] == "borderline"
    assert out["reason"].iloc[0] == "engines disagree: 100 min (OSRM) vs 125 min (Valhalla)"


def test_agreement_keeps_the_confident_verdicts():
    router, _, _ = pair(scale=1.1)  # 100 → 110 (complies); 140 → 154 (outside)
    out = check([west_of_site(100), west_of_site(140)], SITES, RULE, router)
    assert out["verdict"].tolist() == ["within", "outside"]
    assert out["reason"].tolist() == ["", ""]


def test_only_places_in_the_band_are_asked_again():
    router, _primary, second = pair(scale=0.8)
    minutes = [30, 60, 0.8 * 120 - 1, 0.8 * 120 + 1, 130, 2.0 * 120 - 1, 2.0 * 120 + 1, 400]
    assert (BAND_LOW, BAND_HIGH) == (0.8, 2.0)
    res = router.nearest([west_of_site(m) for m in minutes], [(0.0, 0.0)], RULE.max_drive_s)
    asked = np.isfinite(res.row_second()[0])
    assert asked.tolist() == [False, False, False, True, True, True, False, False]
    assert second.calls == [(3, 1)]  # one call, for the three places in the band only
    assert res.row_second()[0][asked] == pytest.approx(np.array(minutes)[asked] * 60 * 0.8)
    assert set(res.row_second()[1][asked]) == {"valhalla"}


def test_under_auto_the_graph_answers_with_the_primary_and_is_checked_by_the_second():
    router, _, _ = pair(scale=0.8)
    auto = AutoRouter(local=[router], online=None)
    out = check([west_of_site(130), west_of_site(20)], SITES, RULE, auto)
    assert out["engine"].tolist() == ["osrm · test graph"] * 2
    assert out["verdict"].tolist() == ["borderline", "within"]
    assert out["reason"].iloc[0].startswith("engines disagree: 130 min (OSRM)")


def test_a_failing_second_engine_leaves_the_primary_answer():
    class Down(AsymBox):
        def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
            from geo.errors import EngineError

            raise EngineError("valhalla tiles unreadable")

    router = SecondOpinionRouter(AsymBox(-10, 10, label="osrm"), Down(-10, 10, label="valhalla"))
    out = check([west_of_site(130)], SITES, RULE, router)
    assert out["verdict"].iloc[0] == "outside" and out["drive_min"].iloc[0] == 130.0


def test_patient_ranking_gets_the_same_second_opinion_per_site():
    # Sites east of the place: A at 100 min (second 125: contradicted), B at 30 min (no band).
    router, _, second = pair(scale=1.25)
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "name": ["Far", "Near"]},
        geometry=[Point(100 / 60, 0.0), Point(30 / 60, 0.0)],
        crs="EPSG:4326",
    )
    for r in (router, AutoRouter(local=[router], online=None)):
        ranked = rank_sites(LonLat(0.0, 0.0), sites, r, RULE).set_index("site_id")
        assert ranked.loc["A", "verdict"] == "borderline"
        assert ranked.loc["A", "reason"] == (
            "engines disagree: 100 min (OSRM) vs 125 min (Valhalla)"
        )
        assert ranked.loc["B", "verdict"] == "within" and ranked.loc["B", "reason"] == ""
    assert second.calls == [(1, 1), (1, 1)]  # only site A was asked again, each time


def test_lodging_ranking_gets_the_second_opinion_too():
    router, _, _ = pair(scale=1.25)  # a hotel 100 min west of the site: second says 125
    hotels = gpd.GeoDataFrame(
        {"osm_id": ["f", "n"], "kind": ["hotel", "hotel"], "name": ["Far Inn", "Near Inn"]},
        geometry=[Point(-100 / 60, 0.0), Point(-30 / 60, 0.0)],
        crs="EPSG:4326",
    )
    for col in ("address", "city", "postcode", "website", "phone", "eligibility_note"):
        hotels[col] = ""
    hotels["source"] = "OpenStreetMap"
    hotels["data_date"] = ""
    result = search_lodging(LonLat(0.0, 0.0), hotels, RULE, router)
    f = result.frame.set_index("name")
    assert f.loc["Far Inn", "verdict"] == "borderline"
    assert f.loc["Far Inn", "drive_min"] == pytest.approx(100.0)  # the verdict engine's time
    assert f.loc["Near Inn", "verdict"] == "within"
    assert any("differ between the graph's two engines" in n for n in result.notices)


def test_a_second_engine_that_screens_still_gives_its_route_time():
    """A screening engine answers 'under X min' (NaN time) when given the horizon; the second
    opinion must ask it for route times, or a contradiction would go unnoticed."""
    from dataclasses import replace

    class Screening(AsymBox):
        def nearest(self, origins, destinations, horizon_s=None):  # type: ignore[no-untyped-def]
            res = super().nearest(origins, destinations, horizon_s)
            if horizon_s is None:
                return res
            nan = np.full(len(res.index), np.nan)
            return replace(res, duration_s=nan, method=np.full(len(res.index), "screened"))

    router = SecondOpinionRouter(
        AsymBox(-10, 10, label="osrm"), Screening(-10, 10, label="valhalla", scale=0.8)
    )
    out = check([west_of_site(130)], SITES, RULE, router)
    assert out["verdict"].iloc[0] == "borderline"
    assert out["reason"].iloc[0] == "engines disagree: 130 min (OSRM) vs 104 min (Valhalla)"
