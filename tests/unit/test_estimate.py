"""The estimate engine against hand-computed numbers."""

import math

import numpy as np
import pytest
from shapely import Point

from geo.errors import RangeLimitError, ValidationError
from geo.geodesy import haversine_km
from geo.routing import EstimateParams, EstimateRouter, get_router
from geo.types import LonLat


def test_haversine_one_degree_of_latitude():
    km = haversine_km(np.array([[0.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    # 1° on a sphere of radius 6371.0088 km = 111.195 km
    assert km[0, 0] == pytest.approx(111.195, abs=0.01)
    assert km[0, 1] == pytest.approx(111.195, abs=0.01)


def test_drive_time_by_hand():
    r = EstimateRouter(EstimateParams(detour=1.3, v_short_kmh=35, v_long_kmh=95, d_scale_km=40))
    # 100 km straight → 130 km of road; speed = 95 − 60·exp(−130/40) = 92.673 km/h
    speed = 95 - 60 * math.exp(-130 / 40)
    expected_s = 130 / speed * 3600
    assert r.seconds_for_km(np.array([100.0]))[0] == pytest.approx(expected_s, rel=1e-9)
    assert expected_s / 60 == pytest.approx(84.17, abs=0.01)
    # 5 km straight → 6.5 km of road at 95 − 60·exp(−6.5/40) = 43.99 km/h → 8.87 min
    assert r.seconds_for_km(np.array([5.0]))[0] / 60 == pytest.approx(8.865, abs=0.01)


def test_calibrated_defaults():
    p = EstimateParams()
    assert (p.detour, p.v_short_kmh, p.v_long_kmh, p.d_scale_km, p.error_fraction) == (
        1.32,
        40.0,
        85.0,
        60.0,
        0.25,
    )
    # 10 km straight in town: 13.2 km of road at 85 − 45·exp(−13.2/60) = 48.887 km/h → 16.20 min
    assert EstimateRouter().seconds_for_km(np.array([10.0]))[0] / 60 == pytest.approx(
        16.20, abs=0.01
    )


def test_matrix_shape_units_and_labels():
    r = EstimateRouter()
    m = r.drive_times(
        [(-92.47, 44.02), (-93.27, 44.98)], [(-92.47, 44.02), (-90.0, 45.0), (-93.0, 44.5)]
    )
    assert m.shape == (2, 3)
    assert (
        m.duration_s[0, 0] == 0
    )  # same point: zero distance, zero time (a real 0, not "unreachable")
    assert np.all(m.duration_s[0, 1:] > 0)
    assert m.engine.is_estimate and m.engine.label == "estimate"
    # distance is road km: straight × detour, the part beyond 158.4 km straight × 1.20
    km = haversine_km(np.array([[-93.27, 44.98]]), np.array([[-90.0, 45.0]]))[0, 0]
    assert km > 158.4
    assert m.distance_m[1, 1] == pytest.approx((158.4 * 1.32 + (km - 158.4) * 1.20) * 1000)


def test_unknown_coordinates_give_nan_not_zero():
    m = EstimateRouter().drive_times(np.array([[np.nan, np.nan]]), [(-92.0, 44.0)])
    assert np.isnan(m.duration_s[0, 0])


def test_out_of_range_points_are_refused():
    with pytest.raises(ValidationError, match="out of range"):
        EstimateRouter().drive_times([(-192.0, 44.0)], [(-92.0, 44.0)])


def test_isochrone_radius_inverts_the_time_model():
    r = EstimateRouter()
    iso = r.isochrones([(-92.47, 44.02)], [60, 120])
    assert list(iso["minutes"]) == [60.0, 120.0]
    assert iso["approximate"].all() and (iso["engine"] == "estimate").all()
    km120 = r.km_for_seconds(np.array([7200.0]))[0]
    assert r.seconds_for_km(np.array([km120]))[0] == pytest.approx(7200, abs=0.5)
    # A point 1 km inside the 2-hour radius (due north) is inside, 1 km beyond is outside.
    inside = LonLat(-92.47, 44.02 + (km120 - 1) / 111.2)
    outside = LonLat(-92.47, 44.02 + (km120 + 1) / 111.2)
    poly = iso.geometry.iloc[1]
    assert poly.contains(Point(inside.lon, inside.lat))
    assert not poly.contains(Point(outside.lon, outside.lat))
    assert iso.geometry.iloc[0].within(poly)


def test_isochrone_input_checked():
    with pytest.raises(ValidationError):
        EstimateRouter().isochrones([(-92.0, 44.0)], [0])


def test_route_is_labelled_as_straight_line():
    route = EstimateRouter().route(LonLat(-93.27, 44.98), LonLat(-92.47, 44.02))
    assert route.engine.is_estimate
    assert "not a road route" in route.notes[0]
    assert route.geometry.coords[0] == (-93.27, 44.98)
    assert route.duration_s == pytest.approx(
        EstimateRouter().drive_times([(-93.27, 44.98)], [(-92.47, 44.02)]).duration_s[0, 0]
    )


def test_short_route_is_a_two_point_line():
    route = EstimateRouter().route(LonLat(-83.0, 40.0), LonLat(-83.01, 40.0))
    assert len(route.geometry.coords) == 2 and route.duration_s > 0


def test_nearest_matches_the_full_matrix():
    r = EstimateRouter()
    rng = np.random.default_rng(1)
    places = np.column_stack([rng.uniform(-100, -80, 500), rng.uniform(30, 45, 500)])
    sites = np.column_stack([rng.uniform(-100, -80, 20), rng.uniform(30, 45, 20)])
    res = r.nearest(places, sites)
    full = r.drive_times(places, sites).duration_s
    assert np.array_equal(res.index, full.argmin(axis=1))
    assert np.allclose(res.duration_s, full.min(axis=1))
    assert set(res.method) == {"estimated"}


def test_custom_parameters_change_the_answer():
    slow = EstimateRouter(EstimateParams(v_short_kmh=20, v_long_kmh=50))
    fast = EstimateRouter()
    km = np.array([50.0])
    assert slow.seconds_for_km(km)[0] > fast.seconds_for_km(km)[0]


def test_get_router_knows_the_estimate_and_refuses_nonsense():
    assert isinstance(get_router("estimate"), EstimateRouter)
    with pytest.raises(ValidationError, match="unknown engine"):
        get_router("teleport")


def test_range_limit_declared_and_checked():
    class Capped(EstimateRouter):
        limits = EstimateRouter.limits.__class__(max_isochrone_min=60)

    with pytest.raises(RangeLimitError, match="up to 60 min"):
        Capped().isochrones([(-92.0, 44.0)], [120])
