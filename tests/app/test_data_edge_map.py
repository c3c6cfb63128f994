"""Where a drive-time area is cut by the end of the road data: marked on the map, in the legend.

The synthetic case is hand-computed: the data covers the unit square, the area is the box
x 0.5-1.0, y 0.2-0.8, so its outline runs along the data's end on x = 1 (0.6 long) plus 0.03 of
the top and bottom sides inside the 0.03-degree margin: 0.66 in all.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pytest
import shapely

from geo.mapping import coordinator_map, data_edge_lines, isochrone_legend_html
from geo.mapping.edge import EDGE_LABEL

COVERED = shapely.box(0, 0, 1, 1)


def _iso(flag: bool, approximate: bool = False) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "point_index": [0],
            "minutes": [60.0],
            "approximate": [approximate],
            "touches_data_edge": [flag],
        },
        geometry=[shapely.box(0.5, 0.2, 1.0, 0.8)],
        crs="EPSG:4326",
    )


def test_cut_outline_is_the_stretch_along_the_end_of_the_data() -> None:
    lines = data_edge_lines(_iso(True), COVERED)
    assert lines.length == pytest.approx(0.66, abs=1e-6)
    assert shapely.contains_xy(
        shapely.box(0.96, 0.19, 1.01, 0.81), *shapely.get_coordinates(lines).T
    ).all()


def test_nothing_marked_without_a_flag_an_area_or_for_an_estimate() -> None:
    assert data_edge_lines(_iso(False), COVERED).is_empty
    assert data_edge_lines(_iso(True, approximate=True), COVERED).is_empty
    assert data_edge_lines(_iso(True), None).is_empty
    inner = _iso(True)
    inner["geometry"] = [shapely.box(0.3, 0.3, 0.6, 0.6)]  # flagged but nowhere near the end
    assert data_edge_lines(inner, COVERED).is_empty


def test_coordinator_map_draws_the_cut_and_the_legend_names_it() -> None:
    site = gpd.GeoDataFrame({"name": ["S"]}, geometry=[shapely.Point(0.75, 0.5)], crs="EPSG:4326")
    m = coordinator_map(site, _iso(True), tiles="none", covered_area=COVERED)
    cut = [
        g
        for g in m._children.values()
        if isinstance(g, folium.GeoJson) and g.layer_name == "Road data ends"
    ]
    assert len(cut) == 1
    html = m.get_root().render()
    assert "where the road data ends (area cut short)" in html and EDGE_LABEL in html
    plain = coordinator_map(site, _iso(True), tiles="none")  # no covered area given
    assert "Road data ends" not in plain.get_root().render()
    assert "where the road data ends" not in isochrone_legend_html(_iso(True))
