"""The ``osrm`` engine on the demo graph: exact tables, direction, data edge, snap guard."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

from geo.errors import EngineError, OutsideDataError
from geo.routing.data_edge import EDGE_MESSAGE
from geo.routing.osrm import DEFAULT_MAX_SNAP_M, OsrmRouter
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings

pytestmark = pytest.mark.engine

# Columbus OH: OSU James Cancer Hospital, the Ohio Statehouse, Nationwide Children's Hospital.
SITES = np.array([[-83.019169, 39.994656], [-82.9988, 39.9612], [-82.9795, 39.9530]])


@pytest.fixture(scope="module")
def osrm_demo(demo: ValhallaRouter, engine_settings: Settings) -> OsrmRouter:
    return OsrmRouter(demo.graph, engine_settings)


@pytest.fixture(scope="module")
def places(osrm_demo: OsrmRouter) -> np.ndarray[Any, Any]:
    """60 random places inside the Columbus part of the demo data (seeded)."""
    area = osrm_demo.graph.covered_area
    part = max(
        shapely.get_parts(area), key=lambda p: p.intersection(shapely.box(-84, 39, -82, 41)).area
    )
    rng = np.random.default_rng(20261130)
    x0, y0, x1, y1 = part.bounds
    cand = np.c_[rng.uniform(x0, x1, 2000), rng.uniform(y0, y1, 2000)]
    inside = shapely.contains_xy(part, cand[:, 0], cand[:, 1])
    out: np.ndarray[Any, Any] = cand[inside][:60]
    return out


def test_info_and_sites_covered(osrm_demo: OsrmRouter) -> None:
    assert osrm_demo.info.name == "osrm"
    assert osrm_demo.info.label == "osrm · OSM extract demo of 2015-02-07"
    assert not osrm_demo.info.is_estimate
    assert osrm_demo.covers(SITES).all()


def test_table_equals_route_place_to_site(
    osrm_demo: OsrmRouter, places: np.ndarray[Any, Any]
) -> None:
    m = osrm_demo.drive_times(places, SITES)
    assert m.duration_s.shape == (len(places), 3)
    ok = np.isfinite(m.duration_s)
    assert ok.sum() >= 40 * 3  # at least 40 places × 3 sites answered
    worst = 0.0
    for i, j in zip(*np.nonzero(ok), strict=True):
        r = osrm_demo.route(places[i], SITES[j])
        tol = max(0.005 * r.duration_s, 6.0)
        assert abs(m.duration_s[i, j] - r.duration_s) <= tol, (
            i,
            j,
            m.duration_s[i, j],
            r.duration_s,
        )
        assert m.distance_m[i, j] == pytest.approx(r.distance_m, rel=0.005, abs=50)
        worst = max(worst, abs(m.duration_s[i, j] - r.duration_s))
    assert (m.duration_s[ok] > 0).all()


def test_direction_is_place_to_site(osrm_demo: OsrmRouter, places: np.ndarray[Any, Any]) -> None:
    fwd = osrm_demo.drive_times(places, SITES).duration_s
    back = osrm_demo.drive_times(SITES, places).duration_s.T
    diff = np.abs(fwd - back)
    asym = np.argwhere(diff > 60.0)
    assert len(asym) >= 3, "one-way streets should make some trips differ by over a minute"
    for i, j in asym[:5]:
        to_site = osrm_demo.route(places[i], SITES[j]).duration_s
        from_site = osrm_demo.route(SITES[j], places[i]).duration_s
        assert abs(fwd[i, j] - to_site) <= max(0.005 * to_site, 6.0)
        assert abs(fwd[i, j] - from_site) > 6.0


def test_point_outside_the_data_gets_nan_and_edge(osrm_demo: OsrmRouter) -> None:
    area_m = osrm_demo.edge.project(osrm_demo.graph.covered_area)
    # Walk west from the James until 5 km beyond the data.
    lon = SITES[0, 0]
    while True:
        lon -= 0.005
        p = np.array([[lon, SITES[0, 1]]])
        q = osrm_demo.edge.project(shapely.Point(p[0]))
        if not osrm_demo.covers(p)[0] and area_m.distance(q) >= 5_000:
            break
    m = osrm_demo.drive_times(np.vstack([p, SITES[:1]]), SITES)
    assert np.isnan(m.duration_s[0]).all() and m.edge_warning is not None
    assert m.edge_warning[0].all()
    assert np.isfinite(m.duration_s[1]).all()
    # Raw OSRM would have snapped it onto a road and answered: the guard is what stops it.
    import osrm

    raw = osrm_demo.engine.Table(
        osrm.TableParameters(coordinates=[tuple(p[0]), tuple(SITES[0])], annotations=["duration"])
    )
    assert raw["durations"][0][1] is not None and float(raw["durations"][0][1]) > 0
    with pytest.raises(OutsideDataError, match="outside the road data"):
        osrm_demo.route(p[0], SITES[0])


def test_snap_guard(
    demo: ValhallaRouter, engine_settings: Settings, places: np.ndarray[Any, Any]
) -> None:
    import osrm

    assert DEFAULT_MAX_SNAP_M == 3_000.0
    router = OsrmRouter(demo.graph, engine_settings)
    raw = router.engine.Nearest(osrm.NearestParameters(coordinates=[tuple(places[0])]))
    snap_m = float(raw["waypoints"][0]["distance"])
    assert snap_m > 0.5
    strict = OsrmRouter(demo.graph, engine_settings, max_snap_m=snap_m - 0.5)
    loose = OsrmRouter(demo.graph, engine_settings, max_snap_m=snap_m + 0.5)
    a = strict.drive_times(places[:1], SITES)
    b = loose.drive_times(places[:1], SITES)
    assert np.isnan(a.duration_s).all() and a.edge_warning is not None and a.edge_warning.all()
    assert np.isfinite(b.duration_s).all()
    with pytest.raises(OutsideDataError, match="from any road"):
        strict.route(places[0], SITES[0])


def test_isochrones_come_from_valhalla(osrm_demo: OsrmRouter) -> None:
    iso = osrm_demo.isochrones(SITES[:1], [10])
    assert len(iso) == 1 and iso["engine"].iloc[0].startswith("valhalla · ")
    assert not iso.geometry.iloc[0].is_empty


def test_route_has_geometry_and_same_point_is_zero(osrm_demo: OsrmRouter) -> None:
    r = osrm_demo.route(SITES[0], SITES[1])
    assert r.geometry.length > 0 and r.duration_s > 0 and r.distance_m > 0
    assert r.engine.name == "osrm"
    same = osrm_demo.drive_times(SITES[:1], SITES[:1]).duration_s
    assert same[0, 0] == 0.0
    assert EDGE_MESSAGE


class _FakeEngine:
    """Stands in for osrm.OSRM: answers a fixed table."""

    def __init__(self, durations: list[list[float | None]]) -> None:
        self.durations = durations

    def Table(self, params: Any) -> dict[str, Any]:
        n, m = len(self.durations), len(self.durations[0])
        return {
            "durations": self.durations,
            "distances": [[1000.0] * m for _ in range(n)],
            "sources": [{"distance": 1.0, "location": [-83.0 + 0.01 * i, 39.96]} for i in range(n)],
            "destinations": [
                {"distance": 1.0, "location": [-82.9, 39.97 + 0.01 * j]} for j in range(m)
            ],
        }


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf")])
def test_impossible_engine_output_is_an_error(
    demo: ValhallaRouter, engine_settings: Settings, bad: float
) -> None:
    router = OsrmRouter(demo.graph, engine_settings)
    router._engine = _FakeEngine([[600.0, bad]])
    with pytest.raises(EngineError, match="impossible drive time"):
        router.drive_times(SITES[:1], SITES[1:])
    router._engine = _FakeEngine([[600.0, None]])  # no route: NaN, flagged, not an error
    m = router.drive_times(SITES[:1], SITES[1:])
    assert m.duration_s[0, 0] == 600.0 and np.isnan(m.duration_s[0, 1])
    assert m.edge_warning is not None and m.edge_warning[0, 1]


def _great_circle_km(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Haversine on a 6371 km sphere, written out here (not the package's geodesy)."""
    lon1, lat1 = np.radians(a[:, None, 0]), np.radians(a[:, None, 1])
    lon2, lat2 = np.radians(b[None, :, 0]), np.radians(b[None, :, 1])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    out: np.ndarray[Any, Any] = 2 * 6371.0 * np.arcsin(np.sqrt(h))
    return out


def test_identical_points_are_asked_once_and_answered_like_routes(
    demo: ValhallaRouter, engine_settings: Settings, places: np.ndarray[Any, Any]
) -> None:
    router = OsrmRouter(demo.graph, engine_settings)
    asked: list[int] = []
    table_block = router._table_block

    def spy(o: np.ndarray[Any, Any], d: np.ndarray[Any, Any]) -> Any:
        asked.append(len(o))
        return table_block(o, d)

    router._table_block = spy  # type: ignore[method-assign]
    pts = np.vstack([places[:4], places[:4][::-1], places[1:2], places[1:2]])  # 10 rows, 4 points
    m = router.drive_times(pts, np.vstack([SITES, SITES[:1]]))
    assert asked == [4]
    assert m.duration_s.shape == (10, 4)
    np.testing.assert_array_equal(m.duration_s[:, 3], m.duration_s[:, 0])
    for i, j in [(0, 0), (7, 1), (8, 2), (9, 3), (4, 2)]:
        site = SITES[j % 3]
        r = router.route(pts[i], site)
        assert abs(m.duration_s[i, j] - r.duration_s) <= max(0.005 * r.duration_s, 6.0)
        assert m.distance_m[i, j] == pytest.approx(r.distance_m, rel=0.005, abs=50)


def test_nearest_screens_only_places_no_drive_can_bring_in_time(
    osrm_demo: OsrmRouter, places: np.ndarray[Any, Any]
) -> None:
    from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH

    horizon_s = 240.0  # 4 min: 8.7 km at the plausible speed; most demo places are farther
    km = _great_circle_km(places, SITES)
    far = km.min(axis=1) > MAX_PLAUSIBLE_SPEED_KMH * horizon_s / 3600
    assert 5 <= far.sum() <= len(places) - 5, far.sum()
    res = osrm_demo.nearest(places, SITES, horizon_s=horizon_s)
    exact = osrm_demo.nearest(places, SITES)
    np.testing.assert_array_equal(res.method == "screened", far)
    # Screened: a bound only, above the horizon, and true: every route takes longer.
    assert (res.index[far] == -1).all() and np.isnan(res.duration_s[far]).all()
    assert np.isinf(res.upper_s[far]).all() and not res.edge_warning[far].any()
    want = km.min(axis=1)[far] / MAX_PLAUSIBLE_SPEED_KMH * 3600
    np.testing.assert_allclose(res.lower_s[far], want, rtol=0.005)
    assert (res.lower_s[far] > horizon_s).all()
    for i in np.flatnonzero(far)[:8]:
        routes = [osrm_demo.route(places[i], s).duration_s for s in SITES]
        assert min(routes) > res.lower_s[i] > horizon_s
    # Routed: exactly what the unscreened search says.
    near = ~far
    np.testing.assert_array_equal(res.index[near], exact.index[near])
    np.testing.assert_array_equal(res.duration_s[near], exact.duration_s[near])
    assert (res.method[near] == "routed").all()


def test_screened_places_are_outside_in_a_check(
    osrm_demo: OsrmRouter, places: np.ndarray[Any, Any]
) -> None:
    import geopandas as gpd

    from geo.proximity import check
    from geo.rules import custom_rule

    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C"], "name": ["a", "b", "c"]},
        geometry=gpd.points_from_xy(SITES[:, 0], SITES[:, 1]),
        crs="EPSG:4326",
    )
    rule = custom_rule(4, margin_min=1)
    out = check([tuple(p) for p in places], sites, rule, osrm_demo)
    far = _great_circle_km(places, SITES).min(axis=1) > 130.0 * 4 / 60
    assert far.any()
    assert (out["verdict"].to_numpy()[far] == "outside").all()
    assert out["drive_min"].isna().to_numpy()[far].all()
    # Routed rows: the rule on the exact nearest route time (a routed `outside` whose drive
    # touches the end of the demo data is `unknown`; the screened rows above are not).
    routed = osrm_demo.nearest(places[~far], SITES)
    want = rule.verdicts(routed.duration_s)
    want[routed.edge_warning & (want == "outside")] = "unknown"
    np.testing.assert_array_equal(out["verdict"].to_numpy()[~far], want)


def test_one_site_for_many_places_equals_its_column_and_the_route(
    osrm_demo: OsrmRouter, places: np.ndarray[Any, Any]
) -> None:
    # One destination is sent twice (OSRM's one-to-many search is slow for many origins).
    one = osrm_demo.drive_times(places[:8], SITES[1:2])
    assert one.duration_s.shape == (8, 1)
    full = osrm_demo.drive_times(places[:8], SITES)
    np.testing.assert_array_equal(one.duration_s[:, 0], full.duration_s[:, 1])
    np.testing.assert_array_equal(one.distance_m[:, 0], full.distance_m[:, 1])
    for i in (0, 5):
        r = osrm_demo.route(places[i], SITES[1])
        assert abs(one.duration_s[i, 0] - r.duration_s) <= max(0.005 * r.duration_s, 6.0)


def test_a_batch_check_sends_one_table_per_table_worth_of_places(
    demo: ValhallaRouter, engine_settings: Settings
) -> None:
    import geopandas as gpd

    from geo.proximity import check
    from geo.rules import custom_rule

    router = OsrmRouter(demo.graph, engine_settings)
    assert router.limits.max_matrix_pairs == router.chunk_pairs
    asked: list[int] = []
    table_block = router._table_block

    def spy(o: np.ndarray[Any, Any], d: np.ndarray[Any, Any]) -> Any:
        asked.append(len(o))
        return table_block(o, d)

    router._table_block = spy  # type: ignore[method-assign]
    rng = np.random.default_rng(7)
    pts = np.c_[rng.uniform(-83.05, -82.95, 2_100), rng.uniform(39.94, 40.02, 2_100)]
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C"], "name": ["a", "b", "c"]},
        geometry=gpd.points_from_xy(SITES[:, 0], SITES[:, 1]),
        crs="EPSG:4326",
    )
    out = check([tuple(p) for p in pts], sites, custom_rule(30, margin_min=5), router)
    assert len(out) == 2_100
    assert asked == [2_100]  # check()'s default chunk is 2,000 places: one table, not two
