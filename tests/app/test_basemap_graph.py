"""The offline basemap of the graph that answered, and the note where no road data is drawn.

Reference values come from the extracts themselves (pyosmium over the shipped files), not from
geo.basemap.
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import osmium
import pytest
import shapely

from geo.basemap import ROAD_RANKS, extract_search_dirs, find_extracts, graph_basemap
from geo.mapping import base_map, coordinator_map
from geo.mapping.base import NO_ROADS_NOTE
from geo.settings import Settings
from geo.types import LonLat

OSM = Path(__file__).resolve().parents[2] / "data" / "osm"
HARRISBURG = (-76.95, 40.2, -76.75, 40.35)
COLUMBUS = (-83.1, 39.9, -82.9, 40.05)


def _road_count(pbf: Path) -> int:
    """Ways with a drawn highway value and two or more located nodes (pyosmium, independently)."""
    n = 0
    for obj in osmium.FileProcessor(str(pbf)).with_locations():
        if isinstance(obj, osmium.osm.Way) and obj.tags.get("highway") in ROAD_RANKS:
            n += sum(nd.location.valid() for nd in obj.nodes) >= 2
    return n


def _outline() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Box"]}, geometry=[shapely.box(-100, 30, -70, 45)], crs="EPSG:4326"
    )


def test_basemap_holds_the_answering_graphs_extract_only(tmp_path: Path) -> None:
    roads, places = graph_basemap([("harrisburg.osm.pbf",)], [tmp_path / "nothing", OSM], tmp_path)
    assert len(roads) == _road_count(OSM / "harrisburg.osm.pbf") > 0
    x0, _, x1, _ = roads.total_bounds
    assert x0 > -78.0 and x1 < -76.0  # all of it around Harrisburg, none from Columbus
    assert "Colonial Park" in set(places["name"])
    assert roads.attrs["basemap_sources"] == ("harrisburg.osm.pbf",)
    assert roads.attrs["basemap_missing"] == ()
    both, _ = graph_basemap([("harrisburg.osm.pbf",), ("columbus.osm.pbf",)], [OSM], tmp_path)
    assert len(both) == len(roads) + _road_count(OSM / "columbus.osm.pbf")


def test_missing_and_unsafe_extract_names_are_reported_not_read(tmp_path: Path) -> None:
    found, missing = find_extracts(
        ["columbus.osm.pbf", "gone.osm.pbf", "../osm/columbus.osm.pbf", ""], [tmp_path, OSM]
    )
    assert found == [OSM / "columbus.osm.pbf"]
    assert missing == ["gone.osm.pbf", "../osm/columbus.osm.pbf", ""]
    roads, places = graph_basemap([("gone.osm.pbf",)], [OSM], tmp_path)
    assert len(roads) == len(places) == 0
    assert roads.attrs["basemap_missing"] == ("gone.osm.pbf",)


def test_search_dirs_are_the_shipped_folder_and_the_downloads(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert extract_search_dirs(s) == (tmp_path / "data" / "osm", tmp_path / "cache" / "downloads")


def test_no_road_note_only_where_no_road_is_drawn(tmp_path: Path) -> None:
    roads, places = graph_basemap([("harrisburg.osm.pbf",)], [OSM], tmp_path)
    layers = (_outline(), roads, places)
    here = base_map(HARRISBURG, tiles="none", boundaries=layers).get_root().render()
    assert "basemap-note" not in here
    assert "extract: harrisburg" in here  # which data the roads are drawn from
    away = base_map(COLUMBUS, tiles="none", boundaries=layers)
    html = away.get_root().render()
    assert "basemap-note" in html and NO_ROADS_NOTE in html
    names = {g.layer_name for g in away._children.values() if isinstance(g, folium.GeoJson)}
    assert "Basemap: roads" not in names
    # With tiles the note waits for the fallback (attached to the outline layer's "add").
    site = gpd.GeoDataFrame({"name": ["S"]}, geometry=[shapely.Point(-83.0, 40.0)], crs="EPSG:4326")
    osm = coordinator_map(site, place=LonLat(-83.05, 40.0), tiles="osm", boundaries=layers)
    assert '.on("add", show)' in osm.get_root().render()


@pytest.mark.engine
def test_answering_basemap_follows_the_routers_graphs() -> None:
    """auto over the demo graph draws the demo graph's two extracts; the estimate (no graph)
    falls back to the shipped extracts; a graph built elsewhere is found by its source names."""
    from geo.basemap import answering_basemap
    from geo.routing import get_router
    from geo.routing.graph import ensure_demo_graph
    from geo.settings import get_settings

    settings = get_settings()
    demo = ensure_demo_graph(settings)
    auto = get_router("auto")
    sources = [g.sources for g in auto.graphs()]
    assert sorted(n for s in sources for n in s) == sorted(demo.sources)
    roads, _ = answering_basemap(sources, settings)
    expected = sum(_road_count(OSM / name) for name in demo.sources)
    assert len(roads) == expected
    assert sorted(roads.attrs["basemap_sources"]) == sorted(demo.sources)
    assert get_router("estimate").graphs() == ()
    shipped, _ = answering_basemap([], settings)
    assert len(shipped) == expected  # the demo graph is built from every shipped extract


def test_no_road_note_not_on_a_national_map(tmp_path: Path) -> None:
    roads, _ = graph_basemap([("harrisburg.osm.pbf",)], [OSM], tmp_path)
    wide = base_map((-100.0, 30.0, -90.0, 40.0), tiles="none", boundaries=(_outline(), roads))
    assert "basemap-note" not in wide.get_root().render()
