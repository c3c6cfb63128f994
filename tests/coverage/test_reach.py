"""Reach-bounded routing: only pairs that can be within the limit are routed; answers unchanged.

Every check compares the bounded run with an independent reference: a dense haversine matrix for
the spatial index, and the unbounded run (every unit × every site) for coverage and siting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from routing_fakes import CrowFliesRouter

from geo.coverage import coverage, nearest_in_reach, pairs_in_reach, reach_km
from geo.geodesy import haversine_km
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH
from geo.rules import ProximityRule
from geo.siting import coverage_sets, suggest_sites

from .conftest import points_frame

RULE = ProximityRule(name="t", max_drive_min=120, min_days=1)


def CrowRouter() -> CrowFliesRouter:
    """Drive = straight line × 1.3 at 70 km/h (never faster than the plausible bound); points at
    or north of 47° N have no route. Counts the cells it is asked for (the shared fake)."""
    return CrowFliesRouter("crow", no_route_north_of=47.0)


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack((rng.uniform(-110, -75, n), rng.uniform(28, 48, n)))


def test_pairs_in_reach_is_exactly_the_dense_haversine_set() -> None:
    a, b = _points(400, 1), _points(30, 2)
    a[5] = np.nan
    b[3] = np.nan
    b[4] = (-179.9, 64.0)  # far north-west: wrap and high latitude
    a[6] = (179.95, 64.1)  # across the antimeridian, ~11 km from b[4]
    oi, di, km = pairs_in_reach(a, b, 260.0)
    dense = haversine_km(a, b)
    ref = np.argwhere(np.nan_to_num(dense, nan=np.inf) <= 260.0)
    got = np.column_stack((oi, di))
    assert {tuple(r) for r in got.tolist()} == {tuple(r) for r in ref.tolist()}
    assert (6, 4) in {tuple(r) for r in got.tolist()}
    np.testing.assert_allclose(km, dense[oi, di])
    assert len(ref) < a.shape[0] * b.shape[0] / 5  # the cut is real


def _verdicts(col: pd.Series) -> np.ndarray:
    return col.astype(object).where(col.notna(), "NA").astype(str).to_numpy()


def test_bounded_coverage_matches_unbounded_and_asks_fewer_pairs() -> None:
    xy = _points(600, 3)
    pop = points_frame(
        [
            {"state": "AA" if i % 2 else "BB", "population": 10 + i, "lon": x, "lat": y}
            for i, (x, y) in enumerate(xy.tolist())
        ]
        + [{"state": "CC", "population": 5, "lon": None, "lat": None}]
    )
    sites_xy = _points(12, 4)
    sites = points_frame(
        [{"site_id": f"S{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(sites_xy.tolist())]
    )
    full_router, bounded_router = CrowRouter(), CrowRouter()
    full = coverage(sites, RULE, full_router, pop)
    bounded = coverage(sites, RULE, bounded_router, pop, reach_bound=True, chunk_size=250)
    # Same verdict wherever both know one. The bounded run knows more where no site is in
    # reach (outside by bound) and less where every site in reach has no route (unknown).
    f, b = (_verdicts(r.units["within_rule"]) for r in (full, bounded))
    dense = haversine_km(xy, sites_xy)
    in_reach = np.vstack((dense <= reach_km(RULE.max_drive_s), np.zeros((1, 12), dtype=bool)))
    routable = np.isfinite(CrowRouter().drive_times(xy, sites_xy).duration_s)
    routable = np.vstack((routable, np.zeros((1, 12), dtype=bool)))
    no_site = ~in_reach.any(axis=1) & np.append(np.ones(600, dtype=bool), False)
    dead = in_reach.any(axis=1) & ~(in_reach & routable).any(axis=1)
    same = ~no_site & ~dead
    np.testing.assert_array_equal(f[same], b[same])
    assert set(b[no_site]) == {"False"} and set(b[dead]) == {"NA"}
    assert (no_site & (f == "NA")).any() and (dead & (f == "False")).any()
    assert b[-1] == f[-1] == "NA"  # no point at all
    assert bounded.covered_population == full.covered_population > 0
    w = bounded.units["population_weight"].to_numpy(float)
    gained = float(w[no_site & (f == "NA")].sum())
    lost = float(w[dead & (f == "False")].sum())
    assert bounded.outside_population == pytest.approx(full.outside_population + gained - lost)
    assert bounded.unknown_population == pytest.approx(full.unknown_population - gained + lost)
    # Every covered unit has the same exact time and site.
    cov = full.units["within_rule"].to_numpy(dtype=bool, na_value=False)
    np.testing.assert_allclose(
        bounded.units["duration_s"].to_numpy(float)[cov],
        full.units["duration_s"].to_numpy(float)[cov],
    )
    assert (
        bounded.units["nearest_site_id"].to_numpy()[cov]
        == full.units["nearest_site_id"].to_numpy()[cov]
    ).all()
    # Asked only the pairs within reach, counted honestly.
    st = bounded.reach
    assert st is not None and st.reach_km == pytest.approx(2 * MAX_PLAUSIBLE_SPEED_KMH)
    assert st.pairs_asked == bounded_router.cells == int((dense <= st.reach_km).sum())
    assert st.pairs_possible == 600 * 12 == full_router.cells
    assert st.pairs_asked * 3 < st.pairs_possible
    # Units with no site in reach: outside by the straight-line bound, stated as a lower bound.
    none = ~(dense <= st.reach_km).any(axis=1)
    u = bounded.units.iloc[:600]
    assert none.any()
    assert (u["method"].to_numpy()[none] == "screened").all()
    expect_lo = dense[none].min(axis=1) / MAX_PLAUSIBLE_SPEED_KMH * 3600.0
    np.testing.assert_allclose(u["lower_s"].to_numpy(float)[none], expect_lo)
    assert not u["within_rule"].to_numpy(dtype=bool, na_value=True)[none].any()


def test_over_the_limit_is_exact_only_when_no_farther_site_could_beat_it() -> None:
    router = CrowRouter()
    limit_s = 3600.0  # reach 130 km
    origins = np.array([[-100.0, 40.0]])
    # Site A 100 km east (in reach, 100*1.3/70 h = 111 min > 60); site B 140 km west (beyond).
    dlon = 1.0 / (111.2 * np.cos(np.radians(40.0)))
    dests = np.array([[-100.0 + 100 * dlon, 40.0], [-100.0 - 140 * dlon, 40.0]])
    near, st = nearest_in_reach(router, origins, dests, limit_s)
    assert st.pairs_asked == 1 and st.reach_km == reach_km(limit_s)
    assert np.isnan(near.duration_s[0]) and near.index[0] == -1
    assert near.upper_s[0] == pytest.approx(100.0 * 1.3 / 70.0 * 3600.0, rel=1e-2)
    bound = haversine_km(origins, dests[1:])[0, 0] / MAX_PLAUSIBLE_SPEED_KMH * 3600.0
    assert near.lower_s[0] == pytest.approx(bound) and near.lower_s[0] > limit_s


def test_bounded_coverage_sets_match_the_dense_matrix_and_route_only_pairs_in_reach() -> None:
    units, cands = _points(300, 5), _points(80, 6)
    router = CrowRouter()
    # One call per candidate: then the engine is asked exactly the pairs in reach (blocks of
    # candidates, the default, add table cells; test_blocks.py checks those against all pairs).
    sets = coverage_sets(router, units, cands, RULE.max_drive_s, block_km=None)
    dense = CrowRouter().drive_times(units, cands).duration_s
    ref = np.argwhere(np.nan_to_num(dense, nan=np.inf) <= RULE.max_drive_s + 1e-6)
    assert {tuple(r) for r in np.column_stack((sets.unit, sets.candidate)).tolist()} == {
        tuple(r) for r in ref.tolist()
    }
    in_reach = int((haversine_km(units, cands) <= reach_km(RULE.max_drive_s)).sum())
    assert sets.pairs_routed == router.cells == in_reach < units.shape[0] * cands.shape[0] / 3


def test_suggest_skips_units_already_covered_and_picks_the_same_sites() -> None:
    xy, cand_xy = _points(250, 7), _points(40, 8)
    site_xy = cand_xy[:6] + 0.05  # existing sites next to some candidates
    pop = points_frame(
        [{"population": 100 + 7 * i, "lon": x, "lat": y} for i, (x, y) in enumerate(xy.tolist())]
    )
    cands = points_frame(
        [{"name": f"C{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(cand_xy.tolist())]
    )
    sites = points_frame(
        [{"site_id": f"S{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(site_xy.tolist())]
    )
    full_router = CrowRouter()
    full_sets = coverage_sets(full_router, xy, cand_xy, RULE.max_drive_s)
    ref = suggest_sites(sites, cands, 3, RULE, CrowRouter(), pop, sets=full_sets)
    router = _Recording()
    res = suggest_sites(sites, cands, 3, RULE, router, pop)
    assert res.baseline_covered_population == ref.baseline_covered_population > 0
    assert res.ilp.gain == ref.ilp.gain > 0 and res.greedy.gain == ref.greedy.gain
    assert res.coverable_population == ref.coverable_population
    # The covered units' candidate pairs were never routed.
    base = CrowRouter()
    nearest_in_reach(base, xy, site_xy, RULE.max_drive_s)
    assert router.cells - base.cells < full_router.cells
    # No unit the sites cover (dense reference) was ever sent to the engine with candidates.
    dense = CrowRouter().drive_times(xy, site_xy).duration_s
    covered = np.nanmin(np.nan_to_num(dense, nan=np.inf), axis=1) <= RULE.max_drive_s
    assert 0 < covered.sum() < len(xy)
    to_cands = [o for o, d in router.asked if np.isin(d[:, 0], cand_xy[:, 0]).all()]
    assert to_cands
    asked = np.unique(np.vstack(to_cands)[:, 0])
    assert not np.isin(xy[covered, 0], asked).any()
    assert np.isin(xy[~covered, 0], asked).any()


class _Recording(CrowFliesRouter):
    """The crow engine, recording every (origins, destinations) it is asked."""

    def __init__(self) -> None:
        super().__init__("crow", no_route_north_of=47.0)
        self.asked: list[tuple[np.ndarray, np.ndarray]] = []

    def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
        self.asked.append((np.asarray(origins, float), np.asarray(destinations, float)))
        return super().drive_times(origins, destinations)


def test_estimated_times_near_the_limit_are_reported_as_uncertain() -> None:
    from geo.routing import get_router

    sites = points_frame([{"site_id": "S", "lon": -90.0, "lat": 40.0}])
    router = get_router("estimate")
    err = router.info.error_fraction
    km = np.array([20.0, 110.0, 400.0])  # ~28 min, ~108 min (within, but within 25 %), ~373 min
    secs = router.seconds_for_km(km)  # type: ignore[attr-defined]
    dlon = km / (111.19 * np.cos(np.radians(40.0)))
    pop = points_frame(
        [
            {"population": p, "lon": -90.0 + d, "lat": 40.0}
            for p, d in zip((10, 20, 40), dlon, strict=True)
        ]
    )
    res = coverage(sites, RULE, router, pop)
    t = res.units["duration_s"].to_numpy(float)
    np.testing.assert_allclose(t, secs, rtol=1e-3)
    within = res.units["within_rule"].to_numpy(dtype=bool, na_value=False)
    expect = float(np.sum(np.array([10, 20, 40])[within & (t * (1 + err) > RULE.max_drive_s)]))
    assert res.uncertain_population == expect == 20.0  # only the 108-min unit
    assert res.confident_covered_population == res.covered_population - expect
