"""What callers used to guess, asked of every engine kind: ``is_estimate``, ``graphs()``,
``reach_bound_m(horizon_s)`` (:class:`geo.routing.base.Router`).

References: the graph each engine was opened on (the manifest itself), the hand-computed bound
(130 km/h for 2 h = 260 km), the estimate model's own forward formula, and the routed times of
a real engine on the synthetic grid (no routed drive may beat the bound).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geo.geodesy import haversine_km
from geo.routing.auto import AutoRouter
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, Router, reach_bound_m
from geo.routing.cache import CachedRouter, DiskCache
from geo.routing.estimate import EstimateParams, EstimateRouter
from geo.routing.osrm import OsrmRouter
from geo.routing.second_opinion import SecondOpinionRouter
from geo.settings import Settings

Grid = Any  # tests/engine/conftest.py: the session's synthetic grid (spec, manifest, router)

pytestmark = pytest.mark.engine

TWO_HOURS_S = 7200.0


def test_the_bound_by_hand() -> None:
    # 130 km/h for 2 h is 260 km; for 30 min, 65 km.
    assert reach_bound_m(TWO_HOURS_S) == pytest.approx(260_000.0, rel=1e-12)
    assert reach_bound_m(1800.0) == pytest.approx(65_000.0, rel=1e-12)
    assert reach_bound_m(3600.0, max_speed_kmh=80.0) == pytest.approx(80_000.0, rel=1e-12)
    arr = reach_bound_m(np.array([0.0, 3600.0, np.inf, np.nan]))
    assert arr[:3].tolist() == [0.0, pytest.approx(130_000.0), np.inf]
    assert np.isnan(arr[3])
    assert MAX_PLAUSIBLE_SPEED_KMH == 130.0


def test_estimate() -> None:
    router = EstimateRouter()
    assert router.is_estimate is True
    assert router.graphs() == ()
    bound_m = router.reach_bound_m(TWO_HOURS_S)
    # The model's own forward formula at the bound gives the horizon back, and the bound is
    # tighter than the general one (the estimate never drives 130 km/h as the crow flies).
    at_bound_s = float(router.seconds_for_km(np.array([bound_m / 1000.0]))[0])
    assert at_bound_s == pytest.approx(TWO_HOURS_S, rel=1e-9)
    assert 0 < bound_m < reach_bound_m(TWO_HOURS_S)
    # A place 1 km inside is within; 1 km beyond is not (the estimate answers by distance).
    site = np.array([[-83.0, 40.0]])
    deg_per_km = 1.0 / 111.195  # along a meridian
    ends = np.array(
        [
            [-83.0, 40.0 + (bound_m / 1000.0 - 1.0) * deg_per_km],
            [-83.0, 40.0 + (bound_m / 1000.0 + 1.0) * deg_per_km],
        ]
    )
    seconds = router.drive_times(ends, site).duration_s[:, 0]
    assert seconds[0] <= TWO_HOURS_S < seconds[1]
    # Not finite: the general bound, never a bisection of NaN.
    assert np.isnan(router.reach_bound_m(float("nan")))
    assert router.reach_bound_m(0.0) == 0.0
    # A faster model gets a wider bound: the override follows the parameters.
    fast = EstimateRouter(EstimateParams(v_long_kmh=120.0))
    assert fast.reach_bound_m(TWO_HOURS_S) > bound_m


def _graph_engines(grid: Grid, settings: Settings) -> dict[str, Router]:
    if not grid.manifest.has_osrm:
        pytest.fail("the grid graph was built without OSRM data")
    osrm = OsrmRouter(grid.manifest, settings)
    return {"valhalla": grid.router, "osrm": osrm}


def test_graph_engines_name_their_graph(grid: Grid, engine_settings: Settings) -> None:
    for name, router in _graph_engines(grid, engine_settings).items():
        assert router.is_estimate is False, name
        assert router.graphs() == (grid.manifest,), name
        assert router.reach_bound_m(TWO_HOURS_S) == reach_bound_m(TWO_HOURS_S), name


def test_no_routed_drive_beats_the_bound(grid: Grid, engine_settings: Settings) -> None:
    """Every pair the grid's engines route within a horizon lies inside the reach bound."""
    rng = np.random.default_rng(11)
    # The grid spans 100 × 100 km from (lon0, lat0); sample places on it.
    lon0, lat0 = grid.spec.origin_lon, grid.spec.origin_lat
    pts = np.column_stack((lon0 + rng.uniform(0.02, 0.85, 30), lat0 + rng.uniform(0.02, 0.85, 30)))
    horizon_s = 1800.0
    for name, router in _graph_engines(grid, engine_settings).items():
        m = router.drive_times(pts[:15], pts[15:])
        within = np.isfinite(m.duration_s) & (m.duration_s <= horizon_s)
        assert within.any(), name  # the check must have something to check
        km = haversine_km(pts[:15], pts[15:])
        assert (km[within] * 1000.0 <= router.reach_bound_m(horizon_s)).all(), name
        # …and the bound at the fastest such drive's own time holds too.
        t = m.duration_s[within]
        assert (km[within] * 1000.0 <= reach_bound_m(t)).all(), name


def test_combined_engines_report_the_union(grid: Grid, engine_settings: Settings) -> None:
    engines = _graph_engines(grid, engine_settings)
    osrm, valhalla = engines["osrm"], engines["valhalla"]
    opened: list[int] = []

    def open_valhalla() -> Router:
        opened.append(1)
        return valhalla

    second = SecondOpinionRouter(osrm, open_valhalla)
    assert second.graphs() == (grid.manifest,)
    assert opened == []  # asking for the graphs does not open the second engine
    assert second.is_estimate is False
    assert second.reach_bound_m(TWO_HOURS_S) == osrm.reach_bound_m(TWO_HOURS_S)

    # auto: every local graph once (two engines on one graph count once), estimate fallback.
    estimate = EstimateRouter()
    auto = AutoRouter(engine_settings, local=[second, valhalla], online=None, fallback=estimate)
    assert auto.graphs() == (grid.manifest,)
    assert auto.is_estimate is False  # rows answered by the fallback say so themselves
    assert auto.reach_bound_m(TWO_HOURS_S) == reach_bound_m(TWO_HOURS_S)
    slow = AutoRouter(
        engine_settings, local=[valhalla], online=None, fallback=estimate, reach_speed_kmh=90.0
    )
    assert slow.reach_bound_m(3600.0) == pytest.approx(90_000.0)

    # auto with nothing local answers from no graph.
    bare = AutoRouter(engine_settings, local=[], online=None, fallback=estimate)
    assert bare.graphs() == ()
    assert bare.is_estimate is False


def test_cached_router_passes_through(grid: Grid, tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "routing")
    try:
        cached_graph = CachedRouter(grid.router, disk=cache)
        assert cached_graph.graphs() == (grid.manifest,)
        assert cached_graph.is_estimate is False
        cached_estimate = CachedRouter(EstimateRouter(), disk=cache)
        assert cached_estimate.graphs() == ()
        assert cached_estimate.is_estimate is True
        assert cached_estimate.reach_bound_m(TWO_HOURS_S) == EstimateRouter().reach_bound_m(
            TWO_HOURS_S
        )
    finally:
        cache.close()


def test_without_second_opinions(grid: Grid, engine_settings: Settings, tmp_path: Path) -> None:
    """The quiet copy answers as the primary and never opens the second engine; the original
    still asks it (so the check can fail)."""
    engines = _graph_engines(grid, engine_settings)
    osrm, valhalla = engines["osrm"], engines["valhalla"]
    opened: list[int] = []

    def open_valhalla() -> Router:
        opened.append(1)
        return valhalla

    second = SecondOpinionRouter(osrm, open_valhalla)
    lon0, lat0 = grid.spec.origin_lon, grid.spec.origin_lat
    rng = np.random.default_rng(5)
    places = np.column_stack((lon0 + rng.uniform(0.05, 0.8, 12), lat0 + rng.uniform(0.05, 0.8, 12)))
    sites = np.array([[lon0 + 0.45, lat0 + 0.45]])
    primary = osrm.nearest(places, sites)
    horizon_s = float(np.nanmedian(primary.duration_s))  # half the places fall in the band

    quiet = second.without_second_opinions()
    assert quiet is not second and second.band != quiet.band
    got = quiet.nearest(places, sites, horizon_s)
    np.testing.assert_array_equal(got.duration_s, primary.duration_s)
    assert opened == [] and np.isnan(got.row_second()[0]).all()
    loud = second.nearest(places, sites, horizon_s)
    assert opened == [1] and np.isfinite(loud.row_second()[0]).any()

    estimate = EstimateRouter()
    assert estimate.without_second_opinions() is estimate
    assert valhalla.without_second_opinions() is valhalla
    auto = AutoRouter(engine_settings, local=[second, valhalla], online=None, fallback=estimate)
    quiet_auto = auto.without_second_opinions()
    assert isinstance(quiet_auto, AutoRouter) and quiet_auto is not auto
    assert auto.local[0] is second  # the original is untouched
    first = quiet_auto.local[0]
    assert isinstance(first, SecondOpinionRouter) and first.band == (np.inf, np.inf)
    assert quiet_auto.local[1] is valhalla
    bare = AutoRouter(engine_settings, local=[valhalla], online=None, fallback=estimate)
    assert bare.without_second_opinions() is bare

    cache = DiskCache(tmp_path / "routing")
    try:
        cached = CachedRouter(second, disk=cache)
        quiet_cached = cached.without_second_opinions()
        assert isinstance(quiet_cached, CachedRouter) and quiet_cached.disk is cache
        inner = quiet_cached.router
        assert isinstance(inner, SecondOpinionRouter) and inner.band == (np.inf, np.inf)
        assert cached.router is second
    finally:
        cache.close()
