"""The routing cache: keyed by engine and data version, disk only for what may be persisted."""

import numpy as np
import pytest

from geo.routing.cache import CachedRouter, DiskCache
from geo.routing.estimate import EstimateParams, EstimateRouter
from geo.routing.keys import canonical_key
from geo.types import EngineInfo, LonLat

SITE = [(-92.466293, 44.02412)]


class CountingEstimate(EstimateRouter):
    def __init__(self, params=None):
        super().__init__(params)
        self.iso_calls = 0
        self.matrix_calls = 0

    def isochrones(self, points, minutes):
        self.iso_calls += 1
        return super().isochrones(points, minutes)

    def drive_times(self, origins, destinations):
        self.matrix_calls += 1
        return super().drive_times(origins, destinations)


def test_key_changes_with_engine_data_and_request():
    a = EngineInfo(name="valhalla", data="OSM extract demo", data_date="2026-10-01")
    b = EngineInfo(name="valhalla", data="OSM extract demo", data_date="2026-11-01")
    req = {"p": [[1.0, 2.0]], "minutes": [120.0]}
    assert canonical_key("isochrones", a, req) == canonical_key("isochrones", a, dict(req))
    assert canonical_key("isochrones", a, req) != canonical_key("isochrones", b, req)
    assert canonical_key("isochrones", a, req) != canonical_key("matrix", a, req)
    assert canonical_key("isochrones", a, req) != canonical_key(
        "isochrones", a, {"p": [[1.0, 2.0]], "minutes": [60.0]}
    )


def test_site_isochrones_persist_across_processes(tmp_path):
    disk = DiskCache(tmp_path)
    first = CountingEstimate()
    cached = CachedRouter(first, persist={"isochrones"}, disk=disk)
    iso = cached.isochrones(SITE, [60, 120])
    again = cached.isochrones(SITE, [120, 60])  # same request, other order: memory hit
    assert first.iso_calls == 1 and cached.stats["memory"] == 1
    # A new router (a new process) finds the answer on disk.
    second = CountingEstimate()
    fresh = CachedRouter(second, persist={"isochrones"}, disk=disk)
    from_disk = fresh.isochrones(SITE, [60, 120])
    assert second.iso_calls == 0 and fresh.stats["disk"] == 1
    assert list(from_disk["minutes"]) == [60.0, 120.0]
    assert from_disk.geometry.iloc[1].equals_exact(iso.geometry.iloc[1], 1e-9)
    assert again.geometry.iloc[0].equals(iso.geometry.iloc[0])


def test_other_engine_parameters_do_not_reuse_the_answer(tmp_path):
    disk = DiskCache(tmp_path)
    CachedRouter(CountingEstimate(), persist={"isochrones"}, disk=disk).isochrones(SITE, [60])
    other = CountingEstimate(EstimateParams(detour=1.5))
    CachedRouter(other, persist={"isochrones"}, disk=disk).isochrones(SITE, [60])
    assert other.iso_calls == 1


def test_patient_matrices_never_reach_the_disk_unless_asked(tmp_path):
    disk = DiskCache(tmp_path)
    cached = CachedRouter(CountingEstimate(), disk=disk)
    m1 = cached.drive_times([(-92.0, 44.5)], SITE)
    m2 = cached.drive_times([(-92.0, 44.5)], SITE)
    assert cached.router.matrix_calls == 1
    assert np.array_equal(m1.duration_s, m2.duration_s)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    cached.route(LonLat(-92.0, 44.5), LonLat(-92.466293, 44.02412))
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_public_matrices_persist_when_asked(tmp_path):
    disk = DiskCache(tmp_path)
    CachedRouter(CountingEstimate(), persist={"matrices"}, disk=disk).drive_times(
        [(-92.0, 44.5), (np.nan, np.nan)], SITE
    )
    second = CountingEstimate()
    m = CachedRouter(second, persist={"matrices"}, disk=disk).drive_times(
        [(-92.0, 44.5), (np.nan, np.nan)], SITE
    )
    assert second.matrix_calls == 0
    assert np.isnan(m.duration_s[1, 0]) and m.duration_s[0, 0] > 0
    assert disk.clear() == 1


def test_unknown_persist_kind_is_refused():
    with pytest.raises(ValueError, match="only isochrones and matrices"):
        CachedRouter(EstimateRouter(), persist={"routes"})


def test_catalogue_engines_keep_only_the_nearest_memory(tmp_path):
    """The catalogue opens local engines with ``memory_size=0``: tables and isochrones go
    straight to the engine every time (a national run's 250,000-cell tables are not kept), and
    nothing is counted as cached; the same values as the engine's own."""
    from geo.routing import get_router

    engine = CountingEstimate()
    quiet = CachedRouter(engine, memory_size=0, disk=DiskCache(tmp_path))
    places = [(-92.4, 44.0), (-93.2, 44.9)]
    first = quiet.drive_times(places, SITE)
    second = quiet.drive_times(places, SITE)
    quiet.isochrones(SITE, [60.0])
    quiet.isochrones(SITE, [60.0])
    assert engine.matrix_calls == 2 and engine.iso_calls == 2
    assert quiet.stats == {"memory": 0, "disk": 0, "miss": 0} and not quiet.memory.data
    np.testing.assert_array_equal(first.duration_s, second.duration_s)
    np.testing.assert_array_equal(
        first.duration_s, EstimateRouter().drive_times(places, SITE).duration_s
    )
    osrm = get_router("osrm")
    assert isinstance(osrm, CachedRouter) and osrm.nearest_only
