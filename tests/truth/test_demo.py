"""Both engines on the shipped demo extracts (Harrisburg PA + Columbus OH): 40 random places
against the 3 demo sites — batch vs single vs route in both directions, verdicts batch vs one by
one, and the two engines side by side (their car models differ; only the direction of the
difference is asserted).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import EngineError
from geo.proximity import check
from geo.routing.base import NearestResult, Router
from geo.routing.graph import GraphManifest
from geo.rules import get_rule
from geo.types import LonLat
from sites.registry import load_site_set

from .conftest import contract_tol_s, forced_screening, note, report

pytestmark = pytest.mark.engine

RULE = get_rule("resolution")


def random_places(manifest: GraphManifest, k: int, seed: int) -> np.ndarray:
    """``k`` random points in the demo graph's covered area, split between its two cities."""
    rng = np.random.default_rng(seed)
    parts = sorted(shapely.get_parts(manifest.covered_area), key=lambda g: -g.area)[:2]
    out = []
    for part, count in zip(parts, (k - k // 2, k // 2), strict=True):
        minx, miny, maxx, maxy = part.bounds
        got: list[np.ndarray] = []
        while len(got) < count:
            xy = rng.uniform((minx, miny), (maxx, maxy), size=(200, 2))
            inside = shapely.contains_xy(part, xy[:, 0], xy[:, 1])
            got.extend(xy[inside][: count - len(got)])
        out.append(np.asarray(got))
    return np.vstack(out)


def route_s(router: Router, a: np.ndarray, b: np.ndarray) -> float:
    try:
        return float(router.route(LonLat(*a), LonLat(*b)).duration_s)
    except EngineError:
        return float("nan")


@dataclass(frozen=True)
class DemoRoutes:
    engine: str
    places: np.ndarray
    sites: np.ndarray
    site_frame: gpd.GeoDataFrame
    forward_s: np.ndarray
    backward_s: np.ndarray


@pytest.fixture(scope="session")
def demo_sites() -> gpd.GeoDataFrame:
    return load_site_set("demo")


@pytest.fixture(scope="session")
def demo_routes(
    demo_router: Router, demo_manifest: GraphManifest, demo_sites: gpd.GeoDataFrame
) -> DemoRoutes:
    places = random_places(demo_manifest, 40, seed=2026)
    sites = np.column_stack([demo_sites.geometry.x, demo_sites.geometry.y])
    fwd = np.array([[route_s(demo_router, p, s) for s in sites] for p in places])
    bwd = np.array([[route_s(demo_router, s, p) for s in sites] for p in places])
    return DemoRoutes(demo_router.name, places, sites, demo_sites, fwd, bwd)


def compare(name: str, got: np.ndarray, route: np.ndarray) -> None:
    both = np.isfinite(got) & np.isfinite(route)
    only = np.isfinite(got) != np.isfinite(route)
    diff = got[both] - route[both]
    report(name, diff)
    assert not only.any(), f"{name}: {only.sum()} pairs answered by one and not the other"
    bad = np.abs(diff) > contract_tol_s(route[both])
    assert not bad.any(), f"{name}: {bad.sum()} of {bad.size} pairs off the route: {diff[bad]}"


def test_demo_batch_and_single_equal_the_route(
    demo_router: Router, demo_routes: DemoRoutes
) -> None:
    r = demo_routes
    assert np.isfinite(r.forward_s).sum() >= 30, "too few routed pairs to mean anything"
    batch = demo_router.drive_times(r.places, r.sites).duration_s
    compare(f"{r.engine} demo: batch drive_times − route", batch, r.forward_s)
    single = np.vstack([demo_router.drive_times(p[None, :], r.sites).duration_s for p in r.places])
    compare(f"{r.engine} demo: single drive_times − route", single, r.forward_s)
    best = np.where(np.isfinite(r.forward_s), r.forward_s, np.inf).min(axis=1)
    best = np.where(np.isfinite(best), best, np.nan)
    nearest = demo_router.nearest(r.places, r.sites)
    compare(f"{r.engine} demo: nearest − best route", nearest.duration_s, best)


def test_demo_check_batch_equals_one_at_a_time(
    demo_router: Router, demo_routes: DemoRoutes
) -> None:
    r = demo_routes
    batch = check(list(map(tuple, r.places)), r.site_frame, RULE, demo_router)
    singles = [check([tuple(p)], r.site_frame, RULE, demo_router).iloc[0] for p in r.places]
    single_min = np.array([s["drive_min"] for s in singles], dtype=float)
    got = batch["drive_min"].to_numpy(float)
    assert np.array_equal(np.isfinite(got), np.isfinite(single_min))
    report(f"{r.engine} demo: check() batch − single (min)", got - single_min, unit="min")
    assert np.nanmax(np.abs(got - single_min), initial=0.0) <= 0.1
    assert list(batch["verdict"]) == [s["verdict"] for s in singles]
    # And the reported minutes are the route place → nearest site.
    best = np.where(np.isfinite(r.forward_s), r.forward_s, np.inf).min(axis=1) / 60.0
    ok = np.isfinite(got)
    assert np.allclose(got[ok], best[ok], atol=0.05 + contract_tol_s(best[ok] * 60) / 60)


def test_demo_directions_differ(demo_routes: DemoRoutes) -> None:
    """Place → site and site → place are different drives (one-way streets)."""
    r = demo_routes
    both = np.isfinite(r.forward_s) & np.isfinite(r.backward_s)
    diff = r.backward_s[both] - r.forward_s[both]
    report(f"{r.engine} demo: route site → place − place → site", diff)
    # Per place, to its nearest site (the pair a verdict rests on).
    fwd = np.where(np.isfinite(r.forward_s), r.forward_s, np.inf)
    j = fwd.argmin(axis=1)
    rows = np.arange(len(j))
    d = r.backward_s[rows, j] - r.forward_s[rows, j]
    d = d[np.isfinite(d)]
    over = int((np.abs(d) > 60).sum())
    note(
        f"{r.engine} demo: {over} of {d.size} places differ by > 1 min between directions "
        f"(largest {np.abs(d).max():.0f} s)"
    )
    assert d.size >= 30
    assert over >= 1  # the demo roads do have one-way streets: a harness blind to them is broken


def test_demo_engines_compared(request: pytest.FixtureRequest) -> None:
    """The two car models differ: OSRM's town drives are longer than Valhalla's."""
    valhalla = request.getfixturevalue("demo_valhalla")
    osrm = request.getfixturevalue("demo_osrm")
    manifest = request.getfixturevalue("demo_manifest")
    sites_frame = request.getfixturevalue("demo_sites")
    places = random_places(manifest, 40, seed=2026)
    sites = np.column_stack([sites_frame.geometry.x, sites_frame.geometry.y])
    tv = valhalla.drive_times(places, sites).duration_s
    to = osrm.drive_times(places, sites).duration_s
    both = np.isfinite(tv) & np.isfinite(to) & (tv > 120)
    ratio = to[both] / tv[both]
    report("demo: OSRM / Valhalla − 1 (place → site)", (ratio - 1) * 100, unit="%")
    only_v = int((np.isfinite(tv) & ~np.isfinite(to)).sum())
    only_o = int((np.isfinite(to) & ~np.isfinite(tv)).sum())
    note(f"demo: pairs answered by Valhalla only {only_v}, by OSRM only {only_o}")
    assert both.sum() >= 30
    assert 1.0 < float(np.median(ratio)) < 1.6


@dataclass(frozen=True)
class Screened:
    engine: str
    best_s: np.ndarray
    """Best route place → any site (s); NaN where none."""
    results: dict[float, object]
    """horizon (min) → NearestResult of a 200-place batch."""


@pytest.fixture(scope="session")
def demo_screened(
    demo_router: Router, demo_manifest: GraphManifest, demo_sites: gpd.GeoDataFrame
) -> Screened:
    places = random_places(demo_manifest, 200, seed=77)
    sites = np.column_stack([demo_sites.geometry.x, demo_sites.geometry.y])
    fwd = np.array([[route_s(demo_router, p, s) for s in sites] for p in places])
    best = np.where(np.isfinite(fwd), fwd, np.inf).min(axis=1)
    best = np.where(np.isfinite(best), best, np.nan)
    screening = forced_screening(demo_router)
    results: dict[float, object] = {
        h: screening.nearest(places, sites, horizon_s=h * 60.0) for h in (10.0, 20.0)
    }
    return Screened(demo_router.name, best, results)


def test_demo_screened_verdicts_equal_routed_verdicts(demo_screened: Screened) -> None:
    """200 places with a short horizon (so the demo's small extracts straddle it): exact rows
    equal the route, and what the bounds decide (within / beyond the horizon) is what the routes
    say."""
    best = demo_screened.best_s
    tol = contract_tol_s(np.nan_to_num(best, nan=0.0))
    for h, res in demo_screened.results.items():
        r: NearestResult = res  # type: ignore[assignment]
        exact = np.isfinite(r.duration_s)
        methods = {str(m): int((r.method == m).sum()) for m in np.unique(r.method)}
        note(f"{demo_screened.engine} demo: nearest(200 places, horizon {h:g} min) {methods}")
        assert np.array_equal(exact & np.isfinite(best), exact)
        assert np.all(np.abs(r.duration_s[exact] - best[exact]) <= tol[exact])
        horizon = h * 60.0
        upper = np.where(np.isfinite(r.upper_s), r.upper_s, np.inf)
        lower = np.where(np.isfinite(r.lower_s), r.lower_s, -np.inf)
        routed_in = np.isfinite(best) & (best <= horizon)
        wrong_in = (upper <= horizon) & ~routed_in
        wrong_out = (lower > horizon) & routed_in
        assert not wrong_in.any(), f"said within {h:g} min, the route says not: {best[wrong_in]}"
        assert not wrong_out.any(), (
            f"said beyond {h:g} min, the route says within: {best[wrong_out]}"
        )


def test_demo_screened_bounds_hold_the_route(demo_screened: Screened) -> None:
    """A screened row reports 'under X min' / 'over Y min': the route must agree with it."""
    best = demo_screened.best_s
    ok = np.isfinite(best)
    tol = contract_tol_s(np.nan_to_num(best, nan=0.0))
    for h, res in demo_screened.results.items():
        r: NearestResult = res  # type: ignore[assignment]
        upper = np.where(np.isfinite(r.upper_s), r.upper_s, np.inf)
        lower = np.where(np.isfinite(r.lower_s), r.lower_s, -np.inf)
        over = np.where(ok, best - upper, np.nan)  # > 0: the route is longer than "under X"
        under = np.where(ok, lower - best, np.nan)  # > 0: the route is shorter than "over Y"
        screened = r.method == "screened"
        report(
            f"{demo_screened.engine} demo: screened rows (horizon {h:g} min), route − upper bound",
            over[screened & np.isfinite(r.upper_s)],
        )
        bad_up = ok & (over > tol)
        bad_lo = ok & (under > tol)
        assert not bad_up.any(), (
            f"horizon {h:g} min: {bad_up.sum()} rows say 'under {upper[bad_up] / 60} min' but the "
            f"route takes {best[bad_up] / 60} min"
        )
        assert not bad_lo.any(), f"horizon {h:g} min: lower bounds above the route {under[bad_lo]}"
