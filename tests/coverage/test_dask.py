"""The Dask path: same answers as the local path, one engine per worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from distributed import Client

from geo.coverage import coverage
from geo.distributed import (
    RouterSpec,
    coverage_dask,
    coverage_sets_dask,
    engines_built,
    local_cluster,
)
from geo.errors import ValidationError
from geo.routing import get_router
from geo.rules import ProximityRule
from geo.siting import coverage_sets

from .conftest import points_frame

RULE = ProximityRule(name="t", max_drive_min=120, min_days=1)


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with local_cluster(n_workers=2, processes=False) as cluster, Client(cluster) as c:
        yield c


def _population(n: int = 900) -> object:
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(-100, -80, n), rng.uniform(30, 45, n)
    people = rng.integers(0, 5000, n)
    rows: list[dict[str, object]] = [
        {
            "unit_id": f"u{i}",
            "state": "AA" if i % 2 else "BB",
            "population": int(people[i]),
            "lon": float(lon[i]),
            "lat": float(lat[i]),
        }
        for i in range(n)
    ]
    rows.append({"unit_id": "nowhere", "state": "CC", "population": 77, "lon": None, "lat": None})
    return points_frame(rows)


SITES = points_frame(
    [
        {"site_id": "A", "lon": -95.0, "lat": 35.0},
        {"site_id": "B", "lon": -85.0, "lat": 40.0},
        {"site_id": "C", "lon": -90.0, "lat": 42.0},
    ]
)


def test_coverage_dask_equals_local(client) -> None:  # type: ignore[no-untyped-def]
    pop = _population()
    local = coverage(SITES, RULE, get_router("estimate"), pop)
    progress: list[tuple[int, int]] = []
    remote = coverage_dask(
        SITES,
        RULE,
        "estimate",
        pop,
        client=client,
        chunk_size=100,
        progress=lambda d, t: progress.append((d, t)),
    )
    assert remote.total_population == local.total_population == pop["population"].sum()
    assert remote.covered_population == local.covered_population
    pd.testing.assert_frame_equal(remote.bands, local.bands)
    pd.testing.assert_frame_equal(remote.by_state, local.by_state)
    np.testing.assert_array_equal(remote.units["duration_s"], local.units["duration_s"])
    assert (remote.units["nearest_site_id"] == local.units["nearest_site_id"]).all()
    assert remote.unknown_population == 77
    assert remote.compute.startswith("dask: 2 workers, 9 chunks")
    assert progress[-1] == (900, 900)
    # One engine per worker, however many chunks each worker ran.
    built = engines_built()
    workers = set(client.scheduler_info()["workers"])
    assert all(built.get(w) == 1 for w in workers), built


def test_coverage_sets_dask_equals_local(client) -> None:  # type: ignore[no-untyped-def]
    pop = _population(500)
    cands = points_frame(
        [{"site_id": str(i), "lon": -100 + i, "lat": 30 + (i % 15)} for i in range(20)]
    )
    xy = lambda f: np.column_stack([f.geometry.x, f.geometry.y])  # noqa: E731
    local = coverage_sets(get_router("estimate"), xy(pop), xy(cands), RULE.max_drive_s)
    remote = coverage_sets_dask(RouterSpec("estimate"), pop, cands, RULE.max_drive_s, client=client)
    assert len(local) > 50
    np.testing.assert_array_equal(remote.unit, local.unit)
    np.testing.assert_array_equal(remote.candidate, local.candidate)
    np.testing.assert_allclose(remote.duration_s, local.duration_s)
    assert remote.engine == local.engine


def test_live_engine_objects_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="RouterSpec"):
        coverage_dask(SITES, RULE, get_router("estimate"), _population(10), client=client)  # type: ignore[arg-type]


@pytest.mark.engine
def test_coverage_dask_with_the_real_engine_equals_local(client) -> None:  # type: ignore[no-untyped-def]
    # The routed path a national run would take, on the demo road graph: one Valhalla engine
    # per worker, built there from a picklable spec; the answers equal the local run's.
    from geo.routing.graph import ensure_demo_graph

    ensure_demo_graph()  # built once up front, not by two workers at the same time
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-83.10, -82.90, 240), rng.uniform(39.92, 40.06, 240)
    pop = points_frame(
        [
            {"unit_id": f"c{i}", "state": "OH", "population": 100 + i, "lon": x, "lat": y}
            for i, (x, y) in enumerate(zip(lon, lat, strict=True))
        ]
    )
    james = points_frame([{"site_id": "JAMES", "lon": -83.019169, "lat": 39.994656}])
    rule = ProximityRule(name="t", max_drive_min=15, min_days=1, margin_min=2)
    spec = RouterSpec("valhalla", (("graph", "demo"),))
    local = coverage(james, rule, spec.build(), pop)
    remote = coverage_dask(james, rule, spec, pop, client=client, chunk_size=60)
    assert remote.total_population == local.total_population == pop["population"].sum()
    assert remote.covered_population == local.covered_population
    assert 0 < local.covered_population < local.total_population  # the limit splits the city
    np.testing.assert_allclose(
        remote.units["duration_s"].to_numpy(float), local.units["duration_s"].to_numpy(float)
    )
    assert set(remote.units["engine"]) == {"valhalla · OSM extract demo of 2015-02-07"}
