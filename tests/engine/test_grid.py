"""The Valhalla engine on a synthetic grid whose drive times are known by hand (Dijkstra)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest
import shapely

from geo.errors import EngineError, OutsideDataError
from geo.routing.base import nearest_from_matrix
from geo.routing.cache import DiskCache
from geo.routing.graph import list_graphs, load_graph
from geo.routing.valhalla import EDGE_MESSAGE, ValhallaRouter, decode_polyline6
from geo.settings import Settings
from geo.types import LonLat

pytestmark = pytest.mark.engine

CENTRE = (50, 50)


def interior_cells(grid: Any, k: int, seed: int) -> np.ndarray:
    """Random grid nodes (col, row) at least two cells from the border."""
    rng = np.random.default_rng(seed)
    return rng.integers(2, grid.spec.n - 2, size=(k, 2))


def test_matrix_matches_hand_computed_shortest_times(grid: Any) -> None:
    sources = [CENTRE, (23, 71)]
    cells = interior_cells(grid, 80, seed=1)
    expected = grid.spec.dijkstra_s(sources)[:, cells[:, 1], cells[:, 0]]
    m = grid.router.drive_times(
        grid.spec.lonlat([c for c, _ in sources], [r for _, r in sources]),
        grid.spec.lonlat(cells[:, 0], cells[:, 1]),
    )
    assert m.shape == (2, 80)
    diff = m.duration_s - expected
    # Valhalla adds turn costs (~2 s a turn) and is never quicker than the true shortest time.
    assert np.all(np.isfinite(m.duration_s))
    assert np.all(diff >= -0.005 * expected - 1)
    assert np.all(np.abs(diff) <= np.maximum(0.02 * expected, 60.0)), np.abs(diff).max()
    # Distances are the grid (L1-like) road lengths of the chosen routes: at least the L1 distance.
    l1_m = np.abs(cells - np.array(sources)[:, None, :]).sum(axis=2) * 1000.0
    assert np.all(m.distance_m >= l1_m * 0.995)
    assert m.engine.name == "valhalla" and "grid100 of 2024-01-01" in m.engine.data


def test_a_known_trip_by_hand(grid: Any) -> None:
    # Centre (50, 50) to (10, 10): 40 km west on a primary row and 40 km south on a primary
    # column, both at 80 km/h: 2 × 30 min = 3600 s.
    m = grid.router.drive_times(grid.spec.lonlat(50, 50), grid.spec.lonlat(10, 10))
    assert m.duration_s[0, 0] == pytest.approx(3600, rel=0.02)
    assert m.distance_m[0, 0] == pytest.approx(80_000, rel=0.005)


@pytest.mark.parametrize("minutes", [60, 120])
def test_grid_nodes_on_the_right_side_of_isochrones(grid: Any, minutes: int) -> None:
    start = (10, 10)  # off-centre, so that the 120-minute contour ends inside the grid
    iso = grid.router.isochrones(grid.spec.lonlat(*start), [60, 120])
    assert list(iso["minutes"]) == [60.0, 120.0]
    assert not iso["approximate"].any()
    poly = iso.loc[iso["minutes"] == minutes, "geometry"].iloc[0]
    n = grid.spec.n
    cols, rows = np.meshgrid(np.arange(2, n - 2), np.arange(2, n - 2))
    times = grid.spec.dijkstra_s([start])[0][rows, cols]
    clear = np.abs(times - minutes * 60) > 120  # avoid exact ties: 2-minute margin
    ll = grid.spec.lonlat(cols.ravel(), rows.ravel())
    inside = shapely.contains_xy(poly, ll[:, 0], ll[:, 1]).reshape(cols.shape)
    truth = times <= minutes * 60
    assert clear.sum() > 5000
    wrong = (inside != truth) & clear
    assert wrong.sum() == 0, f"{wrong.sum()} grid nodes on the wrong side"
    assert truth[clear].any() and (~truth[clear]).any()


def test_unreachable_island_is_nan_never_zero(grid: Any) -> None:
    island = grid.spec.island_lonlat([5, 3], [5, 7])
    main = grid.spec.lonlat([50, 20], [50, 30])
    assert grid.router.covers(island).all()  # the island has road data: it is just cut off
    m = grid.router.drive_times(main, island)
    assert np.isnan(m.duration_s).all() and np.isnan(m.distance_m).all()
    assert m.edge_warning is not None and m.edge_warning.all()
    inner = grid.router.drive_times(island[:1], island[1:])
    # Within the island: 4 km on 40 km/h roads = 360 s (+ turn costs).
    assert 350 <= inner.duration_s[0, 0] <= 420
    near = nearest_from_matrix(m)
    assert (near.index == -1).all() and np.isnan(near.duration_s).all()
    with pytest.raises(EngineError, match="no road route"):
        grid.router.route(LonLat(*main[0]), LonLat(*island[0]))


def test_place_outside_the_data_is_unknown_and_flagged(grid: Any) -> None:
    far = np.array([[3.0, 3.0]])  # ~200 km beyond the grid
    assert not grid.router.covers(far)[0]
    m = grid.router.drive_times(grid.spec.lonlat(*CENTRE), far)
    assert np.isnan(m.duration_s[0, 0]) and m.edge_warning is not None and m.edge_warning[0, 0]
    iso = grid.router.isochrones(np.vstack([far, grid.spec.lonlat(*CENTRE)]), [30])
    assert list(iso["point_index"]) == [0, 1]
    assert iso.geometry.iloc[0].is_empty and iso["touches_data_edge"].iloc[0]
    assert EDGE_MESSAGE in iso["error"].iloc[0]
    assert not iso.geometry.iloc[1].is_empty and iso["error"].iloc[1] == ""
    with pytest.raises(OutsideDataError, match="outside the road data"):
        grid.router.route(LonLat(3.0, 3.0), LonLat(*grid.spec.lonlat(*CENTRE)[0]))


def test_data_edge_rule_for_matrix_cells(grid: Any) -> None:
    # Rule: flagged when (edge distance of origin + of destination) / 120 km/h < time found.
    r = grid.router
    centre = grid.spec.lonlat(*CENTRE)
    short = grid.spec.lonlat(52, 50)  # 2 km, ~3 min; edges ~48-50 km away → not flagged
    long = grid.spec.lonlat(10, 10)  # 60 min; edges 50 + 10 km → 30 min at 120 km/h → flagged
    m = r.drive_times(centre, np.vstack([short, long]))
    assert m.edge_warning is not None
    assert list(m.edge_warning[0]) == [False, True]
    edge_m = r.edge_distance_m(np.vstack([centre, long]))
    assert edge_m[0] == pytest.approx(50_000, abs=2_500) and edge_m[1] == pytest.approx(
        10_000, abs=2_500
    )


def test_isochrone_touching_the_data_edge_is_flagged(grid: Any) -> None:
    iso = grid.router.isochrones(grid.spec.lonlat(*CENTRE), [10, 60])
    flags = dict(zip(iso["minutes"], iso["touches_data_edge"], strict=True))
    assert flags == {10.0: False, 60.0: True}  # 60 min at 80 km/h reaches the border


def test_route_geometry_time_and_distance(grid: Any) -> None:
    a, b = grid.spec.lonlat(50, 50)[0], grid.spec.lonlat(20, 70)[0]
    route = grid.router.route(LonLat(*a), LonLat(*b))
    expected = grid.spec.dijkstra_s([(50, 50)])[0][70, 20]
    assert route.duration_s == pytest.approx(expected, abs=60)
    assert route.distance_m >= 50_000 * 0.995
    coords = np.asarray(route.geometry.coords)
    assert np.allclose(coords[0], a, atol=1e-4) and np.allclose(coords[-1], b, atol=1e-4)
    m = grid.router.drive_times(a, b)
    assert route.duration_s == pytest.approx(m.duration_s[0, 0], abs=60)


def test_polyline6_decoder() -> None:
    # Google's documented example points, encoded with 6 decimals as Valhalla does.
    pts = decode_polyline6("_izlhA~rlgdF_{geC~ywl@_kwzCn`{nI")
    assert np.allclose(pts, [[-120.2, 38.5], [-120.95, 40.7], [-126.453, 43.252]])


def test_screening_agrees_with_the_full_matrix(grid: Any) -> None:
    sites = grid.spec.lonlat([30, 75, 60], [30, 40, 80])
    cells = interior_cells(grid, 600, seed=5)
    places = grid.spec.lonlat(cells[:, 0], cells[:, 1])
    horizon_s = 50 * 60.0
    full = nearest_from_matrix(grid.router.drive_times(places, sites))
    screening = ValhallaRouter(grid.manifest, grid.router.settings, screening="always")
    scr = screening.nearest(places, sites, horizon_s=horizon_s)
    within_full = full.duration_s <= horizon_s
    within_scr = scr.upper_s <= horizon_s
    outside_scr = scr.lower_s > horizon_s
    assert np.all(within_scr | outside_scr)  # every place decided
    assert np.array_equal(within_full, within_scr)
    methods = set(scr.method)
    assert methods == {"screened", "routed"}
    routed = scr.method == "routed"
    assert 0 < routed.sum() < len(places) / 2
    # Routed places carry the exact time of their nearest site, as the full matrix has it.
    assert np.allclose(scr.duration_s[routed], full.duration_s[routed], atol=1)
    assert np.array_equal(scr.index[routed], full.index[routed])
    # Screened bands hold the matrix time, up to the polygons' own error (measured ≤ ~3.5 min
    # here; far inside the 15-minute band, which is why verdicts agree).
    s = ~routed
    assert np.all(full.duration_s[s] <= scr.upper_s[s] + 300)
    assert np.all(full.duration_s[s] >= scr.lower_s[s] - 300)


def test_screening_without_horizon_is_exact(grid: Any) -> None:
    sites = grid.spec.lonlat([30, 75], [30, 40])
    places = grid.spec.lonlat([40, 50, 90], [40, 50, 90])
    res = grid.router.nearest(places, sites)
    full = nearest_from_matrix(grid.router.drive_times(places, sites))
    assert np.array_equal(res.duration_s, full.duration_s)
    assert set(res.method) == {"routed"}


def test_manifest_and_listing(grid: Any, engine_settings: object) -> None:
    m = grid.manifest
    assert m.name == "grid100" and m.sources == ("grid100.osm.pbf",)
    assert m.osm_date == "2024-01-01" and m.tile_count > 0 and m.tiles_bytes > 100_000
    west, south, east, north = m.bounds
    # The main grid spans lon/lat 0.05…0.95; the island lies ~20 km east of it.
    assert west == pytest.approx(0.05, abs=0.03) and south == pytest.approx(0.05, abs=0.03)
    assert north == pytest.approx(0.95, abs=0.03) and east > 1.1
    assert shapely.contains_xy(m.covered_area, 0.5, 0.5)
    assert not shapely.contains_xy(m.covered_area, 1.0, 0.5)  # the gap before the island
    assert "grid100" in [g.name for g in list_graphs(engine_settings)]  # type: ignore[arg-type]
    assert load_graph("grid100", engine_settings).covered_area.equals(m.covered_area)  # type: ignore[arg-type]


def test_site_isochrones_for_screening_are_reused_from_disk(grid: Any, tmp_path: Any) -> None:
    sites = grid.spec.lonlat([30, 70], [30, 70])
    cells = interior_cells(grid, 300, seed=9)
    places = grid.spec.lonlat(cells[:, 0], cells[:, 1])
    settings = Settings(cache_dir=tmp_path)  # a cache of its own: nothing stored before
    first = ValhallaRouter(grid.manifest, settings, screening="always")
    a = first.nearest(places, sites, horizon_s=50 * 60.0)
    stored = DiskCache(tmp_path / "routing").info()["entries"]
    # A new engine (as in a new process) finds the site polygons on disk: no isochrone is run.
    second = ValhallaRouter(grid.manifest, settings)  # "auto": screens, nothing to compute
    actions: list[str] = []
    original = second._call

    def counting(action: str, request: dict[str, Any]) -> Any:
        actions.append(action)
        return original(action, request)

    second._call = counting  # type: ignore[method-assign]
    b = second.nearest(places, sites, horizon_s=50 * 60.0)
    assert "isochrone" not in actions
    assert np.array_equal(a.upper_s, b.upper_s, equal_nan=True)
    assert np.array_equal(a.index, b.index)
    # Patients' places never reach the disk: one entry per site and direction, nothing else.
    assert stored == len(sites) * 2


# --- exactness: every reported time is Valhalla's own route, place → site ------------------------
def route_reference_s(config_path: Any, places: np.ndarray, sites: np.ndarray) -> np.ndarray:
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


def assert_route_exact(got: np.ndarray, ref: np.ndarray) -> None:
    """The contract: within 0.5 % or 6 s of the route time (NaN exactly where the route is)."""
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref)
    err = np.abs(got[ok] - ref[ok])
    assert np.all(err <= np.maximum(0.005 * ref[ok], 6.0)), err.max()


def test_drive_times_are_route_times(grid: Any) -> None:
    sites = grid.spec.lonlat([30, 75, 60], [30, 40, 80])
    cells = interior_cells(grid, 40, seed=11)
    places = np.vstack([grid.spec.lonlat(cells[:, 0], cells[:, 1]), grid.spec.island_lonlat(4, 4)])
    m = grid.router.drive_times(places, sites)
    ref = route_reference_s(grid.manifest.config_path, places, sites)
    assert np.isnan(ref[-1]).all()  # the island: no route, NaN on both sides
    assert_route_exact(m.duration_s, ref)


def test_nearest_is_the_route_to_the_nearest_site(grid: Any) -> None:
    # Seven sites: more than DIRECT_MAX_SITES, so the candidate matrix is used.
    sites = grid.spec.lonlat([10, 30, 50, 75, 60, 85, 20], [10, 30, 45, 40, 80, 85, 75])
    cells = interior_cells(grid, 60, seed=12)
    places = grid.spec.lonlat(cells[:, 0], cells[:, 1])
    res = grid.router.nearest(places, sites)
    ref = route_reference_s(grid.manifest.config_path, places, sites)
    assert set(res.method) == {"routed"}
    assert_route_exact(res.duration_s, np.nanmin(ref, axis=1))
    assert_route_exact(res.duration_s, ref[np.arange(len(places)), res.index])
    assert np.array_equal(res.lower_s, res.duration_s) and np.array_equal(
        res.upper_s, res.duration_s
    )
    # Fewer routes than pairs: the matrix only picked candidates.
    assert grid.router.stats["routes"] > 0


def test_screened_rows_carry_only_bounds_and_routed_rows_are_exact(grid: Any) -> None:
    sites = grid.spec.lonlat([30, 75, 60, 20], [30, 40, 80, 70])
    horizon_s = 40 * 60.0
    # Places chosen around the limit as well as far from it (hand-computed Dijkstra times).
    rng = np.random.default_rng(13)
    n = grid.spec.n
    site_cells = [(30, 30), (75, 40), (60, 80), (20, 70)]
    t = grid.spec.dijkstra_s(site_cells).min(axis=0)
    rows, cols = np.meshgrid(np.arange(2, n - 2), np.arange(2, n - 2), indexing="ij")
    near = np.flatnonzero(np.abs(t[rows, cols].ravel() - horizon_s) < 180)
    far = np.flatnonzero(np.abs(t[rows, cols].ravel() - horizon_s) > 1500)
    pick = np.concatenate([rng.choice(near, 40, replace=False), rng.choice(far, 80, replace=False)])
    places = grid.spec.lonlat(cols.ravel()[pick], rows.ravel()[pick])
    router = ValhallaRouter(grid.manifest, grid.router.settings, screening="always")
    res = router.nearest(places, sites, horizon_s=horizon_s)
    ref = route_reference_s(grid.manifest.config_path, places, sites)
    best = np.nanmin(ref, axis=1)
    screened = res.method == "screened"
    routed = res.method == "routed"
    assert screened.sum() >= 40 and routed[:40].all()  # near the limit: always routed
    assert np.isnan(res.duration_s[screened]).all()  # bounds only, never a made-up time
    assert np.all(res.lower_s[screened] <= best[screened] + 300)  # polygon error ≤ ~5 min
    assert np.all(best[screened] <= res.upper_s[screened] + 300)
    assert_route_exact(res.duration_s[routed], best[routed])
    # Verdicts equal those of exact routes for every place.
    assert np.array_equal(res.upper_s <= horizon_s, best <= horizon_s)
    assert np.array_equal(res.lower_s > horizon_s, best > horizon_s)


def test_auto_screening_weighs_isochrones_against_routing(grid: Any, tmp_path: Any) -> None:
    sites = grid.spec.lonlat([30, 70], [30, 70])
    cells = interior_cells(grid, 120, seed=14)
    places = grid.spec.lonlat(cells[:, 0], cells[:, 1])
    horizon_s = 50 * 60.0
    settings = Settings(cache_dir=tmp_path)  # nothing cached
    dear = ValhallaRouter(grid.manifest, settings, screen_min_origins=0)
    dear._site_polygons_s = 1e6  # isochrones far dearer than routing: every place routed
    res = dear.nearest(places, sites, horizon_s=horizon_s)
    assert set(res.method) == {"routed"}
    cheap = ValhallaRouter(grid.manifest, settings, screen_min_origins=0)
    cheap._site_polygons_s = 1e-9  # isochrones free: screening after the measured sample
    res = cheap.nearest(places, sites, horizon_s=horizon_s)
    assert (res.method[:16] == "routed").all() and (res.method[16:] == "screened").any()
    # Few places are never screened.
    few = ValhallaRouter(grid.manifest, settings, screen_min_origins=200)
    few._site_polygons_s = 1e-9
    assert set(few.nearest(places, sites, horizon_s=horizon_s).method) == {"routed"}
