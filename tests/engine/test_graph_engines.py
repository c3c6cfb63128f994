"""One graph, two engines: sorted input, manifest, verification on open, versions, CH, locks."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from geo.errors import EngineError, EngineNotAvailableError, ValidationError
from geo.routing.graph import (
    MANIFEST_VERSION,
    GraphManifest,
    build_graph,
    ensure_demo_graph,
    graphs_dir,
    load_graph,
    osrm_version,
    read_manifest,
    valhalla_version,
    verify_graph,
)
from geo.routing.osrm import OsrmRouter
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.routing.valhalla import ValhallaRouter
from geo.settings import PROJECT_ROOT, Settings
from geo.types import LonLat
from trialreach.cli import app

pytestmark = pytest.mark.engine

# Two points of the 20 km synthetic grid (origin 0.05°, 0.05°), 10 km apart.
A = LonLat(0.10, 0.10)
B = LonLat(0.19, 0.12)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, GraphManifest, Path]:
    """A 20 × 20 km grid built with both engines (MLD) in a temp cache."""
    root = tmp_path_factory.mktemp("graphs-engines")
    pbf = root / "small.osm.pbf"
    write_grid_pbf(pbf, GridSpec(size_km=20, timestamp="2023-05-06T07:08:09Z"))
    settings = Settings(cache_dir=root / "cache")
    return settings, build_graph([pbf], "small", settings), pbf


def _copy(settings: Settings, src: str, dst: str) -> Path:
    """A copy of graph ``src`` called ``dst`` in the same cache."""
    folder = graphs_dir(settings) / dst
    shutil.copytree(graphs_dir(settings) / src, folder)
    data = json.loads((folder / "manifest.json").read_text())
    data["name"] = dst
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def test_manifest_lists_both_engines(small: tuple[Settings, GraphManifest, Path]) -> None:
    _, m, pbf = small
    assert m.manifest_version == MANIFEST_VERSION == 2
    assert m.osm_date == "2023-05-06"
    assert m.valhalla_version == valhalla_version() != ""
    assert m.osrm_version == osrm_version() != ""
    assert m.osrm_algorithm == "mld" and m.has_osrm
    assert m.source_sha256 == (hashlib.sha256(pbf.read_bytes()).hexdigest(),)
    # Every tile and OSRM file on disk is listed with its size and SHA-256 (checked by hashlib).
    on_disk = sorted(
        p.relative_to(m.path).as_posix()
        for p in [*m.tile_dir.rglob("*.gph"), *m.osrm_dir.iterdir()]
    )
    assert sorted(f[0] for f in m.files) == on_disk
    for rel, size, digest in m.files:
        data = (m.path / rel).read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == digest
    tiles = [f for f in m.files if f[0].startswith("tiles/")]
    assert len(tiles) == m.tile_count > 0 and sum(f[1] for f in tiles) == m.tiles_bytes
    assert m.osrm_bytes == sum(f[1] for f in m.files if f[0].startswith("osrm/")) > 0
    assert m.osrm_path.with_name("graph.osrm.mldgr").is_file()
    assert not list(m.osrm_dir.glob("*.osm.pbf"))  # the sorted extract is not kept
    # The manifest on disk says the same.
    assert read_manifest(m.path) == m


def test_both_engines_answer_and_list_shows_them(
    small: tuple[Settings, GraphManifest, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, m, _ = small
    o = OsrmRouter("small", settings)
    v = ValhallaRouter("small", settings)
    ro, rv = o.route(A, B), v.route(A, B)
    # 10 km east and 2 km north on a 1 km grid with 80 km/h primaries: a few minutes by either.
    assert 300 < ro.duration_s < 1800 and 300 < rv.duration_s < 1800
    assert o.drive_times([A], [B]).duration_s[0, 0] == pytest.approx(ro.duration_s, abs=6)
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(settings.cache_dir))
    listed = json.loads(CliRunner().invoke(app, ["graph", "list", "--json"]).output)
    row = next(r for r in listed if r["name"] == "small")
    assert row["osrm_algorithm"] == "mld" and row["osrm_bytes"] == m.osrm_bytes
    assert row["valhalla_version"] == m.valhalla_version and row["osrm_version"] == m.osrm_version
    out = CliRunner().invoke(app, ["graph", "verify", "small", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["ok"]


def _damage_delete_tile(m: GraphManifest) -> None:
    next(m.path.joinpath("tiles").rglob("*.gph")).unlink()


def _damage_truncate_tile(m: GraphManifest) -> None:
    tile = next(m.path.joinpath("tiles").rglob("*.gph"))
    tile.write_bytes(tile.read_bytes()[:-100])


def _damage_overwrite_header(m: GraphManifest) -> None:
    tile = next(m.path.joinpath("tiles").rglob("*.gph"))
    data = bytearray(tile.read_bytes())
    data[:64] = bytes(64)  # same size, different bytes
    tile.write_bytes(bytes(data))


def _damage_remove_osrm_file(m: GraphManifest) -> None:
    m.path.joinpath("osrm", "graph.osrm.mldgr").unlink()


@pytest.mark.parametrize(
    "damage",
    [
        _damage_delete_tile,
        _damage_truncate_tile,
        _damage_overwrite_header,
        _damage_remove_osrm_file,
    ],
)
def test_damaged_graph_is_refused(
    small: tuple[Settings, GraphManifest, Path],
    damage: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings, _, _ = small
    name = f"broken-{getattr(damage, '__name__', 'x').strip('_').replace('_', '-')}"
    folder = _copy(settings, "small", name)
    assert callable(damage)
    damage(read_manifest(folder))
    for make in (OsrmRouter, ValhallaRouter):
        with pytest.raises(EngineNotAvailableError) as err:
            make(name, settings)
        text = str(err.value)
        assert repr(name) in text and "damaged" in text
        assert f"trialreach graph build --pbf FILE --name {name}" in text
    assert not verify_graph(read_manifest(folder), checksums=True).ok
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(settings.cache_dir))
    out = CliRunner().invoke(app, ["graph", "verify", name])
    assert out.exit_code == 1 and "damaged" in out.output
    out = CliRunner().invoke(app, ["graph", "remove", name])
    assert out.exit_code == 0 and not folder.exists()


def test_size_change_after_first_open_is_caught(
    small: tuple[Settings, GraphManifest, Path],
) -> None:
    settings, _, _ = small
    folder = _copy(settings, "small", "later-broken")
    assert load_graph("later-broken", settings).name == "later-broken"
    _damage_truncate_tile(read_manifest(folder))
    with pytest.raises(EngineNotAvailableError, match="damaged"):
        load_graph("later-broken", settings)


def test_moved_cache_uses_its_own_tiles(
    small: tuple[Settings, GraphManifest, Path], tmp_path: Path
) -> None:
    settings, m, _ = small
    moved = Settings(cache_dir=tmp_path / "moved-cache")
    (moved.cache_dir / "graphs").mkdir(parents=True)
    shutil.copytree(m.path, moved.cache_dir / "graphs" / "small")
    # Point the original away, as if the old cache were deleted after the copy.
    original_cfg = json.loads(m.config_path.read_text())
    assert original_cfg["mjolnir"]["tile_dir"] == str(m.tile_dir)
    g = load_graph("small", moved)
    cfg = json.loads(g.config_path.read_text())
    assert cfg["mjolnir"]["tile_dir"] == str(moved.cache_dir / "graphs" / "small" / "tiles")
    assert g.path == moved.cache_dir / "graphs" / "small"
    r = ValhallaRouter(g, moved).route(A, B)
    assert r.duration_s == pytest.approx(ValhallaRouter(m, settings).route(A, B).duration_s)


def test_old_valhalla_config_is_regenerated(small: tuple[Settings, GraphManifest, Path]) -> None:
    from valhalla import Actor

    settings, _, _ = small
    folder = _copy(settings, "small", "old-engine")
    # What a 3.5.1 build left behind: a config without keys 3.9 requires, and its version.
    cfg = json.loads((folder / "valhalla.json").read_text())
    cfg["mjolnir"]["tile_dir"] = str(folder / "tiles")
    del cfg["loki"]["service_defaults"]["mvt_min_zoom_road_class"]
    (folder / "valhalla.json").write_text(json.dumps(cfg))
    (folder / "valhalla.json.version").write_text("3.5.1.post1.dev248")
    data = json.loads((folder / "manifest.json").read_text())
    data["valhalla_version"] = "3.5.1.post1.dev248"
    (folder / "manifest.json").write_text(json.dumps(data))
    req = {
        "locations": [{"lon": A.lon, "lat": A.lat}, {"lon": B.lon, "lat": B.lat}],
        "costing": "auto",
    }
    with pytest.raises(RuntimeError):  # the old config fails every query under 3.9
        Actor(str(folder / "valhalla.json")).route(req)
    g = load_graph("old-engine", settings)
    assert (folder / "valhalla.json.version").read_text() == valhalla_version()
    assert ValhallaRouter(g, settings).route(A, B).duration_s > 0


def test_osrm_data_of_another_version_is_refused(
    small: tuple[Settings, GraphManifest, Path],
) -> None:
    settings, _, _ = small
    folder = _copy(settings, "small", "old-osrm")
    data = json.loads((folder / "manifest.json").read_text())
    data["osrm_version"] = "5.27.1"
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(EngineNotAvailableError, match=r"osrm-bindings 5\.27\.1.*rebuild"):
        OsrmRouter("old-osrm", settings)
    assert ValhallaRouter("old-osrm", settings).route(A, B).duration_s > 0  # tiles still fine


def test_graph_without_osrm_is_refused_by_osrm_only(
    small: tuple[Settings, GraphManifest, Path],
) -> None:
    settings, _, pbf = small
    m = build_graph([pbf], "tiles-only", settings, osrm=False)
    assert not m.has_osrm and not m.osrm_dir.exists()
    with pytest.raises(EngineNotAvailableError, match="no OSRM data"):
        OsrmRouter(m, settings)
    assert ValhallaRouter(m, settings).route(A, B).duration_s > 0


def test_ch_build_answers_like_mld(tmp_path: Path) -> None:
    """CH on a 6 km grid (grids contract slowly: ~20 s for the 20 km one, ~1 min for the demo)."""
    pbf = tmp_path / "tiny.osm.pbf"
    write_grid_pbf(pbf, GridSpec(size_km=6))
    settings = Settings(cache_dir=tmp_path / "cache")
    ch = build_graph([pbf], "tiny-ch", settings, algorithm="ch")
    mld = build_graph([pbf], "tiny-mld", settings)
    assert ch.osrm_algorithm == "ch" and ch.osrm_path.with_name("graph.osrm.hsgr").is_file()
    assert mld.osrm_algorithm == "mld" and not mld.osrm_path.with_name("graph.osrm.hsgr").exists()
    pts = np.array([(0.06, 0.06), (0.1, 0.08), (0.07, 0.1), (0.1, 0.1)])
    a = OsrmRouter(ch, settings).drive_times(pts, pts).duration_s
    b = OsrmRouter(mld, settings).drive_times(pts, pts).duration_s
    assert np.isfinite(a).all() and (a[~np.eye(4, dtype=bool)] > 0).all()
    assert np.allclose(a, b, atol=1.0)
    r = OsrmRouter(ch, settings).route(LonLat(*pts[0]), LonLat(*pts[1]))
    assert r.duration_s == pytest.approx(a[0, 1], abs=6)
    with pytest.raises(ValidationError, match="unknown OSRM algorithm"):
        build_graph([pbf], "bad-alg", settings, algorithm="dijkstra")


def test_columbus_alone_builds(tmp_path: Path) -> None:
    """Valhalla 3.9 refuses the shipped columbus.osm.pbf alone as unsorted: it is sorted first."""
    settings = Settings(cache_dir=tmp_path / "cache")
    m = build_graph(
        [PROJECT_ROOT / "data" / "osm" / "columbus.osm.pbf"], "columbus", settings, osrm=False
    )
    assert m.tile_count > 0
    r = ValhallaRouter(m, settings).route(LonLat(-83.019169, 39.994656), LonLat(-82.9988, 39.9612))
    assert r.duration_s > 0


def test_concurrent_builds_and_opens(small: tuple[Settings, GraphManifest, Path]) -> None:
    settings, _, pbf = small
    errors: list[BaseException] = []
    built: list[str] = []

    def build() -> None:
        try:
            built.append(build_graph([pbf], "race", settings, osrm=False).built_at)
        except BaseException as exc:
            errors.append(exc)

    def open_() -> None:
        for _ in range(20):
            try:
                load_graph("race", settings)
            except EngineNotAvailableError as exc:
                if "no road graph called" not in str(exc):  # before the first build: fine
                    errors.append(exc)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=f) for f in (build, build, open_, open_)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(built) == 2 and len(set(built)) == 2  # one after the other, each complete
    assert verify_graph(load_graph("race", settings), checksums=True).ok


def test_demo_rebuilt_when_an_engine_version_changed(tmp_path: Path) -> None:
    # A stand-in demo: two tiny grids under the demo's file names (the real one builds in ~30 s).
    osm = tmp_path / "data" / "osm"
    osm.mkdir(parents=True)
    write_grid_pbf(osm / "harrisburg.osm.pbf", GridSpec(size_km=6))
    write_grid_pbf(osm / "columbus.osm.pbf", GridSpec(size_km=6, origin_lon=0.3))
    settings = Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")
    first = ensure_demo_graph(settings)
    assert first.has_osrm and ensure_demo_graph(settings).built_at == first.built_at  # kept
    manifest = graphs_dir(settings) / "demo" / "manifest.json"
    for key, old in (("osrm_version", "5.27.1"), ("valhalla_version", "3.5.1.post1.dev248")):
        data = json.loads(manifest.read_text())
        data[key] = old
        manifest.write_text(json.dumps(data))
        fresh = ensure_demo_graph(settings)
        assert fresh.built_at != data["built_at"], key
        assert fresh.osrm_version == osrm_version()
        assert fresh.valhalla_version == valhalla_version()
    # A damaged demo is built again from the shipped extracts rather than refused.
    _damage_overwrite_header(read_manifest(graphs_dir(settings) / "demo"))
    import geo.routing.graph as graph_mod

    graph_mod._forget_verified(graphs_dir(settings) / "demo")  # as in a new process
    again = ensure_demo_graph(settings)
    assert verify_graph(again, checksums=True).ok
    assert OsrmRouter("demo", settings).route(LonLat(0.06, 0.06), LonLat(0.1, 0.1)).duration_s > 0
    with pytest.raises(EngineError):
        load_graph("no-such-graph", settings)


def test_concurrent_first_use_in_processes_builds_once(tmp_path: Path) -> None:
    """Issue 12: three processes asking for the demo graph at once on a fresh cache."""
    import os
    import subprocess
    import sys

    osm = tmp_path / "data" / "osm"
    osm.mkdir(parents=True)
    write_grid_pbf(osm / "harrisburg.osm.pbf", GridSpec(size_km=6))
    write_grid_pbf(osm / "columbus.osm.pbf", GridSpec(size_km=6, origin_lon=0.3))
    env = {
        **os.environ,
        "TRIALREACH_CACHE_DIR": str(tmp_path / "cache"),
        "TRIALREACH_DATA_DIR": str(tmp_path / "data"),
    }
    code = (
        "from geo.routing.osrm import OsrmRouter\n"
        "from geo.types import LonLat\n"
        "r = OsrmRouter('demo')\n"
        "t = r.route(LonLat(0.06, 0.06), LonLat(0.1, 0.1)).duration_s\n"
        "print(r.graph.built_at, t)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    answers = {o[0].strip() for o in outs}
    assert len(answers) == 1, answers  # one build, one drive time


def test_large_graph_policy_rehashes_only_changed_files(
    small: tuple[Settings, GraphManifest, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import geo.routing.graphs.verify as verify_mod

    settings, _, _ = small
    folder = _copy(settings, "small", "big-policy")
    (folder / ".verified.json").unlink(missing_ok=True)  # copied along if "small" was opened
    m = read_manifest(folder)
    monkeypatch.setattr(verify_mod, "FULL_CHECK_MAX_BYTES", 0)  # treat it as a large graph
    total = sum(f[1] for f in m.files)
    assert verify_graph(m).bytes_hashed == total  # no stamp yet: everything
    assert verify_graph(m).bytes_hashed == 0  # unchanged since: sizes and times only
    _damage_overwrite_header(m)  # same size, new modification time
    check = verify_graph(m)
    assert not check.ok and 0 < check.bytes_hashed < total
    assert not verify_graph(m, checksums=True).ok
