"""coverage(): bands, states and gaps on hand-computed synthetic populations, and totals."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.coverage import band_labels, coverage
from geo.errors import ValidationError
from geo.routing import get_router
from geo.routing.base import NearestResult, Router
from geo.rules import ProximityRule

from .conftest import LineRouter, points_frame

SITES = points_frame(
    [
        {"site_id": "S1", "name": "West", "lon": 0.0, "lat": 0.0},
        {"site_id": "S2", "name": "East", "lon": 5.0, "lat": 0.0},
    ]
)

# Drive times (1 min per 0.01° of longitude), computed by hand:
#   a  0.30 from S1 →  30 min      ≤ 1 h   within
#   b  1.20 from S1 → 120 min      1–2 h   within (exactly on the limit)
#   c  1.21 from S1 → 121 min      2–5 h   outside
#   d  3.50 from S1 → 350 min      > 5 h   outside
#   e  on the island → no route    unknown
#   f  no point at all             unknown
#   g  0.60 from S2 →  60 min      ≤ 1 h   within (exactly on the band edge)
POPULATION = points_frame(
    [
        {"unit_id": "a", "state": "AA", "population": 1000, "lon": 0.30, "lat": 0.0},
        {"unit_id": "b", "state": "AA", "population": 2000, "lon": 1.20, "lat": 0.0},
        {"unit_id": "c", "state": "AA", "population": 500, "lon": 1.21, "lat": 0.0},
        {"unit_id": "d", "state": "BB", "population": 300, "lon": -3.50, "lat": 0.0},
        {"unit_id": "e", "state": "BB", "population": 700, "lon": 0.60, "lat": 20.0},
        {"unit_id": "f", "state": "CC", "population": 100, "lon": None, "lat": None},
        {"unit_id": "g", "state": "CC", "population": 400, "lon": 4.40, "lat": 0.0},
    ]
)


@pytest.fixture
def result(line_router: LineRouter, two_hours: ProximityRule):  # type: ignore[no-untyped-def]
    return coverage(SITES, two_hours, line_router, POPULATION, chunk_size=3)


def test_band_labels() -> None:
    assert band_labels() == ["≤ 1 h", "1–2 h", "2–5 h", "> 5 h", "unknown"]
    assert band_labels([30, 90]) == ["≤ 30 min", "30–90 min", "> 90 min", "unknown"]


def test_hand_computed_bands(result) -> None:  # type: ignore[no-untyped-def]
    bands = result.bands.set_index("band")
    assert bands["population"].to_dict() == {
        "≤ 1 h": 1400.0,
        "1–2 h": 2000.0,
        "2–5 h": 500.0,
        "> 5 h": 300.0,
        "unknown": 800.0,
    }
    assert bands["units"].tolist() == [2, 1, 1, 1, 2]
    assert bands["share"].sum() == pytest.approx(1.0)
    assert bands.loc["1–2 h", "share"] == pytest.approx(0.4)


def test_hand_computed_totals(result) -> None:  # type: ignore[no-untyped-def]
    assert result.total_population == 5000
    assert result.covered_population == 3400  # a + b (on the limit) + g
    assert result.outside_population == 800  # c + d
    assert result.unknown_population == 800  # e (no route) + f (no point)
    assert result.share_covered == pytest.approx(0.68)
    assert result.sites_used == 2


def test_units_carry_times_sites_and_notes(result) -> None:  # type: ignore[no-untyped-def]
    u = result.units.set_index("unit_id")
    assert u.loc["b", "duration_min"] == pytest.approx(120.0)
    assert u.loc["c", "duration_min"] == pytest.approx(121.0)
    assert u.loc["g", "nearest_site_id"] == "S2"
    assert u.loc["g", "nearest_site_name"] == "East"
    assert u.loc["d", "nearest_site_id"] == "S1"
    assert bool(u.loc["b", "within_rule"]) is True
    assert bool(u.loc["c", "within_rule"]) is False
    assert pd.isna(u.loc["e", "within_rule"]) and pd.isna(u.loc["f", "within_rule"])
    assert u.loc["e", "note"] == "no route to any site"
    assert u.loc["f", "note"] == "no coordinates for this unit"
    assert np.isnan(u.loc["e", "duration_s"])


def test_uncovered_frame_is_every_unit_not_within(result) -> None:  # type: ignore[no-untyped-def]
    gaps = result.uncovered
    assert isinstance(gaps, gpd.GeoDataFrame)
    assert gaps["unit_id"].tolist() == ["e", "c", "d", "f"]  # most populous first
    assert gaps["duration_min"].round(6).tolist()[1:3] == [121.0, 350.0]
    assert gaps["population"].sum() == result.uncovered_population == 1600


def test_by_state(result) -> None:  # type: ignore[no-untyped-def]
    s = result.by_state
    assert s["population"].to_dict() == {"AA": 3500.0, "BB": 1000.0, "CC": 500.0}
    assert s["covered_population"].to_dict() == {"AA": 3000.0, "BB": 0.0, "CC": 400.0}
    assert s.loc["BB", "unknown"] == 700.0
    assert s.loc["CC", "share_covered"] == pytest.approx(0.8)
    assert s["population"].sum() == result.total_population


def test_result_is_frozen(result) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AttributeError):
        result.total_population = 1  # type: ignore[misc]


def test_agrees_with_rule_verdicts(result, two_hours: ProximityRule) -> None:  # type: ignore[no-untyped-def]
    u = result.units
    verdicts = two_hours.verdicts(u["duration_s"].to_numpy(float), result.engine)
    within = u["within_rule"].astype(object).to_numpy()
    for v, w in zip(verdicts, within, strict=True):
        assert (v == "unknown") == (w is pd.NA)
        if v != "unknown":
            assert (v != "outside") == bool(w)


def test_custom_bands_and_limit(line_router: LineRouter) -> None:
    rule = ProximityRule(name="90", max_drive_min=90, min_days=1, margin_min=5)
    res = coverage(SITES, rule, line_router, POPULATION, bands_min=[90])
    assert res.bands["band"].tolist() == ["≤ 90 min", "> 90 min", "unknown"]
    assert res.covered_population == 1400  # a and g; b (120 min) is now beyond
    assert res.band_population("≤ 90 min") == res.covered_population


def test_polygon_units_use_a_point_inside(
    line_router: LineRouter, two_hours: ProximityRule
) -> None:
    pop = gpd.GeoDataFrame(
        {"population": [10, 20]},
        geometry=[box(0.2, -0.1, 0.4, 0.1), Point(2.0, 0)],
        crs="EPSG:4326",
    )
    res = coverage(SITES, two_hours, line_router, pop)
    assert res.covered_population == 10
    assert res.units["duration_min"].round(3).tolist() == [30.0, 200.0]


def test_projected_population_is_converted(
    line_router: LineRouter, two_hours: ProximityRule
) -> None:
    pop = POPULATION.dropna(subset=["geometry"]).to_crs("EPSG:3857")
    res = coverage(SITES, two_hours, line_router, pop)
    assert res.covered_population == 3400


def test_bad_population_is_an_error_not_a_drop(
    line_router: LineRouter, two_hours: ProximityRule
) -> None:
    pop = POPULATION.copy()
    pop.loc[2, "population"] = np.nan
    with pytest.raises(ValidationError, match="none is dropped silently"):
        coverage(SITES, two_hours, line_router, pop)
    pop.loc[2, "population"] = -5
    with pytest.raises(ValidationError):
        coverage(SITES, two_hours, line_router, pop)
    with pytest.raises(ValidationError, match="no 'people' column"):
        coverage(SITES, two_hours, line_router, POPULATION, population_column="people")


def test_sites_without_points(line_router: LineRouter, two_hours: ProximityRule) -> None:
    nowhere = points_frame([{"site_id": "X", "lon": None, "lat": None}])
    with pytest.raises(ValidationError, match="no site has coordinates"):
        coverage(nowhere, two_hours, line_router, POPULATION)
    mixed = pd.concat([SITES, nowhere], ignore_index=True)
    res = coverage(gpd.GeoDataFrame(mixed, crs="EPSG:4326"), two_hours, line_router, POPULATION)
    assert res.sites_skipped == 1 and res.covered_population == 3400
    assert any("sites without coordinates" in n for n in res.notes)


class BoundsRouter(LineRouter):
    """Answers like a screening engine: exact inside the horizon; beyond it only "over the
    horizon + 15 min" (as the Valhalla engine's outer contour reports)."""

    def nearest(self, origins, destinations, horizon_s=None) -> NearestResult:  # type: ignore[no-untyped-def]
        exact = Router.nearest(self, origins, destinations, None)
        beyond = np.isfinite(exact.duration_s) & (exact.duration_s > (horizon_s or np.inf) + 900)
        return NearestResult(
            index=np.where(beyond, -1, exact.index),  # like Valhalla: nearest site not known
            duration_s=np.where(beyond, np.nan, exact.duration_s),
            lower_s=np.where(beyond, (horizon_s or 0) + 900.0, exact.lower_s),
            upper_s=np.where(beyond, np.nan, exact.upper_s),
            distance_m=np.where(beyond, np.nan, exact.distance_m),
            engine=exact.engine,
            edge_warning=exact.edge_warning,
            method=np.where(beyond, "screened", exact.method),
        )


def test_screened_bounds_decide_the_rule_but_not_the_band(two_hours: ProximityRule) -> None:
    exact = coverage(SITES, two_hours, BoundsRouter(), POPULATION)  # default: exact times
    assert exact.bands.set_index("band").loc["unknown", "population"] == 800
    res = coverage(SITES, two_hours, BoundsRouter(), POPULATION, screen=True)
    assert res.covered_population == 3400
    assert res.outside_population == 800  # c routed, d only "over 2 h 15 min": enough for the rule
    u = res.units.set_index("unit_id")
    assert u.loc["c", "band"] == "2–5 h" and u.loc["c", "method"] == "routed"
    assert u.loc["d", "band"] == "unknown" and u.loc["d", "method"] == "screened"
    assert bool(u.loc["d", "within_rule"]) is False
    assert u.loc["d", "note"] == "only bounds known for the drive time"
    assert u.loc["d", "nearest_site_id"] == "" and u.loc["e", "note"] == "no route to any site"
    assert res.bands.set_index("band").loc["unknown", "population"] == 300 + 800


class MixedRouter(LineRouter):
    """Like the auto engine: routed where it has data (lon < 3), estimated elsewhere."""

    def nearest(self, origins, destinations, horizon_s=None) -> NearestResult:  # type: ignore[no-untyped-def]
        res = Router.nearest(self, origins, destinations, horizon_s)
        est = np.asarray(origins, dtype=float)[:, 0] >= 3
        return dataclasses.replace(res, estimated=est, labels=np.where(est, "estimate", "line"))


def test_mixed_engines_are_labelled_per_unit(two_hours: ProximityRule) -> None:
    res = coverage(SITES, two_hours, MixedRouter(), POPULATION)
    u = res.units.set_index("unit_id")
    assert u.loc["g", "engine"] == "estimate" and bool(u.loc["g", "estimated"])
    assert u.loc["a", "engine"] == "line" and not bool(u.loc["a", "estimated"])
    assert res.estimated_share == pytest.approx(400 / 5000)
    assert any("8.0% of the population was answered by the estimate" in n for n in res.notes)


def test_totals_preserved_on_national_data() -> None:
    from sites import load_site_set

    nci = load_site_set("nci-centers")
    rule = ProximityRule(name="r", max_drive_min=120, min_days=1)
    for kind, people in (("county", 334_735_155), ("zcta", 335_555_510)):
        res = coverage(nci, rule, get_router("estimate"), kind)
        assert res.total_population == people
        assert res.bands["population"].sum() == people
        assert res.by_state["population"].sum() == people
        assert res.covered_population + res.uncovered_population == people
        assert res.units["population"].sum() == people
        assert res.unknown_population == 0
        # Plausibility a planner checks: most Americans are within 2 h of an NCI centre,
        # but not nearly all, and no one in Louisiana (no NCI centre within 2 h there).
        assert 0.6 < res.share_covered < 0.9
        assert (
            res.by_state.loc["LA", "covered_population"]
            < 0.05 * res.by_state.loc["LA", "population"]
        )
        assert res.by_state.loc["NJ", "share_covered"] > 0.95
