"""Maximal covering: a toy instance where greedy is not optimal, coverage sets, candidates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from geo.errors import ValidationError
from geo.routing import get_router
from geo.rules import ProximityRule
from geo.siting import (
    CoverageSets,
    coverage_sets,
    default_candidates,
    greedy_mclp,
    screening_radius_km,
    solve_mclp,
    suggest_sites,
)
from geo.types import EngineInfo

from .conftest import LineRouter, points_frame

# Three candidates on a line (1 min per 0.01°, limit 120 min = 1.2°):
#   L at 0.0 covers l1 (-1.0) and l2 (1.0)             → 4 + 4     = 8
#   M at 2.2 covers l2 (1.0), m (2.2) and r2 (3.4)     → 4 + 1 + 4 = 9   (l2, r2 exactly 120 min)
#   R at 4.4 covers r2 (3.4) and r1 (5.4)              → 4 + 4     = 8
# k = 2: greedy takes M (9), then L or R (+4) = 13; the optimum is L + R = 16.
UNITS = points_frame(
    [
        {"unit_id": "l1", "population": 4, "lon": -1.0, "lat": 0.0},
        {"unit_id": "l2", "population": 4, "lon": 1.0, "lat": 0.0},
        {"unit_id": "m", "population": 1, "lon": 2.2, "lat": 0.0},
        {"unit_id": "r2", "population": 4, "lon": 3.4, "lat": 0.0},
        {"unit_id": "r1", "population": 4, "lon": 5.4, "lat": 0.0},
        {"unit_id": "far", "population": 50, "lon": 20.0, "lat": 0.0},
    ]
)
CANDIDATES = points_frame(
    [
        {"site_id": "L", "name": "Left", "lon": 0.0, "lat": 0.0},
        {"site_id": "M", "name": "Middle", "lon": 2.2, "lat": 0.0},
        {"site_id": "R", "name": "Right", "lon": 4.4, "lat": 0.0},
    ]
)
RULE = ProximityRule(name="t", max_drive_min=120, min_days=1)


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:  # type: ignore[type-arg]
    return np.column_stack([frame.geometry.x, frame.geometry.y])


def test_coverage_sets_by_hand(line_router: LineRouter) -> None:
    sets = coverage_sets(line_router, _xy(UNITS), _xy(CANDIDATES), RULE.max_drive_s)
    assert sets.units_covered_by(0).tolist() == [0, 1]
    assert sets.units_covered_by(1).tolist() == [1, 2, 3]  # both ends exactly on the limit
    assert sets.units_covered_by(2).tolist() == [3, 4]
    assert len(sets) == 7 and sets.n_units == 6 and sets.n_candidates == 3
    assert sets.duration_s[sets.candidate == 1].round(6).tolist() == [7200.0, 0.0, 7200.0]


def test_greedy_is_not_optimal_ilp_is(line_router: LineRouter) -> None:
    w = UNITS["population"].to_numpy(float)
    sets = coverage_sets(line_router, _xy(UNITS), _xy(CANDIDATES), RULE.max_drive_s)
    greedy = greedy_mclp(sets, w, 2)
    assert greedy.chosen == (1, 0)  # M first; then L and R tie at +4, the lower position wins
    assert greedy.gains == (9.0, 4.0) and greedy.gain == 13.0
    ilp = solve_mclp(sets, w, 2)
    assert ilp.status == "optimal"
    assert sorted(ilp.chosen) == [0, 2]
    assert ilp.gain == 16.0 and ilp.gains == (8.0, 8.0)
    assert ilp.unique == (8.0, 8.0)


def test_suggest_sites_end_to_end(line_router: LineRouter) -> None:
    res = suggest_sites(None, CANDIDATES, 2, RULE, line_router, UNITS)
    assert res.total_population == 67
    assert res.baseline_covered_population == 0
    assert res.coverable_population == 17  # "far" is out of reach of every candidate
    assert res.ilp.gain == 16 and res.greedy.gain == 13
    table = res.table("ilp")
    assert sorted(table["site_id"]) == ["L", "R"]
    assert table["gain_population"].tolist() == [8.0, 8.0]
    assert table["cumulative_covered_population"].tolist() == [8.0, 16.0]
    assert res.table("greedy")["site_id"].tolist() == ["M", "L"]


def test_existing_sites_are_the_baseline(line_router: LineRouter) -> None:
    existing = points_frame([{"site_id": "X", "lon": 4.4, "lat": 0.0}])  # where R would be
    res = suggest_sites(existing, CANDIDATES, 1, RULE, line_router, UNITS)
    assert res.baseline_covered_population == 8  # r1, r2
    assert res.ilp.chosen == (0,) and res.ilp.gain == 8  # L beats M (l2 + m = 5)
    assert res.ilp.unique == (8.0,)
    three = suggest_sites(existing, CANDIDATES, 3, RULE, line_router, UNITS)
    # R adds nobody, so neither method picks it; gains stop at what is left.
    assert sorted(three.ilp.chosen) == [0, 1] and three.ilp.gain == 9
    assert three.greedy.chosen == (0, 1) and three.greedy.gains == (8.0, 1.0)


def test_ilp_merges_identical_demand_and_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    n_units, n_cand = 60, 9
    pairs = [(u, c) for u in range(n_units) for c in range(n_cand) if rng.random() < 0.2]
    unit = np.array([p[0] for p in pairs], dtype=np.int64)
    cand = np.array([p[1] for p in pairs], dtype=np.int64)
    order = np.lexsort((unit, cand))
    sets = CoverageSets(
        unit=unit[order],
        candidate=cand[order],
        duration_s=np.zeros(len(pairs)),
        n_units=n_units,
        n_candidates=n_cand,
        limit_s=1.0,
        engine=EngineInfo("x", ""),
    )
    w = rng.integers(1, 100, n_units).astype(float)
    from itertools import combinations

    def value(chosen: tuple[int, ...]) -> float:
        covered = np.zeros(n_units, dtype=bool)
        for c in chosen:
            covered[sets.units_covered_by(c)] = True
        return float(w[covered].sum())

    best = max(value(c) for c in combinations(range(n_cand), 3))
    ilp = solve_mclp(sets, w, 3)
    assert ilp.gain == best and value(ilp.chosen) == best
    assert greedy_mclp(sets, w, 3).gain <= best


def test_estimate_radius_cutoff_matches_the_dense_matrix() -> None:
    router = get_router("estimate")
    rng = np.random.default_rng(3)
    units = np.column_stack([rng.uniform(-90, -80, 400), rng.uniform(33, 40, 400)])
    cands = np.column_stack([rng.uniform(-90, -80, 60), rng.uniform(33, 40, 60)])
    units[5] = np.nan  # a unit without a point pairs with nothing
    limit_s = 3600.0
    sets = coverage_sets(router, units, cands, limit_s)
    dense = router.drive_times(units, cands).duration_s
    ui, ci = np.nonzero(np.round(dense / 60, 6) <= 60)
    got = set(zip(sets.unit.tolist(), sets.candidate.tolist(), strict=True))
    assert got == set(zip(ui.tolist(), ci.tolist(), strict=True))
    assert 0 < len(got) < dense.size / 4  # a real cut-off, not everything
    km = screening_radius_km(router, limit_s)
    assert float(router.seconds_for_km(np.array([km]))[0]) == pytest.approx(limit_s, abs=1e-3)


def test_default_candidates() -> None:
    acute = "GENERAL ACUTE CARE"
    rows = [
        ("a", "open", acute, "250"),
        ("b", "closed", acute, "300"),
        ("c", "open", "PSYCHIATRIC", "300"),
        ("d", "open", acute, "-999"),  # HIFLD's "unknown"
        ("e", "open", acute, "99"),
        ("f", "open", acute, "100"),
    ]
    hospitals = points_frame(
        [
            {"name": n, "status": st, "type": t, "beds": b, "lon": 0.0, "lat": 0.0}
            for n, st, t, b in rows
        ]
    )
    assert default_candidates(hospitals)["name"].tolist() == ["a", "f"]
    assert default_candidates(hospitals, min_beds=50)["name"].tolist() == ["a", "e", "f"]
    with pytest.raises(ValidationError, match="beds"):
        default_candidates(hospitals.drop(columns="beds"))


def test_k_must_be_positive(line_router: LineRouter) -> None:
    with pytest.raises(ValidationError):
        suggest_sites(None, CANDIDATES, 0, RULE, line_router, UNITS)
