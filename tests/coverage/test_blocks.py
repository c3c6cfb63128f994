"""Blocks of pairs (geo.coverage.pair_blocks): every pair asked once, in tables of bounded size,
and every time equal to the engine's own all-pairs table.

The reference is brute force: one dense OSRM table of every unit × every site on a small
synthetic road grid (and the unblocked, one-call-per-site run), compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo.coverage import (
    BLOCK_KM,
    destination_cells,
    pair_blocks,
    pairs_in_reach,
    reach_km,
    route_pairs,
)
from geo.rules import ProximityRule
from geo.siting import coverage_sets

RULE = ProximityRule(name="t", max_drive_min=8, min_days=1, margin_min=1)  # reach 17.3 km


def _points(n: int, seed: int, lon: float = -100.0, lat: float = 40.0, deg: float = 6.0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return np.column_stack((rng.uniform(lon, lon + deg, n), rng.uniform(lat, lat + deg, n)))


def test_every_pair_in_exactly_one_block_and_tables_bounded() -> None:
    units, cands = _points(900, 1), _points(120, 2)
    cands[:30] = cands[0] + np.linspace(0, 0.3, 30)[:, None]  # a city of candidates
    oi, di, _ = pairs_in_reach(units, cands, 150.0)
    for block_km, max_cells in ((BLOCK_KM, 250_000), (BLOCK_KM, 400), (50.0, 2_000), (None, 10)):
        blocks = pair_blocks(cands, oi, di, block_km=block_km, max_cells=max_cells)
        rows = np.concatenate(blocks)
        np.testing.assert_array_equal(np.sort(rows), np.arange(len(oi)))  # each pair once
        owner = np.full(len(cands), -1)
        for k, r in enumerate(blocks):
            dests = np.unique(di[r])
            assert (owner[dests] == -1).all()  # a destination is in one block only
            owner[dests] = k
            table = len(np.unique(oi[r])) * len(dests)
            assert table <= max_cells or len(dests) == 1
            if block_km is not None:  # inside one cell of block_km
                assert len(np.unique(destination_cells(cands[dests], block_km))) == 1
        # Deterministic: the Dask path recomputes the blocks and relies on it.
        again = pair_blocks(cands, oi, di, block_km=block_km, max_cells=max_cells)
        assert all(np.array_equal(a, b) for a, b in zip(blocks, again, strict=True))
    # The cap splits the city's cell by candidate (never by unit): more blocks than cells.
    capped = pair_blocks(cands, oi, di, block_km=BLOCK_KM, max_cells=400)
    cells = len(np.unique(destination_cells(cands, BLOCK_KM)[di]))
    assert len(pair_blocks(cands, oi, di)) == cells < len(capped)
    assert len(pair_blocks(cands, oi, di, block_km=None)) == len(np.unique(di))


@pytest.fixture(scope="module")
def grid_router(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pytest.importorskip("osrm")
    from geo.routing.graph import build_graph
    from geo.routing.osrm import OsrmRouter
    from geo.routing.synthetic import GridSpec, write_network_pbf
    from geo.settings import Settings

    spec = GridSpec(size_km=40.0, spacing_km=1.0, primary_every=10)
    work = Path(tmp_path_factory.mktemp("blocks-grid"))
    write_network_pbf(work / "grid.osm.pbf", spec)
    manifest = build_graph(
        [work / "grid.osm.pbf"], "blocks", Settings(cache_dir=work / "cache"), out_dir=work / "g"
    )
    return spec, OsrmRouter(manifest)


@pytest.mark.engine
def test_blocked_times_equal_the_engines_all_pairs_table(grid_router) -> None:  # type: ignore[no-untyped-def]
    spec, router = grid_router
    rng = np.random.default_rng(3)
    units = spec.lonlat(rng.uniform(0, 40, 300), rng.uniform(0, 40, 300))
    cands = spec.lonlat(rng.uniform(0, 40, 25), rng.uniform(0, 40, 25))
    cands[5:12] = cands[5] + np.array([[0.001, 0.0]]) * np.arange(7)[:, None]  # a cluster
    radius = reach_km(RULE.max_drive_s)
    oi, di, _ = pairs_in_reach(units, cands, radius)
    assert 0 < len(oi) < len(units) * len(cands) / 2  # the reach cuts
    # Brute force: one table of every unit × every candidate.
    dense = router.drive_times(units, cands).duration_s
    assert np.isfinite(dense[oi, di]).mean() > 0.9
    for block_km, max_cells in ((BLOCK_KM, 250_000), (5.0, 300), (None, 250_000)):
        t = route_pairs(router, units, cands, oi, di, block_km=block_km, max_cells=max_cells)
        np.testing.assert_array_equal(t.duration_s, dense[oi, di])
        assert t.calls == len(pair_blocks(cands, oi, di, block_km=block_km, max_cells=max_cells))
        assert t.cells >= len(oi)
    # The coverage sets (default blocks) equal the dense table's pairs within the limit.
    sets = coverage_sets(router, units, cands, RULE.max_drive_s)
    within = np.isfinite(dense) & (np.round(dense / 60.0, 6) <= RULE.max_drive_min)
    ref_u, ref_c = np.nonzero(within)
    order = np.lexsort((ref_u, ref_c))
    np.testing.assert_array_equal(sets.unit, ref_u[order])
    np.testing.assert_array_equal(sets.candidate, ref_c[order])
    np.testing.assert_array_equal(sets.duration_s, dense[ref_u[order], ref_c[order]])
    assert sets.engine_calls == 1  # a 40 km grid is one cell of BLOCK_KM


def test_block_size_is_the_osrm_table_size() -> None:
    """A block no larger than one OSRM table is never split into tables by origin (which would
    pay each destination's whole-graph search again): the two sizes must stay equal."""
    from geo.coverage.pairs import BLOCK_CELLS
    from geo.routing.osrm_tables import DEFAULT_CHUNK_PAIRS

    assert BLOCK_CELLS == DEFAULT_CHUNK_PAIRS
