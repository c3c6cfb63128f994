"""The openrouteservice engine answers what callers used to guess (``is_estimate``,
``graphs()``, ``reach_bound_m``), against the local ORS stub (offline).

The stub drives at 6,000 s per degree of L1 distance, never faster than the bound's 130 km/h in
a straight line, so every pair it answers within a horizon must lie inside the bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from geo.geodesy import haversine_km
from geo.routing.auto import AutoRouter
from geo.routing.base import reach_bound_m
from geo.routing.estimate import EstimateRouter
from geo.routing.ors import OrsRouter
from geo.settings import Settings

MakeRouter = Callable[..., OrsRouter]


def test_ors_is_routed_and_holds_no_graph(make_router: MakeRouter) -> None:
    router = make_router()
    assert router.is_estimate is False
    assert router.graphs() == ()
    assert router.reach_bound_m(7200.0) == pytest.approx(260_000.0)
    assert router.without_second_opinions() is router


def test_ors_answers_lie_inside_the_bound(make_router: MakeRouter) -> None:
    router = make_router()
    origins = np.array([[-83.0, 40.0], [-83.2, 40.1], [-82.5, 39.7]])
    sites = np.array([[-83.1, 40.05], [-82.0, 39.0]])
    m = router.drive_times(origins, sites)
    assert m.engine.is_estimate is router.is_estimate
    horizon_s = 3600.0
    within = np.isfinite(m.duration_s) & (m.duration_s <= horizon_s)
    assert within.any() and not within.all()  # both sides of the horizon are present
    km = haversine_km(origins, sites)
    assert (km[within] * 1000.0 <= router.reach_bound_m(horizon_s)).all()
    assert (km[within] * 1000.0 <= reach_bound_m(m.duration_s[within])).all()


def test_auto_over_ors_holds_no_graph(make_router: MakeRouter) -> None:
    auto = AutoRouter(Settings(), local=[], online=make_router(), fallback=EstimateRouter())
    assert auto.graphs() == ()
    assert auto.is_estimate is False
    assert auto.reach_bound_m(7200.0) == reach_bound_m(7200.0)
