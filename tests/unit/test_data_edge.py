"""The data-edge rule (geo.routing.data_edge) against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.routing.data_edge import EDGE_MESSAGE, DataEdge

# One degree of latitude at the equator is 110.574 km (WGS84 meridian arc), one degree of
# longitude 111.320 km: the reference for distances below.
KM_PER_DEG_LAT_EQ = 110.574
KM_PER_DEG_LON_EQ = 111.320


@pytest.fixture(scope="module")
def edge() -> DataEdge:
    # Two separate squares of 1° × 1° at the equator (0..1 and 3..4 degrees east).
    area = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)])
    return DataEdge(area, edge_speed_kmh=120.0, edge_margin_km=3.0)


def test_covers_inside_outside_and_nan(edge: DataEdge) -> None:
    pts = np.array([[0.5, 0.5], [2.0, 0.5], [3.5, 0.2], [np.nan, 0.5], [-0.01, 0.5]])
    assert edge.covers(pts).tolist() == [True, False, True, False, False]


def test_edge_distance_matches_degree_lengths(edge: DataEdge) -> None:
    pts = np.array([[0.5, 0.1], [0.05, 0.5], [2.0, 0.5]])
    d = edge.edge_distance_m(pts)
    # 0.1° of latitude to the southern side; 0.05° of longitude to the western side; 0 outside.
    assert d[0] == pytest.approx(0.1 * KM_PER_DEG_LAT_EQ * 1000, rel=5e-3)
    assert d[1] == pytest.approx(0.05 * KM_PER_DEG_LON_EQ * 1000, rel=5e-3)
    assert d[2] == 0.0


def test_edge_flags_rule_and_nan() -> None:
    e = DataEdge(shapely.box(0, 0, 1, 1), edge_speed_kmh=120.0)
    # (1000 m + 2000 m) at 120 km/h = 90 s: a drive of 89 s cannot be beaten, 91 s could be.
    o = np.array([1000.0])
    d = np.array([2000.0, 2000.0, 2000.0])
    flags = e.edge_flags(o, d, np.array([[89.0, 91.0, np.nan]]))
    assert flags.tolist() == [[False, True, True]]


def test_edge_flags_shape_follows_origins_by_destinations() -> None:
    e = DataEdge(shapely.box(0, 0, 1, 1), edge_speed_kmh=36.0)  # 10 m/s
    o = np.array([0.0, 100.0])
    d = np.array([0.0, 50.0, 1000.0])
    t = np.full((2, 3), 12.0)
    want = (o[:, None] + d[None, :]) / 10.0 < 12.0
    assert np.array_equal(e.edge_flags(o, d, t), want)
    assert want.sum() == 3  # (0,0), (0,50), (100,0): a test that can fail


def test_part_of_labels_parts(edge: DataEdge) -> None:
    pts = np.array([[0.5, 0.5], [3.5, 0.5], [2.0, 0.5], [np.nan, np.nan]])
    labels = edge.part_of(pts)
    assert labels[2] == -1 and labels[3] == -1
    assert labels[0] >= 0 and labels[1] >= 0 and labels[0] != labels[1]


def test_touches_edge_by_margin(edge: DataEdge) -> None:
    deep = shapely.Point(0.5, 0.5).buffer(0.1)  # ~35 km from the boundary
    # Small discs (radius 0.001°, ~0.11 km) 2.1 km and 4.3 km from the southern side.
    near = shapely.Point(0.5, 0.02).buffer(0.001)
    clear = shapely.Point(0.5, 0.04).buffer(0.001)
    crossing = shapely.Point(0.5, 0.0).buffer(0.05)
    flags = edge.touches_edge([deep, near, clear, crossing, shapely.Polygon()])
    assert flags.tolist() == [False, True, False, True, False]


def test_message_and_bad_speed() -> None:
    assert "road data ends" in EDGE_MESSAGE
    with pytest.raises(ValueError):
        DataEdge(shapely.box(0, 0, 1, 1), edge_speed_kmh=0.0)
