"""Siting asks the engine once per candidate; coverage never asks second opinions it ignores;
``suggest`` on Dask skips units already covered. Each compared with an unbatched, single-process
or plain-engine reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from routing_fakes import CrowFliesRouter

from geo.coverage import (
    BLOCK_KM,
    coverage,
    destination_cells,
    pairs_in_reach,
    reach_km,
)
from geo.routing.auto import AutoRouter
from geo.routing.cache import CachedRouter, DiskCache
from geo.routing.second_opinion import SecondOpinionRouter
from geo.rules import ProximityRule
from geo.siting import coverage_sets, suggest_sites

from .conftest import points_frame

RULE = ProximityRule(name="t", max_drive_min=120, min_days=1)


def counter(slower: float = 1.0) -> CrowFliesRouter:
    """Straight line × 1.3 at 70 km/h, × ``slower``; counts calls and cells (the shared fake)."""
    return CrowFliesRouter("counter", slower=slower)


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack((rng.uniform(-100, -80, n), rng.uniform(30, 45, n)))


def test_coverage_sets_ask_once_per_cell_and_equal_the_unbatched_pairs() -> None:
    units, cands = _points(400, 1), _points(60, 2)
    cands[10:20] = cands[10] + np.linspace(0, 0.2, 10)[:, None]  # a cluster (a city)
    # Unbatched reference: every pair in reach asked on its own (1 × 1), kept if within.
    ui, ci, _ = pairs_in_reach(units, cands, reach_km(RULE.max_drive_s))
    one = counter()
    single = np.array(
        [
            one.drive_times(units[u : u + 1], cands[c : c + 1]).duration_s[0, 0]
            for u, c in zip(ui, ci, strict=True)
        ]
    )
    keep = single / 60.0 <= RULE.max_drive_min
    ref = pd.DataFrame({"u": ui[keep], "c": ci[keep], "s": single[keep]}).sort_values(["c", "u"])
    cells = destination_cells(cands, BLOCK_KM)
    for block_km, calls in ((None, len(np.unique(ci))), (BLOCK_KM, len(np.unique(cells[ci])))):
        router = counter()
        sets = coverage_sets(router, units, cands, RULE.max_drive_s, block_km=block_km)
        np.testing.assert_array_equal(sets.unit, ref["u"].to_numpy())
        np.testing.assert_array_equal(sets.candidate, ref["c"].to_numpy())
        np.testing.assert_allclose(sets.duration_s, ref["s"].to_numpy(), rtol=1e-12)
        # One call per candidate (or per cell of candidates) with any unit in reach.
        assert router.calls == sets.engine_calls == calls
        assert sets.pairs_routed == len(ui) == one.calls
        assert sets.pairs_possible == len(units) * len(cands) > 3 * len(ui)
        if block_km is None:
            assert router.cells == len(ui)  # exactly the pairs in reach
        else:
            assert router.calls <= len(np.unique(ci)) - 9  # the cluster is one call


def _second_opinion_router() -> tuple[SecondOpinionRouter, CrowFliesRouter]:
    second = counter(slower=1.1)
    return SecondOpinionRouter(counter(), second), second


def test_screened_coverage_does_not_ask_second_opinions(tmp_path: Path) -> None:
    xy, site_xy = _points(300, 3), _points(4, 4)
    pop = points_frame(
        [{"population": 10 + i, "lon": x, "lat": y} for i, (x, y) in enumerate(xy.tolist())]
    )
    sites = points_frame(
        [{"site_id": f"S{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(site_xy.tolist())]
    )
    # The engine does ask its second engine when given the rule's limit (what coverage did).
    router, second = _second_opinion_router()
    asked = router.nearest(xy, site_xy, RULE.max_drive_s)
    assert second.calls > 0 and (asked.row_second()[1] != "").any()
    router, second = _second_opinion_router()
    res = coverage(sites, RULE, router, pop, screen=True)
    assert second.calls == 0
    plain = coverage(sites, RULE, counter(), pop, screen=True)
    pd.testing.assert_series_equal(res.units["duration_s"], plain.units["duration_s"])
    assert res.covered_population == plain.covered_population > 0
    # Inside the auto engine too; the engine passed in is left as it was.
    router, second = _second_opinion_router()
    auto = AutoRouter(local=[router], online=None, fallback=counter())
    quiet = auto.without_second_opinions()
    assert quiet is not auto and auto.local[0] is router
    assert isinstance(quiet, AutoRouter)
    quiet.nearest(xy, site_xy, RULE.max_drive_s)
    assert second.calls == 0
    auto.nearest(xy, site_xy, RULE.max_drive_s)
    assert second.calls > 0
    # Behind the process memory, as the catalogue opens every local engine, too.
    router, second = _second_opinion_router()
    memory = CachedRouter(router, disk=DiskCache(tmp_path))
    res = coverage(sites, RULE, memory, pop, screen=True)
    assert second.calls == 0
    pd.testing.assert_series_equal(res.units["duration_s"], plain.units["duration_s"])


@pytest.fixture(scope="module")
def thread_client():  # type: ignore[no-untyped-def]
    pytest.importorskip("distributed")
    from distributed import Client

    from geo.distributed import local_cluster

    with local_cluster(n_workers=2, processes=False) as cluster, Client(cluster) as c:  # type: ignore[no-untyped-call]
        yield c


def test_suggest_on_dask_skips_covered_units_and_equals_local(thread_client) -> None:  # type: ignore[no-untyped-def]
    from geo.distributed import RouterSpec, suggest_sites_dask
    from geo.routing import get_router

    xy, cand_xy = _points(600, 5), _points(50, 6)
    pop = points_frame(
        [{"population": 100 + 3 * i, "lon": x, "lat": y} for i, (x, y) in enumerate(xy.tolist())]
    )
    cands = points_frame(
        [{"name": f"C{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(cand_xy.tolist())]
    )
    sites = points_frame(
        [{"site_id": f"S{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(cand_xy[:5].tolist())]
    )
    local = suggest_sites(sites, cands, 3, RULE, get_router("estimate"), pop)
    remote = suggest_sites_dask(
        sites, cands, 3, RULE, RouterSpec("estimate"), pop, client=thread_client
    )
    assert remote.baseline_covered_population == local.baseline_covered_population > 0
    assert remote.ilp.chosen == local.ilp.chosen and remote.ilp.gain == local.ilp.gain > 0
    assert remote.greedy.chosen == local.greedy.chosen
    assert remote.coverable_population == local.coverable_population
    # Units the existing sites cover were not timed against the candidates, on either path.
    assert remote.stats.units_skipped == local.stats.units_skipped > 0
    assert remote.stats.pairs_asked == local.stats.pairs_asked
    every = coverage_sets(get_router("estimate"), xy, cand_xy, RULE.max_drive_s)
    assert local.stats.pairs_asked < every.pairs_routed
    assert remote.stats.pairs_possible == local.stats.pairs_possible == 600 * 50
