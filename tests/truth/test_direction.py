"""Every consumer asks for place → site times: driven through an asymmetric fake engine.

The fake (:mod:`.fake_router`) makes a trip 20 minutes longer when it goes north. Places lie south
of their sites, so the right direction (place → site, lodging → site, population unit → site)
and the wrong one differ by 20 minutes on every pair, and the places are set so that the
difference changes verdicts, coverage and which candidate site is best. Each expectation is
computed from the hand formula (:func:`.fake_router.expected_s`), never by the code under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.coverage import coverage
from geo.proximity import check, rank_sites
from geo.routing.synthetic import GridSpec
from geo.rules import get_rule
from geo.siting import coverage_sets, suggest_sites
from geo.types import LonLat, Verdict

from .fake_router import UPHILL_S, AsymmetricRouter, SlowerAsymmetricRouter, expected_s

GRID = GridSpec(size_km=400.0)
RULE = get_rule("resolution")  # 120 min, margin 10 min


def pts(cols: list[float], rows: list[float]) -> np.ndarray:
    return GRID.lonlat(cols, rows)


def sites_frame(xy: np.ndarray, prefix: str = "S") -> gpd.GeoDataFrame:
    ids = [f"{prefix}{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": [f"Site {i}" for i in ids]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )


# Two sites on row 300; places south of them (so place → site goes uphill: +20 min).
SITES = pts([100, 250], [300, 300])
PLACES = pts([100, 100, 100, 250, 250, 240], [205, 190, 215, 260, 195, 100])


def test_the_fixture_discriminates_directions() -> None:
    """Guard: on every pair the two directions differ by exactly the uphill term."""
    forward = expected_s(PLACES, SITES)
    backward = expected_s(SITES, PLACES).T
    assert np.allclose(forward - backward, UPHILL_S)
    # ... and the difference changes verdicts (otherwise the tests below could not fail).
    v_fwd = RULE.verdicts(forward.min(axis=1))
    v_bwd = RULE.verdicts(backward.min(axis=1))
    assert (v_fwd != v_bwd).sum() >= 3


def test_check_uses_place_to_site_times() -> None:
    router = AsymmetricRouter()
    out = check(list(map(tuple, PLACES)), sites_frame(SITES), RULE, router)
    want = expected_s(PLACES, SITES)
    best = want.min(axis=1)
    assert np.allclose(out["drive_min"].to_numpy(), np.round(best / 60.0, 1))
    assert list(out["nearest_site_id"]) == [f"S{i}" for i in want.argmin(axis=1)]
    assert list(out["verdict"]) == list(RULE.verdicts(best, router.info))
    # Spelled out for the first place: 95 km north → 95 + 20 = 115 min → borderline
    # (the wrong direction, 95 min, would be within).
    assert out["drive_min"].iloc[0] == 115.0
    assert out["verdict"].iloc[0] == Verdict.BORDERLINE.value


def test_check_one_place_at_a_time_equals_the_batch() -> None:
    router = AsymmetricRouter()
    sites = sites_frame(SITES)
    batch = check(list(map(tuple, PLACES)), sites, RULE, router)
    for i, p in enumerate(PLACES):
        one = check([tuple(p)], sites, RULE, router)
        assert one["drive_min"].iloc[0] == batch["drive_min"].iloc[i]
        assert one["verdict"].iloc[0] == batch["verdict"].iloc[i]


def test_rank_sites_uses_place_to_site_times() -> None:
    router = AsymmetricRouter()
    place = PLACES[3]  # 10 km south-west-ish of S1: uphill to both sites
    ranked = rank_sites(LonLat(*place), sites_frame(SITES), router, RULE)
    want = expected_s(place[None, :], SITES)[0]
    by_id = ranked.set_index("site_id")["drive_min"]
    assert by_id["S0"] == round(want[0] / 60.0, 1)
    assert by_id["S1"] == round(want[1] / 60.0, 1)
    assert list(ranked["site_id"]) == [f"S{i}" for i in np.argsort(want)]
    assert list(ranked.set_index("site_id").loc[["S0", "S1"], "verdict"]) == list(
        RULE.verdicts(want, router.info)
    )


def test_coverage_uses_unit_to_site_times() -> None:
    router = AsymmetricRouter()
    population = gpd.GeoDataFrame(
        {"population": np.arange(1, len(PLACES) + 1) * 100.0, "state": "XX"},
        geometry=gpd.points_from_xy(PLACES[:, 0], PLACES[:, 1]),
        crs="EPSG:4326",
    )
    result = coverage(sites_frame(SITES), RULE, router, population)
    want = expected_s(PLACES, SITES).min(axis=1)
    assert np.allclose(result.units["duration_s"].to_numpy(), want)
    within = want / 60.0 <= RULE.max_drive_min
    assert list(result.units["within_rule"].astype(bool)) == list(within)
    assert result.covered_population == pytest.approx(population["population"][within].sum())


def test_coverage_sets_use_unit_to_candidate_times() -> None:
    router = AsymmetricRouter()
    units = PLACES
    cands = SITES
    sets = coverage_sets(router, units, cands, RULE.max_drive_s)
    want = expected_s(units, cands)
    ui, ci = np.nonzero(want / 60.0 <= RULE.max_drive_min)
    got = sorted(zip(sets.unit.tolist(), sets.candidate.tolist(), strict=True))
    assert got == sorted(zip(ui.tolist(), ci.tolist(), strict=True))
    assert np.allclose(np.sort(sets.duration_s), np.sort(want[ui, ci]))
    # The wrong direction would add pairs (20 min shorter): make sure it is a different answer.
    wrong = np.count_nonzero(RULE.max_drive_min >= expected_s(cands, units).T / 60.0)
    assert wrong > len(got)


def test_suggest_sites_picks_by_place_to_site_times() -> None:
    """k = 1: the right direction chooses the candidate that covers the small town.

    Town A (1,000 people, row 0) lies 105 km south of candidate N: A → N = 125 min (uphill),
    not covered; N → A would be 105 min. Town B (100 people, row 300) lies 110 km north of
    candidate S: B → S = 110 min (downhill), covered. Place → site: only S covers anyone (B).
    """
    router = AsymmetricRouter()
    towns = pts([200, 200], [0, 300])
    population = gpd.GeoDataFrame(
        {"population": [1000.0, 100.0], "state": "XX"},
        geometry=gpd.points_from_xy(towns[:, 0], towns[:, 1]),
        crs="EPSG:4326",
    )
    cand_xy = pts([200, 200], [105, 190])
    candidates = sites_frame(cand_xy, prefix="C")
    result = suggest_sites(None, candidates, 1, RULE, router, population)
    chosen = result.table("ilp")["site_id"].tolist()
    assert chosen == ["C1"], result.summary()
    assert result.ilp.gain == pytest.approx(100.0)
    assert result.greedy.chosen == (1,)


def test_lodging_ranking_uses_lodging_to_site_times() -> None:
    from geo.lodging import search_lodging
    from geo.lodging.extract import empty_lodging

    router = AsymmetricRouter()
    site = pts([200], [200])[0]
    # North of the site (downhill to it): 105 km → 105 min → listed. South of it (uphill):
    # 105 km → 125 min → outside (the wrong direction would list it at 105 min).
    # South-east 60 km: 60 + 20 = 80 min → listed, ranked first.
    where = pts([200, 200, 230], [305, 95, 170])
    base = empty_lodging()
    rows = {c: [""] * 3 for c in base.columns if c != "geometry"}
    rows.update({"kind": ["hotel"] * 3, "name": ["North Inn", "South Inn", "East Inn"]})
    lodging = gpd.GeoDataFrame(
        pd.DataFrame(rows),
        geometry=gpd.points_from_xy(where[:, 0], where[:, 1]),
        crs="EPSG:4326",
    )
    found = search_lodging(LonLat(*site), lodging, RULE, router, limit=None)
    want = expected_s(where, site[None, :])[:, 0] / 60.0
    listed = found.frame.set_index("name")["drive_min"]
    assert list(found.frame["name"]) == ["East Inn", "North Inn"]
    assert listed["East Inn"] == pytest.approx(want[2])
    assert listed["North Inn"] == pytest.approx(want[0])
    assert found.outside == 1


def test_auto_engine_keeps_the_direction() -> None:
    """The ``auto`` engine with the fake as its local graph: same place → site answers."""
    from geo.routing.auto import AutoRouter

    router = AutoRouter(local=[AsymmetricRouter()])
    out = check(list(map(tuple, PLACES)), sites_frame(SITES), RULE, router)
    best = expected_s(PLACES, SITES).min(axis=1)
    assert np.allclose(out["drive_min"].to_numpy(), np.round(best / 60.0, 1))
    ranked = rank_sites(LonLat(*PLACES[3]), sites_frame(SITES), router, RULE)
    want = expected_s(PLACES[3][None, :], SITES)[0]
    assert list(ranked["drive_min"]) == [round(w / 60.0, 1) for w in np.sort(want)]
    m = router.drive_times(PLACES, SITES)
    assert np.allclose(m.duration_s, expected_s(PLACES, SITES))


def test_second_opinion_asks_the_second_engine_place_to_site() -> None:
    """OSRM answers, Valhalla checks near the limit: the check must be place → site too.

    With a second engine 1.3× slower, place 2 (85 km south: 105 min, within) gets a second
    opinion of 136.5 min — over the limit, so the verdict is borderline ("engines disagree").
    Asked the wrong way round the second engine would say 110.5 min and agree.
    """
    from geo.routing.second_opinion import SecondOpinionRouter

    router = SecondOpinionRouter(AsymmetricRouter(), SlowerAsymmetricRouter(1.3))
    res = router.nearest(PLACES, SITES, horizon_s=RULE.max_drive_s)
    primary = expected_s(PLACES, SITES).min(axis=1)
    assert np.allclose(res.duration_s, primary)
    band = (primary >= 0.8 * RULE.max_drive_s) & (primary <= 2.0 * RULE.max_drive_s)
    assert band[2] and band.sum() >= 3
    assert res.second_s is not None
    assert np.allclose(res.second_s[band], 1.3 * primary[band])
    out = check(list(map(tuple, PLACES)), sites_frame(SITES), RULE, router)
    assert out["drive_min"].iloc[2] == 105.0
    assert out["verdict"].iloc[2] == Verdict.BORDERLINE.value
    assert "disagree" in out["reason"].iloc[2]
