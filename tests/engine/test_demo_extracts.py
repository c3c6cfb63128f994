"""The engine on the real OpenStreetMap extracts shipped in data/osm (the built-in demo graph)."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import EngineError, OutsideDataError
from geo.routing import get_router
from geo.routing.base import nearest_from_matrix
from geo.routing.cache import CachedRouter
from geo.routing.graph import ensure_demo_graph
from geo.routing.valhalla import EDGE_MESSAGE, ValhallaRouter
from geo.settings import PROJECT_ROOT, Settings
from geo.types import LonLat

pytestmark = pytest.mark.engine

JAMES = LonLat(-83.019169, 39.994656)  # OSU James Cancer Hospital, 460 W 10th Ave, Columbus OH
HERSHEY = LonLat(-76.674842, 40.263754)  # Penn State Health Milton S. Hershey Medical Center
HBG_COMMUNITY = LonLat(-76.816477, 40.284255)  # UPMC Community Osteopathic, Harrisburg PA
DOWNTOWN_COLUMBUS = LonLat(-82.9988, 39.9612)  # Ohio Statehouse
HBG_SOUTH = LonLat(-76.8500, 40.2500)  # Harrisburg, east of the river (inside the extract)


def test_demo_graph_manifest(demo: ValhallaRouter, engine_settings: Settings) -> None:
    g = demo.graph
    assert g.name == "demo" and g.sources == ("harrisburg.osm.pbf", "columbus.osm.pbf")
    assert g.osm_date == "2015-02-07"  # newest OSM timestamp (the Columbus file has none)
    assert demo.info.data == "OSM extract demo of 2015-02-07"
    assert g.covered_area.geom_type == "MultiPolygon"  # two separate cities
    # A second call finds the built graph instead of building again.
    assert ensure_demo_graph(engine_settings).built_at == g.built_at


def test_demo_sites_against_the_road_data(demo: ValhallaRouter) -> None:
    sites = pd.read_csv(PROJECT_ROOT / "data" / "sites" / "demo.csv")
    covered = demo.covers(sites[["lon", "lat"]].to_numpy())
    by_id = dict(zip(sites["site_id"], covered, strict=True))
    # The Harrisburg extract's roads end ~4 km west of Hershey: reported, never guessed.
    assert by_id == {"DEMO-HERSHEY": False, "DEMO-JAMES": True, "DEMO-HBG-COMMUNITY": True}


def test_isochrone_around_the_james(demo: ValhallaRouter) -> None:
    iso = demo.isochrones([JAMES], [5, 20, 60])
    assert list(iso["minutes"]) == [5.0, 20.0, 60.0] and (iso["error"] == "").all()
    areas = iso.to_crs(5070).area.to_numpy() / 1e6
    assert 10 < areas[0] < areas[1] < areas[2]  # km²; grows with time
    assert shapely.contains_xy(iso.geometry.iloc[0], JAMES.lon, JAMES.lat)
    assert shapely.contains_xy(iso.geometry.iloc[1], DOWNTOWN_COLUMBUS.lon, DOWNTOWN_COLUMBUS.lat)
    # The James is ~8.5 km from the extract's edge: 5 minutes stay inside, an hour runs into it.
    assert not iso["touches_data_edge"].iloc[0] and iso["touches_data_edge"].iloc[2]


def test_isochrone_around_hershey_is_honest(demo: ValhallaRouter) -> None:
    iso = demo.isochrones([HERSHEY, HBG_COMMUNITY], [15, 30])
    hershey, community = iso[iso["point_index"] == 0], iso[iso["point_index"] == 1]
    assert hershey.geometry.is_empty.all() and hershey["touches_data_edge"].all()
    assert hershey["error"].str.contains(EDGE_MESSAGE).all()
    assert not community.geometry.is_empty.any() and (community["error"] == "").all()
    assert shapely.contains_xy(community.geometry.iloc[1], HBG_SOUTH.lon, HBG_SOUTH.lat)


def test_matrix_on_real_roads(demo: ValhallaRouter) -> None:
    pts = [JAMES, DOWNTOWN_COLUMBUS, HBG_COMMUNITY, HBG_SOUTH, HERSHEY]
    m = demo.drive_times(pts, pts)
    d = m.duration_s
    assert 240 < d[0, 1] < 900 and 240 < d[1, 0] < 900  # James ↔ Statehouse: ~7 min
    assert 300 < d[2, 3] < 1200  # across Harrisburg: ~11 min
    assert 4_000 < m.distance_m[0, 1] < 10_000
    assert np.isnan(d[0, 2]) and np.isnan(d[2, 0])  # Columbus ↔ Harrisburg: not in the data
    assert np.isnan(d[4]).all() and np.isnan(d[:, 4]).all()  # Hershey: outside the data
    assert m.edge_warning is not None
    assert m.edge_warning[4].all() and m.edge_warning[0, 2]
    assert not m.edge_warning[0, 1]  # a short trip well inside Columbus


def test_route_on_real_roads(demo: ValhallaRouter) -> None:
    r = demo.route(JAMES, DOWNTOWN_COLUMBUS)
    assert 240 < r.duration_s < 900 and 4_000 < r.distance_m < 10_000
    start, end = np.asarray(r.geometry.coords)[[0, -1]]
    assert np.hypot(*(start - [JAMES.lon, JAMES.lat])) < 0.003  # snapped within ~250 m
    assert np.hypot(*(end - [DOWNTOWN_COLUMBUS.lon, DOWNTOWN_COLUMBUS.lat])) < 0.003
    assert r.notes == () and r.engine.name == "valhalla"
    with pytest.raises(OutsideDataError, match="outside the road data"):
        demo.route(HBG_COMMUNITY, HERSHEY)
    with pytest.raises(EngineError, match="no road route"):
        demo.route(JAMES, HBG_COMMUNITY)


def test_data_edge_warning_on_a_long_question(demo: ValhallaRouter) -> None:
    # Screened with a 2-hour horizon, every answer in a 40-km extract may be cut short: flagged.
    screening = ValhallaRouter(demo.graph, screen_min_origins=0, screening="always")
    res = screening.nearest([DOWNTOWN_COLUMBUS], [JAMES], horizon_s=120 * 60.0)
    assert res.edge_warning.all()
    assert res.upper_s[0] <= 60 * 60  # still decided: well within (inside the 1-hour contour)
    # One place is routed exactly even with a horizon: the coordinator gets the drive time.
    single = demo.nearest([DOWNTOWN_COLUMBUS], [JAMES], horizon_s=120 * 60.0)
    assert single.method[0] == "routed" and 240 < single.duration_s[0] < 900
    # A short exact question far from the edge is not flagged.
    exact = demo.nearest([DOWNTOWN_COLUMBUS], [JAMES])
    assert not exact.edge_warning[0] and 240 < exact.duration_s[0] < 900


def test_get_router_valhalla(engine_settings: Settings) -> None:
    router = get_router("valhalla", graph="demo", settings=engine_settings)
    # The engine, in the one caching wrapper (the process-wide nearest memory).
    assert isinstance(router, CachedRouter) and isinstance(router.router, ValhallaRouter)
    assert router.info.name == "valhalla"


@pytest.mark.parametrize("limit_min", [15, 30])
def test_screening_never_contradicts_routing_on_real_roads(
    demo: ValhallaRouter, limit_min: int
) -> None:
    # Real one-way roads make a drive to a site and one from it differ by up to ~20 min here,
    # and random places sit up to ~2 km from the extract's roads: screening must still never
    # call a place within (or outside) when routing says otherwise.
    # 2,400 places (800 before the inner polygons were drawn 2.5 min inside their bound, to
    # make 'under X min' true): at 15 min fewer places are screened, still at least 40.
    screening = ValhallaRouter(demo.graph, demo.settings, screen_min_origins=0, screening="always")
    rng = np.random.default_rng(3)
    area = demo.graph.covered_area
    minx, miny, maxx, maxy = area.bounds
    xs, ys = rng.uniform(minx, maxx, 60_000), rng.uniform(miny, maxy, 60_000)
    keep = shapely.contains_xy(area, xs, ys)
    places = np.column_stack([xs[keep], ys[keep]])[:2400]
    sites = np.array([[JAMES.lon, JAMES.lat], [HBG_COMMUNITY.lon, HBG_COMMUNITY.lat]])
    horizon = limit_min * 60.0
    scr = screening.nearest(places, sites, horizon_s=horizon)
    full = nearest_from_matrix(demo.drive_times(places, sites)).duration_s
    routed_within = full <= horizon
    assert not np.any(~routed_within & (scr.upper_s <= horizon))  # no false within
    assert not np.any(routed_within & (scr.lower_s > horizon))  # no false outside
    assert (scr.method == "screened").sum() >= 40  # and screening did decide places


# --- exactness on real roads (one-way streets: place → site differs from site → place) -----------
def route_reference_s(config_path: object, places: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Valhalla ``route`` seconds place → site for every pair, straight from a fresh Actor."""
    from valhalla import Actor

    actor = Actor(str(config_path))
    out = np.full((len(places), len(sites)), np.nan)
    for i, p in enumerate(places):
        for j, s in enumerate(sites):
            req = {
                "locations": [{"lon": p[0], "lat": p[1]}, {"lon": s[0], "lat": s[1]}],
                "costing": "auto",
            }
            with contextlib.suppress(RuntimeError):  # no route: NaN
                out[i, j] = actor.route(req)["trip"]["summary"]["time"]
    return out


def within_contract(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per value: within 0.5 % or 6 s of the route time (NaN on both sides counts as equal)."""
    both_nan = np.isnan(got) & np.isnan(ref)
    close = np.abs(got - ref) <= np.maximum(0.005 * np.abs(ref), 6.0)
    return np.asarray(both_nan | close, dtype=bool)


def columbus_points(demo: ValhallaRouter, k: int, seed: int) -> np.ndarray:
    """Random points of the Columbus part of the demo data."""
    rng = np.random.default_rng(seed)
    xs, ys = rng.uniform(-83.2, -82.85, 4 * k), rng.uniform(39.9, 40.08, 4 * k)
    keep = demo.covers(np.column_stack([xs, ys]))
    return np.column_stack([xs[keep], ys[keep]])[:k]


COLUMBUS_SITES = np.array(
    [
        [JAMES.lon, JAMES.lat],
        [DOWNTOWN_COLUMBUS.lon, DOWNTOWN_COLUMBUS.lat],
        [-83.1, 40.05],  # Dublin side
        [-82.88, 39.93],  # south-east
        [-82.93, 40.06],  # north-east
    ]
)


def test_drive_times_are_place_to_site_routes_on_real_roads(demo: ValhallaRouter) -> None:
    places = columbus_points(demo, 30, seed=21)
    m = demo.drive_times(places, COLUMBUS_SITES[:3])
    ref = route_reference_s(demo.graph.config_path, places, COLUMBUS_SITES[:3])
    assert np.isfinite(ref).mean() > 0.9
    assert within_contract(m.duration_s, ref).all()
    # The other direction is not what was asked: on these one-way streets it differs.
    back = route_reference_s(demo.graph.config_path, COLUMBUS_SITES[:3], places).T
    assert (~within_contract(back, ref)).sum() >= 5


def test_nearest_is_the_route_to_the_nearest_site_on_real_roads(demo: ValhallaRouter) -> None:
    places = columbus_points(demo, 60, seed=22)
    res = demo.nearest(places, COLUMBUS_SITES)  # five sites: candidates from the matrix
    ref = route_reference_s(demo.graph.config_path, places, COLUMBUS_SITES)
    best = np.nanmin(ref, axis=1)
    assert set(res.method) == {"routed"}
    assert within_contract(res.duration_s, best).all()
    assert within_contract(res.duration_s, ref[np.arange(len(places)), res.index]).all()


@pytest.mark.parametrize("limit_min", [12, 20])
def test_screened_rows_are_bounds_and_routed_rows_are_routes_on_real_roads(
    demo: ValhallaRouter, limit_min: int
) -> None:
    places = columbus_points(demo, 150, seed=23)
    sites = COLUMBUS_SITES[[0, 2]]
    horizon = limit_min * 60.0
    screening = ValhallaRouter(demo.graph, demo.settings, screening="always")
    res = screening.nearest(places, sites, horizon_s=horizon)
    ref = route_reference_s(demo.graph.config_path, places, sites)
    best = np.nanmin(ref, axis=1)
    routed, screened = res.method == "routed", res.method == "screened"
    assert screened.any() and routed.any()
    assert np.isnan(res.duration_s[screened]).all()
    found = routed & np.isfinite(res.duration_s)
    assert within_contract(res.duration_s[found], best[found]).all()
    # Verdicts: none within when the route says otherwise, none outside when it says within.
    assert not np.any((best > horizon) & (res.upper_s <= horizon))
    assert not np.any((best <= horizon) & (res.lower_s > horizon))
