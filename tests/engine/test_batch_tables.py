"""The default engine's batch path: one OSRM table per batch, warm repeats from memory only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.routing.auto import AutoRouter
from geo.routing.cache import CachedRouter
from geo.routing.catalogue import make_router
from geo.routing.estimate import EstimateRouter
from geo.routing.graph_engines import graph_router
from geo.routing.memory import NEAREST_MEMORY, NEAREST_STATS
from geo.routing.osrm import OsrmRouter
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings

pytestmark = pytest.mark.engine

# Columbus OH: OSU James Cancer Hospital, the Ohio Statehouse, Nationwide Children's Hospital.
SITES = np.array([[-83.019169, 39.994656], [-82.9988, 39.9612], [-82.9795, 39.9530]])


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C"], "name": ["a", "b", "c"]},
        geometry=gpd.points_from_xy(SITES[:, 0], SITES[:, 1]),
        crs="EPSG:4326",
    )


def _places(n: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    out: np.ndarray[Any, Any] = np.c_[rng.uniform(-83.05, -82.95, n), rng.uniform(39.94, 40.02, n)]
    return out


def _count_tables(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every OSRM table any OsrmRouter sends from now on: its number of places."""
    asked: list[int] = []
    table_block = OsrmRouter._table_block

    def spy(self: OsrmRouter, o: np.ndarray[Any, Any], d: np.ndarray[Any, Any]) -> Any:
        asked.append(len(o))
        return table_block(self, o, d)

    monkeypatch.setattr(OsrmRouter, "_table_block", spy)
    return asked


def test_auto_declares_its_local_osrm_table_size(
    demo: ValhallaRouter, engine_settings: Settings
) -> None:
    local = graph_router(demo.graph, engine_settings)
    auto = AutoRouter(engine_settings, local=[local], fallback=EstimateRouter())
    assert local.limits.max_matrix_pairs  # the OSRM engine's table size, through the wrapper
    assert auto.limits.max_matrix_pairs == local.limits.max_matrix_pairs
    # Only engines that declare one count; none declaring: no bound (check's 2,000 rows).
    assert AutoRouter(engine_settings, local=[demo]).limits.max_matrix_pairs is None


def test_auto_sends_a_batch_as_one_table_with_the_same_answers(
    demo: ValhallaRouter, engine_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo.proximity import check
    from geo.rules import custom_rule

    NEAREST_MEMORY.clear()
    asked = _count_tables(monkeypatch)
    pts = _places(2_100, seed=11)
    rule = custom_rule(30, margin_min=5)
    auto = AutoRouter(
        engine_settings, local=[graph_router(demo.graph, engine_settings)], online=None
    )
    out = check([tuple(p) for p in pts], _sites(), rule, auto)
    assert asked == [2_100]  # check()'s default chunk is 2,000 places: one table, not two

    # The old way (2,000 places per call) gives the same verdicts and times.
    old = AutoRouter(
        engine_settings, local=[graph_router(demo.graph, engine_settings)], online=None
    )
    old.limits = type(old.limits)()
    asked.clear()
    before = check([tuple(p) for p in pts], _sites(), rule, old)
    assert asked == [2_000, 100]
    pd.testing.assert_frame_equal(out, before)

    # And the times are the engine's own: the minimum of its full table per place.
    raw = OsrmRouter(demo.graph, engine_settings).drive_times(pts, SITES).duration_s
    routed = (out["basis"] == "routed drive time").to_numpy()
    assert routed.sum() > 1_000
    expected = np.round(np.nanmin(raw[routed], axis=1) / 60.0, 1)
    np.testing.assert_allclose(out["drive_min"].to_numpy()[routed], expected, atol=0.051)


def _files(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def test_a_warm_repeat_answers_from_memory_and_writes_nothing(
    demo: ValhallaRouter, engine_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trialreach.api import check

    NEAREST_MEMORY.clear()
    # Every engine opened by check() is new; count what reaches OSRM and Valhalla.
    asked = _count_tables(monkeypatch)
    valhalla_calls: list[int] = []
    valhalla_nearest = ValhallaRouter.nearest

    def spy_valhalla(self: ValhallaRouter, o: Any, d: Any, horizon_s: Any = None) -> Any:
        valhalla_calls.append(len(o))
        return valhalla_nearest(self, o, d, horizon_s)

    monkeypatch.setattr(ValhallaRouter, "nearest", spy_valhalla)
    pts = _places(500, seed=12)
    places = gpd.GeoDataFrame(
        {"place_id": np.arange(len(pts))},
        geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]),
        crs="EPSG:4326",
    )
    # Warm up once with other places: graphs opened and verified, nothing patient-specific.
    check(places.iloc[:0], sites=_sites(), engine="auto", settings=engine_settings)
    files = _files(engine_settings.cache_dir)

    def run() -> gpd.GeoDataFrame:
        return check(
            places,
            sites=_sites(),
            engine="auto",
            settings=engine_settings,
            max_minutes=8,
            margin_min=2,
        )

    hits = NEAREST_STATS["hit"]
    cold = run()
    assert asked == [500]
    assert valhalla_calls  # an 8-min limit in town: some places get a second opinion
    cold_calls = list(valhalla_calls)
    warm = run()
    assert asked == [500]  # no table sent the second time
    assert valhalla_calls == cold_calls  # and no second opinion asked again
    assert NEAREST_STATS["hit"] > hits
    pd.testing.assert_frame_equal(pd.DataFrame(cold), pd.DataFrame(warm))
    assert (cold["basis"] == "routed drive time").sum() > 400
    # Nothing about these places reached the disk: the cache folder is unchanged.
    assert _files(engine_settings.cache_dir) == files


def test_remembered_answers_are_copies(demo: ValhallaRouter, engine_settings: Settings) -> None:
    NEAREST_MEMORY.clear()
    router = CachedRouter(OsrmRouter(demo.graph, engine_settings), engine_settings)
    pts = _places(20, seed=13)
    first = router.nearest(pts, SITES, 1800.0)
    first.duration_s[:] = -1.0  # a caller scribbling on its answer …
    again = router.nearest(pts, SITES, 1800.0)
    assert (again.duration_s > 0).all()  # … does not change what is remembered
    # Another graph build (or another snap guard) is another key: asked afresh.
    other = CachedRouter(OsrmRouter(demo.graph, engine_settings, max_snap_m=100.0))
    stats = dict(NEAREST_STATS)
    other.nearest(pts, SITES, 1800.0)
    assert NEAREST_STATS["miss"] == stats["miss"] + 1


@pytest.mark.parametrize("engine", ["osrm", "valhalla"])
def test_each_graph_engine_answers_a_repeat_from_memory_once(
    engine: str, demo: ValhallaRouter, engine_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chosen by name, each engine is wrapped once (the catalogue's CachedRouter): a repeat in a
    freshly opened engine of the same graph is one memory hit, and the engine is not asked."""
    NEAREST_MEMORY.clear()
    cls: Any = OsrmRouter if engine == "osrm" else ValhallaRouter
    asked: list[int] = []
    inner = cls.nearest

    def spy(self: Any, o: Any, d: Any, horizon_s: Any = None) -> Any:
        asked.append(len(o))
        return inner(self, o, d, horizon_s)

    monkeypatch.setattr(cls, "nearest", spy)
    pts = _places(30, seed=14)
    first = make_router(engine, graph="demo", settings=engine_settings)
    assert isinstance(first, CachedRouter) and isinstance(first.router, cls)
    cold = first.nearest(pts, SITES, 1800.0)
    assert asked == [30]
    hits = NEAREST_STATS["hit"]
    warm = make_router(engine, graph="demo", settings=engine_settings).nearest(pts, SITES, 1800.0)
    assert asked == [30]  # the engine itself was asked once, in all
    assert NEAREST_STATS["hit"] == hits + 1
    np.testing.assert_array_equal(cold.index, warm.index)
    np.testing.assert_array_equal(cold.duration_s, warm.duration_s)
    # The same answers as the engine's own, unwrapped (the wrapper changes nothing).
    bare = inner(cls(demo.graph, engine_settings), pts, SITES, 1800.0)
    np.testing.assert_array_equal(bare.duration_s, warm.duration_s)


def test_the_memory_holds_no_coordinates(demo: ValhallaRouter, engine_settings: Settings) -> None:
    """Keys are SHA-256 digests, values indices, times and labels: no place's coordinates."""
    NEAREST_MEMORY.clear()
    pts = _places(25, seed=15)
    make_router("osrm", graph="demo", settings=engine_settings).nearest(pts, SITES, 1800.0)
    assert len(NEAREST_MEMORY.data) == 1
    coords = {round(float(v), 4) for v in np.concatenate([pts.ravel(), SITES.ravel()])}
    for key, res in NEAREST_MEMORY.data.items():
        assert len(key) == 64 and int(key, 16) >= 0  # a hex digest
        for value in vars(res).values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                held = {round(float(v), 4) for v in value.ravel() if np.isfinite(v)}
                assert not held & coords
            if isinstance(value, np.ndarray) and value.dtype.kind in "UO":
                text = " ".join(map(str, value.ravel()))
                assert not any(f"{c:.4f}" in text for c in coords)
