"""Clipping extracts to the area needed (pyosmium), and the whole `graph build --sites` path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import osmium
import pytest
import shapely
from pyproj import Geod

from geo.errors import GraphBuildError
from geo.lodging.store import store_lodging_for_graph
from geo.osm.clip import clip_extract
from geo.osm.geofabrik import load_extract_index
from geo.osm.progress import ProgressEvent
from geo.osm.sitegraph import build_graph_for_sites
from geo.settings import Settings
from sites import load_site_set

from .conftest import DATA, OH_PATH, PA_PATH
from .geofabrik_stub import GeofabrikStub

HARRISBURG = DATA / "osm" / "harrisburg.osm.pbf"
WEST_OF = -76.80  # the Harrisburg roads span lon −76.88…−76.72: this splits them


def _read(path: Path) -> dict[str, Any]:
    """Nodes (id → lon, lat), ways (id → node ids, is road), relations (id → member refs)."""
    nodes: dict[int, tuple[float, float]] = {}
    ways: dict[int, tuple[list[int], bool]] = {}
    rels: dict[int, list[tuple[str, int]]] = {}
    for obj in osmium.FileProcessor(str(path)):
        if obj.is_node():
            nodes[obj.id] = (obj.location.lon, obj.location.lat)
        elif obj.is_way():
            road = "highway" in obj.tags or obj.tags.get("route") == "ferry"
            ways[obj.id] = ([n.ref for n in obj.nodes], road)
        else:
            rels[obj.id] = [(m.type, m.ref) for m in obj.members]
    return {"nodes": nodes, "ways": ways, "rels": rels}


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    return _read(HARRISBURG)


def test_clip_keeps_whole_roads_that_enter_the_area(source: dict[str, Any], tmp_path: Path) -> None:
    area = shapely.box(-78.0, 39.0, WEST_OF, 41.0)
    events: list[ProgressEvent] = []
    res = clip_extract(HARRISBURG, area, tmp_path / "west.osm.pbf", progress=events.append)
    out = _read(res.path)
    nodes, ways = source["nodes"], source["ways"]

    def enters(refs: list[int]) -> bool:
        return any(nodes[r][0] < WEST_OF for r in refs if r in nodes)

    roads = {w for w, (_, road) in ways.items() if road}
    expected = {w for w in roads if enters(ways[w][0])}
    assert res.road_ways_in == len(roads) == 2514
    assert 0 < len(expected) < len(roads)  # the cut really drops some roads
    assert set(out["ways"]) == expected
    assert res.road_ways_out == len(expected)
    # Every kept way is complete (all its nodes, with their original positions) ...
    for wid, (refs, road) in out["ways"].items():
        assert road and refs == ways[wid][0]
        assert all(out["nodes"][r] == nodes[r] for r in refs)
    # ... and no node is kept that no kept way or relation needs.
    used = {r for refs, _ in out["ways"].values() for r in refs}
    used |= {ref for members in out["rels"].values() for t, ref in members if t == "n"}
    assert set(out["nodes"]) == used
    assert res.nodes_out == len(out["nodes"])
    assert res.size_bytes < HARRISBURG.stat().st_size
    assert events[-1].stage == "clip" and events[-1].done == 2514


def test_clip_keeps_restrictions_on_kept_roads(source: dict[str, Any], tmp_path: Path) -> None:
    everything = shapely.box(-78.0, 39.0, -75.0, 41.0)
    res = clip_extract(HARRISBURG, everything, tmp_path / "all.osm.pbf")
    out = _read(res.path)
    assert res.road_ways_out == res.road_ways_in == 2514
    restrictions = {
        rid
        for rid, members in source["rels"].items()
        if any(t == "w" and ref in out["ways"] for t, ref in members)
    }
    kept = set(out["rels"])
    assert kept <= set(source["rels"])
    assert len(kept) == res.relations_out > 0
    assert kept <= restrictions


def test_clip_outside_the_data_keeps_nothing(tmp_path: Path) -> None:
    res = clip_extract(HARRISBURG, shapely.box(-100, 30, -99, 31), tmp_path / "none.osm.pbf")
    assert (res.road_ways_in, res.road_ways_out, res.nodes_out) == (2514, 0, 0)


def test_clip_of_a_broken_file_is_a_graph_build_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all" * 100)
    with pytest.raises(GraphBuildError, match=r"cannot clip bad\.osm\.pbf"):
        clip_extract(bad, shapely.box(-78, 39, -75, 41), tmp_path / "out.osm.pbf")


@pytest.mark.engine
def test_build_graph_for_demo_sites_from_the_local_server(
    stub: GeofabrikStub, settings: Settings, fake_index_path: Path
) -> None:
    sites = load_site_set("demo", settings=settings)
    index = load_extract_index(settings, fake_index_path)
    events: list[ProgressEvent] = []
    manifest = build_graph_for_sites(
        sites,
        "demo-sites",
        120,
        settings,
        events.append,
        index=index,
        keep_lodging=store_lodging_for_graph,
    )
    assert manifest.name == "demo-sites"
    assert manifest.sources == ("ohio-demo-sites.osm.pbf", "pennsylvania-demo-sites.osm.pbf")
    assert manifest.tile_count > 0
    # Both regions have roads: the covered area spans Columbus and Harrisburg.
    lon0, lat0, lon1, lat1 = manifest.bounds
    assert lon0 < -83.0 and lon1 > -76.8 and lat0 < 40.0 < lat1
    # Downloads were verified and kept; the clipped intermediates were removed.
    downloads = settings.cache_dir / "downloads"
    assert sorted(p.name for p in downloads.iterdir()) == [
        "ohio-latest.osm.pbf",
        "ohio-latest.osm.pbf.md5",
        "pennsylvania-latest.osm.pbf",
        "pennsylvania-latest.osm.pbf.md5",
    ]
    assert {r.path for r in stub.requests} == {PA_PATH, PA_PATH + ".md5", OH_PATH, OH_PATH + ".md5"}
    stages = [e.stage for e in events]
    assert stages[0] == "plan" and stages[-1] == "done"
    assert {"download", "verify", "clip", "build"} <= set(stages)
    assert "Ohio, Pennsylvania" in events[0].message

    # The graph routes: Harrisburg community hospital to a primary road ~10 km south-east.
    from geo.routing.valhalla import ValhallaRouter

    router = ValhallaRouter(manifest, settings)
    a, b = (-76.816477, 40.284255), (-76.7431708, 40.2180435)
    straight_m = Geod(ellps="WGS84").inv(a[0], a[1], b[0], b[1])[2]
    route = router.route(a, b)
    assert straight_m < route.distance_m < 2 * straight_m
    assert 6 * 60 < route.duration_s < 30 * 60
    # Columbus: the James to downtown.
    route_oh = router.route((-83.019169, 39.994656), (-82.9988, 39.9612))
    assert 3 * 60 < route_oh.duration_s < 25 * 60

    # Lodging came from the full downloads (the clipped roads-only files hold no hotels) and is
    # stored next to the graph, so the lodging finder works on this graph with no --pbf.
    assert "lodging" in stages
    from geo.lodging import lodging_for_graph

    lodging = lodging_for_graph(manifest, settings=settings)
    assert (lodging["kind"] == "hotel").sum() >= 12  # the Columbus extract's hotels
    assert (
        "Hyatt Place Columbus/OSU" in set(lodging["name"])
        or lodging["name"].str.contains("Hyatt").any()
    )
