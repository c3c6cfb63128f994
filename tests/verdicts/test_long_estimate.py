"""Long trips: the estimate's intercity tail (detour 1.20 at the highway speed beyond 158 km
straight) against hand-computed numbers, and no verdict at the 2 h limit changed by it."""

from __future__ import annotations

import numpy as np
import pytest

from geo.geodesy import haversine_km
from geo.routing.estimate import EstimateParams, EstimateRouter
from geo.rules import get_rule

COLUMBUS = np.array([[-83.0192, 39.9947]])  # OSU James Cancer Hospital
HARRISBURG = np.array([[-76.8867, 40.2732]])


def town_model_s(straight_km: np.ndarray) -> np.ndarray:
    """The model before the tail, by hand: road = straight × 1.32 at 85 − 45·exp(−road/60)."""
    road = straight_km * 1.32
    return np.asarray(road / (85.0 - 45.0 * np.exp(-road / 60.0)) * 3600.0)


def test_up_to_150_minutes_nothing_changes() -> None:
    km = np.linspace(0.0, 158.4, 2_000)
    new = EstimateRouter().seconds_for_km(km)
    np.testing.assert_allclose(new, town_model_s(km), rtol=1e-12)
    assert new[-1] / 60 == pytest.approx(150.03, abs=0.01)  # the tail starts at limit + 25 %


def test_columbus_to_harrisburg_by_hand() -> None:
    straight = haversine_km(COLUMBUS, HARRISBURG)[0, 0]
    assert straight == pytest.approx(522.2, abs=0.1)
    by_hand = town_model_s(np.array([158.4]))[0] + (straight - 158.4) * 1.20 / 85.0 * 3600.0
    m = EstimateRouter().drive_times(COLUMBUS, HARRISBURG)
    assert m.duration_s[0, 0] == pytest.approx(by_hand, rel=1e-12)
    assert m.duration_s[0, 0] / 3600 == pytest.approx(7.64, abs=0.01)  # was 8.11 h
    assert town_model_s(np.array([straight]))[0] / 3600 == pytest.approx(8.11, abs=0.01)
    road_by_hand = 158.4 * 1.32 + (straight - 158.4) * 1.20
    assert m.distance_m[0, 0] / 1000 == pytest.approx(road_by_hand, rel=1e-12)


def test_the_tail_is_continuous_increasing_and_inverted_by_the_isochrone_radius() -> None:
    r = EstimateRouter()
    km = np.linspace(1.0, 1_500.0, 5_000)
    s = r.seconds_for_km(km)
    assert (np.diff(s) > 0).all()
    edge = r.seconds_for_km(np.array([158.4 - 1e-9, 158.4 + 1e-9]))
    assert edge[1] - edge[0] < 1e-3  # no jump where the tail starts
    back = r.km_for_seconds(r.seconds_for_km(np.array([50.0, 300.0, 900.0])))
    np.testing.assert_allclose(back, [50.0, 300.0, 900.0], rtol=1e-9)


def test_no_verdict_at_the_2_hour_limit_changes() -> None:
    rule = get_rule("resolution")
    engine = EstimateRouter().info
    km = np.linspace(0.0, 1_000.0, 20_001)
    estimated = np.ones(len(km), dtype=bool)
    new = rule.verdicts(EstimateRouter().seconds_for_km(km), engine, estimated)
    old = rule.verdicts(town_model_s(km), engine, estimated)
    np.testing.assert_array_equal(new, old)
    assert {"within", "borderline", "outside"} <= set(new.tolist())


def test_no_tail_gives_the_town_model_everywhere() -> None:
    """The tail is a parameter: set beyond every trip, the old model comes back exactly."""
    r = EstimateRouter(EstimateParams(tail_from_km=np.inf))
    km = np.array([10.0, 522.0, 2_000.0])
    np.testing.assert_allclose(r.seconds_for_km(km), town_model_s(km), rtol=1e-12)


def test_a_longer_limit_reaches_a_little_farther() -> None:
    """Above 2 h the tail does change verdicts, in one direction only: shorter times, so every
    place `within` before still is, and the within-reach moves out a little (at 240 min from
    191.7 km to 193.8 km straight; at 600 min, the longest the trials page allows, from 482.9
    to 512.5 km). docs/engine.md says so."""
    from geo.rules import custom_rule

    engine = EstimateRouter().info
    km = np.linspace(0.0, 1_500.0, 150_001)
    estimated = np.ones(len(km), dtype=bool)
    for limit, before, after in ((240, 191.67, 193.78), (600, 482.94, 512.53)):
        rule = custom_rule(limit)
        new = rule.verdicts(EstimateRouter().seconds_for_km(km), engine, estimated)
        old = rule.verdicts(town_model_s(km), engine, estimated)
        assert not ((old == "within") & (new != "within")).any()
        assert km[old == "within"].max() == pytest.approx(before, abs=0.01)
        assert km[new == "within"].max() == pytest.approx(after, abs=0.01)
