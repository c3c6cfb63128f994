"""The coordinator's maps use the engine that answered: its graphs' roads, where its data ends.

References: the shipped extracts' own bounds and names (geo.basemap reads them, pyosmium-counted
in test_basemap_graph.py), shapely unions of hand-made boxes, hand-rounded minutes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from appkit.batch import NO_VALUE, table_view, whole_minutes_text
from appkit.caches import boundaries_for_map, covered_area, graph_key
from geo.mapping.edge import EDGE_LABEL
from geo.mapping.text import esc
from geo.routing import get_router
from geo.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HARRISBURG_ROADS = (-78.0, 39.5, -76.0, 41.0)  # lon/lat box around the Harrisburg extract


@dataclass(frozen=True)
class _Graph:
    """The parts of a GraphManifest the app reads for its maps."""

    name: str
    built_at: str
    sources: tuple[str, ...]
    covered_area: BaseGeometry


class _Router:
    """A router answering from the given graphs (only ``graphs()`` is used here)."""

    def __init__(self, *graphs: _Graph) -> None:
        self._graphs = graphs

    def graphs(self) -> tuple[_Graph, ...]:
        return self._graphs


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=ROOT / "data", cache_dir=tmp_path / "cache")


def _roads(layers: tuple[object, ...]) -> object:
    (roads,) = [lay for lay in layers if getattr(lay, "attrs", {}).get("basemap") == "roads"]
    return roads


def test_map_roads_are_the_answering_graphs_extracts(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    box = shapely.box(-77.0, 40.1, -76.6, 40.4)
    hbg = _Router(_Graph("hbg", "2026-01-01T00:00:00Z", ("harrisburg.osm.pbf",), box))
    cbus = _Router(_Graph("cbus", "2026-01-01T00:00:00Z", ("columbus.osm.pbf",), box))
    roads = _roads(boundaries_for_map(settings, hbg))
    assert roads.attrs["basemap_sources"] == ("harrisburg.osm.pbf",)
    x0, y0, x1, y1 = roads.total_bounds
    assert len(roads) > 100
    # All of it around Harrisburg: none from Columbus (-83.0).
    assert HARRISBURG_ROADS[0] < x0 and x1 < HARRISBURG_ROADS[2]
    assert HARRISBURG_ROADS[1] < y0 and y1 < HARRISBURG_ROADS[3]
    # Another graph set gets its own basemap (not the cached one of the first).
    other = _roads(boundaries_for_map(settings, cbus))
    assert other.attrs["basemap_sources"] == ("columbus.osm.pbf",)
    assert other.total_bounds[2] < -82.0
    # No router (the pages that do not pass one) and no graph (the estimate): every shipped
    # extract, as before.
    shipped = sorted(p.name for p in (ROOT / "data" / "osm").glob("*.osm.pbf"))
    for router in (None, get_router("estimate")):
        roads = _roads(boundaries_for_map(settings, router))
        assert sorted(roads.attrs["basemap_sources"]) == shipped
    # County and state lines come first, as before.
    layers = boundaries_for_map(settings, hbg)
    assert [getattr(lay, "attrs", {}).get("basemap", "") for lay in layers] == [
        "",
        "",
        "roads",
        "places",
    ]


def test_graph_key_tells_graph_sets_and_rebuilds_apart() -> None:
    box = shapely.box(0, 0, 1, 1)
    a = _Graph("a", "2026-01-01T00:00:00Z", ("x.osm.pbf",), box)
    rebuilt = _Graph("a", "2026-02-01T00:00:00Z", ("x.osm.pbf",), box)
    assert graph_key(None) == () == graph_key(get_router("estimate"))
    assert graph_key(_Router(a)) == (("a", "2026-01-01T00:00:00Z", ("x.osm.pbf",)),)
    assert graph_key(_Router(a)) != graph_key(_Router(rebuilt))
    assert graph_key(_Router(a)) != graph_key(_Router(a, rebuilt))


def test_covered_area_is_the_union_of_the_answering_graphs() -> None:
    left = _Graph("left", "t1", ("l.osm.pbf",), shapely.box(0, 0, 2, 1))
    right = _Graph("right", "t1", ("r.osm.pbf",), shapely.box(1, 0, 3, 1))
    area = covered_area(_Router(left, right))
    assert area is not None
    assert area.area == pytest.approx(3.0)  # 2 + 2 - the 1-square overlap
    assert area.equals(shapely.box(0, 0, 3, 1))
    assert covered_area(None) is None
    assert covered_area(get_router("estimate")) is None


def test_minutes_text_has_a_dash_where_there_is_no_number() -> None:
    got = whole_minutes_text(np.array([5.0, 0.4, np.nan, 840.4, -0.4, -12.6, np.inf]))
    assert list(got) == ["5", "0", NO_VALUE, "840", "0", "-13", NO_VALUE]


def test_batch_table_view_columns() -> None:
    result = pd.DataFrame(
        {
            "row": [1, 2, 3],
            "place": ["a", "b", ""],
            "verdict": ["within", "outside", "unknown"],
            "drive_min": [44.6, 130.2, np.nan],
            "spare_min": [75.4, -10.2, np.nan],
            "nearest_site": ["S", "S", ""],
            "precision": ["zip", "coordinates", ""],
            "message": ["", "", "could not be located"],
            "engine": ["valhalla", "estimate", ""],
        }
    )
    table = table_view(result, np.array([False, True, False]))
    assert list(table.columns[:5]) == ["row", "place", "verdict", "answer", "drive_min"]
    assert list(table["answer"]) == ["routed", "ESTIMATE · not routed", NO_VALUE]
    assert list(table["drive_min"]) == ["45", "130", NO_VALUE]
    assert list(table["spare_min"]) == ["75", "-10", NO_VALUE]
    assert result["drive_min"].isna().sum() == 1  # the result itself keeps its numbers


def _script(at) -> str:  # type: ignore[no-untyped-def]
    (comp,) = at.get("component_instance")
    return str(json.loads(comp.proto.json_args)["script"])


@pytest.mark.engine
def test_coordinator_map_has_the_graphs_roads_and_where_its_data_ends(
    app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph built from the Harrisburg extract alone: the map near Harrisburg draws that
    extract's roads only, and the 2-hour area, cut by the end of that small extract, gets the
    amber "Road data ends here" dashes; the estimate draws neither dashes nor one extract."""
    from geo.routing.graph import build_graph

    cache = tmp_path / "cache"
    built = build_graph(
        [ROOT / "data" / "osm" / "harrisburg.osm.pbf"], "hbg", Settings(cache_dir=cache)
    )
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(cache))
    at = app(engine="valhalla:hbg")
    assert at.sidebar.selectbox(key="engine").value == "valhalla:hbg"
    at.sidebar.selectbox(key="site_set").set_value("demo").run()
    at.text_input(key="address").set_value("40.2700, -76.8500")
    at.button(key="check").click()
    at.run()
    assert not at.exception, at.exception
    script = _script(at)
    assert "extract: harrisburg" in script and "columbus" not in script.lower()
    # The isochrone engine flags the cut, and the map draws it along the graph's edge.
    assert esc(EDGE_LABEL) in script  # the dashes' tooltip
    edge_legend = "where the road data ends (area cut short)"
    assert edge_legend in script  # and their legend line
    assert built.covered_area.bounds[2] < -76.7  # the extract ends a few km east of the site

    at.sidebar.selectbox(key="engine").set_value("estimate").run()
    assert not at.exception, at.exception
    script = _script(at)
    assert edge_legend not in script and "Road data ends here" not in script
    assert "extracts: columbus, harrisburg" in script  # the shipped extracts, orientation only


def _attributions(m: object) -> set[str]:
    """The distinct attribution texts of a map's layers: what Leaflet's attribution control shows
    (it lists each distinct text once, however many layers carry it)."""
    out: set[str] = set()
    todo = [m]
    while todo:
        node = todo.pop()
        text = getattr(node, "options", {}).get("attribution")
        if text:
            out.add(str(text))
        todo.extend(node._children.values())  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("tiles", ["none", "osm"])
def test_the_map_credits_openstreetmap_once(tmp_path: Path, tiles: str) -> None:
    """Tiles, the offline basemap (roads, place names) and routed areas are all OpenStreetMap
    data: one '© OpenStreetMap contributors', and the extracts drawn named once beside it."""
    from geo.mapping import OSM_ATTRIBUTION, add_isochrones, base_map

    layers = boundaries_for_map(_settings(tmp_path), None)
    m = base_map((-83.2, 39.9, -82.9, 40.1), tiles=tiles, boundaries=layers)
    iso = get_router("estimate").isochrones([(-83.0, 40.0)], [60, 120])
    add_isochrones(m, iso.assign(approximate=False))  # routed areas credit OSM too
    texts = _attributions(m)
    osm = [t for t in texts if "OpenStreetMap" in t]
    assert osm == [OSM_ATTRIBUTION], texts
    assert "OSM extracts: columbus, harrisburg" in texts
    assert sum(t.count("OpenStreetMap") for t in texts) == 1
