"""Both engines on the synthetic truth network: batch vs single vs route vs isochrones vs the
independent reference vs the other engine.

The contract: every drive time the product reports equals the answering engine's own route
for that pair, place → site, within 0.5 % or 6 s. The engines in turn must agree with the
scipy reference on the same edges (:meth:`RoadNetwork.reference_times_s`) under their own speed
model — Valhalla's ``auto`` drives at ``maxspeed``; OSRM's car profile at 80 % of it
(``speed_reduction = 0.8`` in car.lua) — within a measured tolerance: the engines add turn costs
(never making a drive quicker) and measure lengths on their own earth model (OSRM's cheap ruler on
the WGS84 ellipsoid makes north–south lengths near the equator 0.56 % shorter than the sphere).
Structure is asserted exactly: which way round a one-way trip is longer, that a restricted turn
forces the detour, that the island is unreachable (NaN, never 0), that places off the roads get
no confident answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import EngineError
from geo.proximity import check
from geo.routing.base import Router
from geo.rules import custom_rule
from geo.types import LonLat, Verdict

from .conftest import TruthGraph, contract_tol_s, forced_screening, note, report

pytestmark = pytest.mark.engine

SITES_CR = np.array([[30, 30], [70, 50], [50, 80]])
SPEED_FACTOR = {"valhalla": 1.0, "osrm": 0.8}
"""Speed each engine drives at, as a share of ``maxspeed`` (see the module docstring)."""
REF_LOW_REL, REF_LOW_ABS_S = 0.01, 6.0
"""Lower tolerance against the reference: the engines' earth models (OSRM −0.56 % N–S; measured
as low as −0.80 %)."""
REF_HIGH_REL, REF_HIGH_ABS_S = 0.01, 90.0
"""Upper tolerance: turn costs (measured on 40 × 3 pairs, both ways: Valhalla up to +80 s, OSRM
+32 s)."""


def interior_places(k: int, seed: int) -> np.ndarray:
    """Random grid nodes (col, row) two cells from the border and clear of the lake."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(2, 99, size=(4 * k, 2))
    in_lake = ((cells >= 58) & (cells <= 76)).all(axis=1)
    return cells[~in_lake][:k]


def route_s(router: Router, a: np.ndarray, b: np.ndarray) -> float:
    """The engine's own single route a → b in seconds; NaN when it finds none."""
    try:
        return float(router.route(LonLat(*a), LonLat(*b)).duration_s)
    except EngineError:
        return float("nan")


def assert_contract(name: str, got: np.ndarray, route: np.ndarray) -> None:
    """``got`` equals the route time within 0.5 % or 6 s wherever either is known."""
    assert np.array_equal(np.isfinite(got), np.isfinite(route)), f"{name}: NaN pattern differs"
    ok = np.isfinite(route)
    diff = got[ok] - route[ok]
    report(name, diff)
    bad = np.abs(diff) > contract_tol_s(route[ok])
    assert not bad.any(), f"{name}: {bad.sum()} of {bad.size} pairs off the route, worst {diff}"


@dataclass(frozen=True)
class Routes:
    engine: str
    places_cr: np.ndarray
    places: np.ndarray
    sites: np.ndarray
    forward_s: np.ndarray
    """route(place → site), shape (places, sites)."""
    backward_s: np.ndarray
    """route(site → place), shape (places, sites)."""


@pytest.fixture(scope="session")
def truth_routes(truth_graph: TruthGraph, truth_router: Router) -> Routes:
    spec = truth_graph.spec
    cells = interior_places(40, seed=7)
    places = spec.lonlat(cells[:, 0], cells[:, 1])
    sites = spec.lonlat(SITES_CR[:, 0], SITES_CR[:, 1])
    fwd = np.array([[route_s(truth_router, p, s) for s in sites] for p in places])
    bwd = np.array([[route_s(truth_router, s, p) for s in sites] for p in places])
    return Routes(truth_router.name, cells, places, sites, fwd, bwd)


def reference(truth_graph: TruthGraph, routes: Routes, backward: bool = False) -> np.ndarray:
    net = truth_graph.net
    p = net.node(routes.places_cr[:, 0], routes.places_cr[:, 1])
    s = net.node(SITES_CR[:, 0], SITES_CR[:, 1])
    factor = SPEED_FACTOR[routes.engine]
    if backward:
        return net.reference_times_s(s, p, speed_factor=factor).T
    return net.reference_times_s(p, s, speed_factor=factor)


def test_batch_and_single_equal_the_route(truth_router: Router, truth_routes: Routes) -> None:
    r, name = truth_routes, truth_routes.engine
    batch = truth_router.drive_times(r.places, r.sites).duration_s
    assert_contract(f"{name} grid: batch drive_times − route", batch, r.forward_s)
    single = np.vstack([truth_router.drive_times(p[None, :], r.sites).duration_s for p in r.places])
    assert_contract(f"{name} grid: single drive_times − route", single, r.forward_s)
    # The other way round too: sites as origins give site → place routes, not the reverse.
    back = truth_router.drive_times(r.sites, r.places).duration_s.T
    assert_contract(f"{name} grid: batch site → place − route site → place", back, r.backward_s)


def test_nearest_equals_the_route_or_bounds_it(truth_router: Router, truth_routes: Routes) -> None:
    r, name = truth_routes, truth_routes.engine
    best = np.nanmin(r.forward_s, axis=1)
    exact = truth_router.nearest(r.places, r.sites)
    assert_contract(f"{name} grid: nearest − best route", exact.duration_s, best)
    assert np.array_equal(exact.index, np.nanargmin(r.forward_s, axis=1))
    # With the rule's horizon an engine may screen: exact rows equal the route, screened rows
    # carry bounds that hold the route time.
    horizon = 60 * 60.0
    screened = truth_router.nearest(r.places, r.sites, horizon_s=horizon)
    known = np.isfinite(screened.duration_s)
    if known.any():
        assert_contract(
            f"{name} grid: nearest(horizon) − best route", screened.duration_s[known], best[known]
        )
    tol = contract_tol_s(best)
    lower = np.where(np.isfinite(screened.lower_s), screened.lower_s, 0.0)
    upper = np.where(np.isfinite(screened.upper_s), screened.upper_s, np.inf)
    assert np.all(lower <= best + tol), "a lower bound above the route time"
    assert np.all(upper >= best - tol), "an upper bound below the route time"


def test_routes_agree_with_the_reference(truth_graph: TruthGraph, truth_routes: Routes) -> None:
    name = truth_routes.engine
    for backward, got in ((False, truth_routes.forward_s), (True, truth_routes.backward_s)):
        ref = reference(truth_graph, truth_routes, backward)
        which = "site → place" if backward else "place → site"
        diff = got - ref
        report(f"{name} grid: route − scipy reference ({which})", diff)
        report(f"{name} grid: route / scipy reference − 1 ({which})", (got / ref - 1) * 100, "%")
        assert np.isfinite(got).all()
        low = ref * (1 - REF_LOW_REL) - REF_LOW_ABS_S
        high = ref * (1 + REF_HIGH_REL) + REF_HIGH_ABS_S
        assert np.all(got >= low), f"{name} quicker than the reference: {diff.min():.1f} s"
        assert np.all(got <= high), f"{name} slower than the reference: {diff.max():.1f} s"


def test_one_way_trips_are_longer_the_right_way_round(
    truth_graph: TruthGraph, truth_router: Router
) -> None:
    spec, net = truth_graph.spec, truth_graph.net
    f = SPEED_FACTOR[truth_router.name]
    pairs = [((30, 44), (35, 44)), ((35, 46), (30, 46))]  # with the one-way rows' direction
    for a, b in pairs:
        pa, pb = spec.lonlat(*a)[0], spec.lonlat(*b)[0]
        along, against = route_s(truth_router, pa, pb), route_s(truth_router, pb, pa)
        ref_along = net.reference_times_s(net.node(*a), net.node(*b), speed_factor=f)[0, 0]
        ref_against = net.reference_times_s(net.node(*b), net.node(*a), speed_factor=f)[0, 0]
        assert along < against
        report(
            f"{truth_router.name} grid: one-way row {a[1]} (against − along) − reference",
            (against - along) - (ref_against - ref_along),
        )
        assert against - along == pytest.approx(ref_against - ref_along, abs=30.0)
    # The spur village: in by 4 km, out by 14 km — about 22 min apart (at 80 km/h speeds).
    village = spec.village_lonlat()[0]
    centre = spec.lonlat(50, 50)[0]
    to_v, from_v = route_s(truth_router, centre, village), route_s(truth_router, village, centre)
    c, v = int(net.node(50, 50)[0]), net.village
    ref_to = net.reference_times_s(c, v, speed_factor=f)[0, 0]
    ref_from = net.reference_times_s(v, c, speed_factor=f)[0, 0]
    assert from_v - to_v > 0.9 * (ref_from - ref_to)
    assert from_v - to_v == pytest.approx(ref_from - ref_to, abs=REF_HIGH_ABS_S)
    # drive_times(origins=village) is the trip *from* the village.
    m = truth_router.drive_times(np.vstack([village, centre]), np.vstack([centre, village]))
    assert m.duration_s[0, 0] == pytest.approx(from_v, rel=0.005, abs=6)
    assert m.duration_s[1, 1] == pytest.approx(to_v, rel=0.005, abs=6)
    note(
        f"{truth_router.name} grid: village → centre {from_v:.0f} s, centre → village "
        f"{to_v:.0f} s (reference ×{1 / f:g}: {ref_from:.0f} / {ref_to:.0f} s)"
    )


@pytest.mark.parametrize(
    ("a", "b"), [((15, 20), (20, 25)), ((70, 15), (65, 20)), ((70, 15), (75, 20))]
)
def test_turn_restrictions_force_the_detour(
    truth_graph: TruthGraph, truth_router: Router, a: tuple[int, int], b: tuple[int, int]
) -> None:
    spec, net = truth_graph.spec, truth_graph.net
    f = SPEED_FACTOR[truth_router.name]
    got = route_s(truth_router, spec.lonlat(*a)[0], spec.lonlat(*b)[0])
    restricted = net.reference_times_s(net.node(*a), net.node(*b), speed_factor=f)[0, 0]
    free = 450.0 / f  # 5 km + 5 km on primaries through the junction, no detour
    assert restricted > free + 60  # the reference detours (540 s at full speed)
    assert got > free + 60, f"{truth_router.name} drove through the restricted turn: {got:.0f} s"
    assert got == pytest.approx(restricted, rel=0.01, abs=REF_HIGH_ABS_S)


def test_island_is_unreachable_nan_never_zero(
    truth_graph: TruthGraph, truth_router: Router
) -> None:
    spec = truth_graph.spec
    island = spec.island_lonlat([5, 3], [5, 7])
    main = spec.lonlat([50, 20], [50, 30])
    there = truth_router.drive_times(main, island).duration_s
    back = truth_router.drive_times(island, main).duration_s
    assert np.isnan(there).all() and np.isnan(back).all(), (there, back)
    with pytest.raises(EngineError):
        truth_router.route(LonLat(*main[0]), LonLat(*island[0]))
    res = truth_router.nearest(island, main)
    assert (res.index == -1).all() and np.isnan(res.duration_s).all()
    # Within the island, trips are fine (it has roads; it is only cut off).
    inner = truth_router.drive_times(island[:1], island[1:]).duration_s
    assert np.isfinite(inner).all() and (inner > 0).all()


def test_off_road_places_get_no_confident_answer(
    truth_graph: TruthGraph, truth_router: Router
) -> None:
    spec = truth_graph.spec
    places = np.vstack(
        [
            spec.lake_centre_lonlat(),  # 7 km from the nearest road, inside the grid
            spec.lonlat(20, -8),  # 8 km south of the grid
            spec.island_lonlat(5, 5),  # on a road, but no road to any site
        ]
    )
    sites = spec.lonlat([50], [50])
    frame = gpd.GeoDataFrame(
        {"site_id": ["S"], "name": ["Site"]},
        geometry=gpd.points_from_xy(sites[:, 0], sites[:, 1]),
        crs="EPSG:4326",
    )
    # A 300-min rule: every place would be "within" if the engine answered from a snapped road.
    wide = custom_rule(300.0)
    out = check(list(map(tuple, places)), frame, wide, truth_router)
    note(
        f"{truth_router.name} grid: off-road verdicts {list(out['verdict'])}, "
        f"drive_min {list(out['drive_min'])}"
    )
    assert (out["verdict"] == Verdict.UNKNOWN.value).all(), out[["verdict", "drive_min", "reason"]]
    assert out["drive_min"].isna().all()


def test_isochrone_membership_follows_route_times(
    truth_graph: TruthGraph, truth_router: Router
) -> None:
    """A place well inside (outside) a contour by the engine's route lies inside (outside)."""
    from geo.routing.valhalla import ValhallaRouter

    spec = truth_graph.spec
    site = spec.lonlat(30, 30)
    iso = truth_router.isochrones(site, [20, 40])
    if not isinstance(truth_router, ValhallaRouter):
        # OSRM has no isochrones: they come from Valhalla on the same graph, and say so.
        assert iso["engine"].str.startswith("valhalla").all(), iso["engine"].tolist()
        return
    rng = np.random.default_rng(11)
    cells = rng.integers(4, 70, size=(150, 2))
    pts = spec.lonlat(cells[:, 0], cells[:, 1])
    for reverse in (False, True):
        polys = truth_router.isochrones(site, [20, 40], reverse=reverse)
        if reverse:
            times = np.array([route_s(truth_router, p, site[0]) for p in pts])
        else:
            times = np.array([route_s(truth_router, site[0], p) for p in pts])
        wrong = 0
        clear = 0
        for minutes in (20.0, 40.0):
            poly = polys.loc[polys["minutes"] == minutes, "geometry"].iloc[0]
            inside = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
            well_in = times <= (minutes - 2) * 60
            well_out = times >= (minutes + 2) * 60
            wrong += int((inside & well_out).sum() + (~inside & well_in).sum())
            clear += int((well_in | well_out).sum())
        direction = "to the site" if reverse else "from the site"
        note(f"valhalla grid: isochrone {direction}: {wrong} of {clear} clear places misplaced")
        assert clear > 200
        assert wrong == 0


def test_engines_differ_by_their_speed_models(truth_graph: TruthGraph, request: Any) -> None:
    """OSRM drives at 80 % of maxspeed, Valhalla at maxspeed: OSRM/Valhalla ≈ 1.25."""
    valhalla = request.getfixturevalue("truth_valhalla")
    osrm = request.getfixturevalue("truth_osrm")
    spec = truth_graph.spec
    cells = interior_places(40, seed=7)
    places = spec.lonlat(cells[:, 0], cells[:, 1])
    sites = spec.lonlat(SITES_CR[:, 0], SITES_CR[:, 1])
    tv = valhalla.drive_times(places, sites).duration_s
    to = osrm.drive_times(places, sites).duration_s
    ratio = to / tv
    report("grid: OSRM / Valhalla − 1 (same pairs, place → site)", (ratio - 1) * 100, "%")
    long = tv > 600
    assert 1.2 <= float(np.median(ratio[long])) <= 1.3
    assert np.all((ratio[long] > 1.1) & (ratio[long] < 1.4))


def test_screened_batch_holds_the_route_times(
    truth_graph: TruthGraph, truth_router: Router
) -> None:
    """150 places with the rule's horizon (engines may screen with isochrones): every exact
    time equals the route, every bound holds the route, and no verdict differs from the one the
    routes give."""
    spec = truth_graph.spec
    cells = interior_places(150, seed=21)
    places = spec.lonlat(cells[:, 0], cells[:, 1])
    sites = spec.lonlat(SITES_CR[:2, 0], SITES_CR[:2, 1])
    fwd = np.array([[route_s(truth_router, p, s) for s in sites] for p in places])
    best = fwd.min(axis=1)
    horizon = 45 * 60.0
    res = forced_screening(truth_router).nearest(places, sites, horizon_s=horizon)
    exact = np.isfinite(res.duration_s)
    methods = {str(m): int((res.method == m).sum()) for m in np.unique(res.method)}
    note(f"{truth_router.name} grid: nearest(150 places, horizon 45 min) methods {methods}")
    report(
        f"{truth_router.name} grid: screened batch exact rows − best route",
        res.duration_s[exact] - best[exact],
    )
    tol = contract_tol_s(best)
    assert np.all(np.abs(res.duration_s[exact] - best[exact]) <= tol[exact])
    lower = np.where(np.isfinite(res.lower_s), res.lower_s, 0.0)
    upper = np.where(np.isfinite(res.upper_s), res.upper_s, np.inf)
    assert np.all(lower <= best + tol), "a lower bound above the route time"
    assert np.all(upper >= best - tol), "an upper bound below the route time"
    # Verdict by bounds vs verdict by the routes (the limit is the horizon here).
    said_within = upper <= horizon
    said_outside = lower > horizon
    assert not (said_within & (best > horizon + tol)).any()
    assert not (said_outside & (best <= horizon - tol)).any()
    assert (said_within | said_outside).all(), "screening left a place undecided"


def test_second_opinion_times_are_the_second_engines_routes(
    truth_graph: TruthGraph, request: pytest.FixtureRequest
) -> None:
    """OSRM answers, Valhalla checks near the limit: both times are each engine's own route."""
    from geo.routing.second_opinion import SecondOpinionRouter

    valhalla = request.getfixturevalue("truth_valhalla")
    osrm = request.getfixturevalue("truth_osrm")
    spec = truth_graph.spec
    cells = interior_places(40, seed=7)
    places = spec.lonlat(cells[:, 0], cells[:, 1])
    sites = spec.lonlat(SITES_CR[:, 0], SITES_CR[:, 1])
    horizon = 40 * 60.0
    res = SecondOpinionRouter(osrm, valhalla).nearest(places, sites, horizon_s=horizon)
    assert res.second_s is not None
    asked = np.flatnonzero(np.isfinite(res.second_s))
    assert len(asked) >= 10
    v_best = np.array([min(route_s(valhalla, places[i], s) for s in sites) for i in asked])
    o_best = np.array([min(route_s(osrm, places[i], s) for s in sites) for i in asked])
    assert_contract("grid: second opinion (Valhalla) − its route", res.second_s[asked], v_best)
    assert_contract(
        "grid: second opinion primary (OSRM) − its route", res.duration_s[asked], o_best
    )


@pytest.fixture(scope="session")
def pond_graph(truth_settings: object, tmp_path_factory: pytest.TempPathFactory) -> TruthGraph:
    """60 × 60 km grid with an 8 km roadless pond: its middle is 4 km from any road, yet inside
    the covered area (the area's closing fills gaps of that size)."""
    from geo.routing.graph import build_graph
    from geo.routing.synthetic import GridSpec, write_network_pbf
    from geo.settings import Settings

    assert isinstance(truth_settings, Settings)
    work = tmp_path_factory.mktemp("pond-graph")
    pbf = work / "pond.osm.pbf"
    net = write_network_pbf(pbf, GridSpec(size_km=60.0, lake=(24, 24, 32, 32)))
    manifest = build_graph([pbf], "pond", truth_settings, out_dir=work / "graph")
    return TruthGraph(net, pbf, manifest, truth_settings)


@pytest.mark.parametrize("engine", ["valhalla", "osrm"])
def test_place_kilometres_from_any_road_inside_the_data_is_not_within(
    pond_graph: TruthGraph, engine: str
) -> None:
    """Both engines snap to the nearest road; a drive from 4 km away is no drive from the place
    (the missing track makes it longer, not shorter), so no confident `within`."""
    from geo.routing.valhalla import ValhallaRouter

    spec, manifest = pond_graph.spec, pond_graph.manifest
    centre = spec.lake_centre_lonlat()
    assert manifest.covered_area.contains(shapely.Point(*centre[0]))
    if engine == "valhalla":
        router: Router = ValhallaRouter(manifest, pond_graph.settings)
    else:
        from .conftest import _osrm_router

        router = _osrm_router(manifest, pond_graph.settings)
    site = spec.lonlat([45], [45])
    frame = gpd.GeoDataFrame(
        {"site_id": ["S"], "name": ["Site"]},
        geometry=gpd.points_from_xy(site[:, 0], site[:, 1]),
        crs="EPSG:4326",
    )
    out = check([tuple(centre[0])], frame, custom_rule(120.0), router)
    answer = out[["verdict", "drive_min"]].to_dict("records")
    note(f"{engine} pond: place 4 km from any road → {answer}")
    assert out["verdict"].iloc[0] == Verdict.UNKNOWN.value, out[["verdict", "drive_min", "reason"]]
