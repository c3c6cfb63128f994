"""The distributed path for real: a 2-process LocalCluster opens a road graph from its folder.

A tiny synthetic grid is built with both engines; each worker process opens the OSRM table
engine from the graph folder once and routes its blocks. The numbers must equal the
single-process run exactly (same engine, same pairs), and every worker process must have opened
the graph itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("osrm")

from distributed import Client

from geo.coverage import coverage
from geo.distributed import RouterSpec, coverage_dask, engines_built, local_cluster
from geo.routing.graph import GraphManifest, build_graph
from geo.routing.synthetic import GridSpec, write_network_pbf
from geo.rules import ProximityRule
from geo.settings import Settings

from .conftest import points_frame

SPEC = GridSpec(size_km=30.0, spacing_km=1.0, primary_every=10)
RULE = ProximityRule(name="t", max_drive_min=6, min_days=1, margin_min=1)  # reach 13 km at 130 km/h


@pytest.fixture(scope="module")
def grid_graph(tmp_path_factory: pytest.TempPathFactory) -> GraphManifest:
    work = tmp_path_factory.mktemp("dask-grid")
    pbf = work / "grid.osm.pbf"
    write_network_pbf(pbf, SPEC)
    settings = Settings(cache_dir=work / "cache")
    return build_graph([pbf], "daskgrid", settings, out_dir=work / "graph")


@pytest.fixture(scope="module")
def process_client() -> Iterator[Client]:
    with local_cluster(n_workers=2, processes=True) as cluster, Client(cluster) as c:  # type: ignore[no-untyped-call]
        yield c


def _population() -> object:
    rng = np.random.default_rng(5)
    cols, rows = rng.uniform(0, 30, 80), rng.uniform(0, 30, 80)
    xy = SPEC.lonlat(cols, rows)
    recs: list[dict[str, object]] = [
        {"state": "AA" if i % 3 else "BB", "population": int(10 + i), "lon": x, "lat": y}
        for i, (x, y) in enumerate(xy.tolist())
    ]
    return points_frame(recs)


def test_two_process_cluster_equals_one_process(
    grid_graph: GraphManifest, process_client: Client
) -> None:
    from geo.routing.osrm import OsrmRouter

    sites_xy = SPEC.lonlat(np.array([3.0, 27.0]), np.array([3.0, 27.0]))
    sites = points_frame(
        [{"site_id": f"S{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(sites_xy.tolist())]
    )
    pop = _population()
    local = coverage(sites, RULE, OsrmRouter(grid_graph), pop, reach_bound=True)
    spec = RouterSpec.on_graph("osrm", Path(grid_graph.path))
    remote = coverage_dask(
        sites,
        RULE,
        spec,
        pop,
        client=process_client,
        chunk_size=20,
        reach_bound=True,
        block_km=None,  # one task per site (both workers busy); locally one call for both
    )
    # The cut is real and the answers are non-trivial: some within, some outside.
    assert local.reach is not None and remote.reach is not None
    assert local.reach.pairs_asked < local.reach.pairs_possible
    assert remote.reach.pairs_asked == local.reach.pairs_asked
    assert 0 < local.covered_population < local.total_population
    assert local.outside_population > 0
    # Identical numbers, unit by unit.
    assert remote.covered_population == local.covered_population
    assert remote.outside_population == local.outside_population
    assert remote.unknown_population == local.unknown_population
    np.testing.assert_array_equal(
        remote.units["duration_s"].to_numpy(float), local.units["duration_s"].to_numpy(float)
    )
    pd.testing.assert_frame_equal(remote.by_state, local.by_state)
    assert (remote.units["method"] == local.units["method"]).all()
    # Every worker process opened the graph itself (no engine travelled over the network).
    built = process_client.run(engines_built)
    assert len(built) == 2
    assert all(sum(v.values()) == 1 for v in built.values()), built
    assert "dask: 2 workers" in remote.compute


def test_two_process_suggest_equals_one_process(
    grid_graph: GraphManifest, process_client: Client
) -> None:
    from geo.distributed import suggest_sites_dask
    from geo.routing.osrm import OsrmRouter
    from geo.siting import suggest_sites

    site_xy = SPEC.lonlat(np.array([3.0]), np.array([3.0]))
    sites = points_frame([{"site_id": "S0", "lon": site_xy[0, 0], "lat": site_xy[0, 1]}])
    cand_xy = SPEC.lonlat(
        np.array([8.0, 15.0, 22.0, 27.0, 15.0]), np.array([8.0, 15.0, 22.0, 5.0, 26.0])
    )
    cands = points_frame(
        [{"name": f"C{i}", "lon": x, "lat": y} for i, (x, y) in enumerate(cand_xy.tolist())]
    )
    pop = _population()
    local = suggest_sites(sites, cands, 2, RULE, OsrmRouter(grid_graph), pop)
    remote = suggest_sites_dask(
        sites,
        cands,
        2,
        RULE,
        RouterSpec.on_graph("osrm", Path(grid_graph.path)),
        pop,
        client=process_client,
    )
    assert 0 < local.baseline_covered_population < local.total_population
    assert local.stats.units_skipped > 0 and local.ilp.gain > 0
    assert remote.baseline_covered_population == local.baseline_covered_population
    assert remote.ilp.chosen == local.ilp.chosen and remote.ilp.gain == local.ilp.gain
    assert remote.stats.pairs_asked == local.stats.pairs_asked
    # The five candidates share one cell of geo.coverage.BLOCK_KM: one call, locally and on
    # the cluster (the same blocks).
    assert local.stats.engine_calls == remote.stats.engine_calls == 1
    assert remote.stats.units_skipped == local.stats.units_skipped
