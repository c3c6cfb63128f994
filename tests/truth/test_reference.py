"""The independent reference (scipy Dijkstra on the synthetic edge table) against hand sums.

No engine here: these pin the reference itself, so the engine tests compare with something
that is right. Every expected number is worked out in the comments from the layout of
``TRUTH_SPEC`` (1 km cells, primary 80 km/h every 10th line, residential 40 km/h, motorways
110 km/h at rows/columns 40.5 and 80.5 with 60 km/h links every 10 km).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from geo.routing.synthetic import (
    KM_PER_DEG_LAT,
    GridSpec,
    RoadNetwork,
    grid_network,
    write_grid_pbf,
)

from .conftest import TRUTH_SPEC

NET = grid_network(TRUTH_SPEC)
PLAIN = grid_network(dataclasses.replace(TRUTH_SPEC, restrictions=()))


def ref(a: tuple[int, int], b: tuple[int, int], net: RoadNetwork = NET) -> float:
    """Reference seconds from grid node ``a`` to grid node ``b`` (column, row)."""
    return float(net.reference_times_s(net.node(*a), net.node(*b))[0, 0])


def test_plain_grid_reference_equals_the_simple_dijkstra() -> None:
    spec = GridSpec()
    net = grid_network(spec)
    sources = [(50, 50), (23, 71)]
    simple = spec.dijkstra_s(sources).reshape(2, -1)
    scipy_ref = net.reference_times_s(net.node([50, 23], [50, 71]), np.arange(spec.n**2))
    # Nominal 1 km cells vs haversine lengths of the node coordinates: < 0.01 %.
    assert np.allclose(scipy_ref, simple, rtol=1e-4, atol=0.5)


def test_default_specs_write_the_same_bytes_as_before(tmp_path: Path) -> None:
    """The extended generator keeps old graphs (benchmarks, engine tests) byte for byte."""
    out = tmp_path / "g.osm.pbf"
    digests = []
    for spec in (GridSpec(), GridSpec(island=True), GridSpec(size_km=20, spacing_km=0.5)):
        write_grid_pbf(out, spec)
        digests.append(hashlib.md5(out.read_bytes()).hexdigest())
    assert digests == [
        "0800ecbc12746464ca0b7142d776e7c6",
        "78eedd5aee898cdd03e2f1c5323895d6",
        "a62be252261fee26e7f538b3b01c41bb",
    ]


def test_one_way_rows() -> None:
    # Row 44 runs east only: (30, 44) → (35, 44) is 5 km at 40 km/h = 450 s.
    assert ref((30, 44), (35, 44)) == pytest.approx(450.0, rel=1e-4)
    # Back west: up to row 45 (1 km), west 5 km, down primary column 30 (1 km at 80):
    # 90 + 450 + 45 = 585 s.
    assert ref((35, 44), (30, 44)) == pytest.approx(585.0, rel=1e-4)
    # Row 46 runs west only: the mirror image.
    assert ref((35, 46), (30, 46)) == pytest.approx(450.0, rel=1e-4)
    assert ref((30, 46), (35, 46)) == pytest.approx(585.0, rel=1e-4)


def test_one_way_spur_village() -> None:
    spec = TRUTH_SPEC
    v = NET.village
    centre = int(NET.node(50, 50)[0])
    there = float(NET.reference_times_s(centre, v)[0, 0])
    back = float(NET.reference_times_s(v, centre)[0, 0])
    # In: 50 km down primary column 50 (2250 s) + 4 km road in at 40 (360 s) = 2610 s.
    assert there == pytest.approx(2610.0, rel=1e-4)
    # Out: 14 km road out at 40 (1260 s) to (60, 0), 40 km north on column 60 (1800 s), the
    # link to the motorway at row 40.5 (0.71 km at 60: 42.4 s), 10 km of motorway west at 110
    # (327.3 s), the link down to (50, 40) (42.4 s), 10 km north (450 s) = 3922.2 s.
    link_s = math.hypot(0.5, 0.5) / 60.0 * 3600.0
    assert back == pytest.approx(1260 + 1800 + 2 * link_s + 10 / 110 * 3600 + 450, rel=1e-4)
    assert spec.spur_col == 50


def test_turn_restrictions_force_a_detour() -> None:
    # no_left_turn at (20, 20) arriving from the west: 5 km east + 5 km north on primaries
    # (450 s) is forbidden; best is to turn at (19, 20): 4 km (180) + 1 km residential up (90)
    # + 1 km east on row 21 (90) + 4 km up column 20 (180) = 540 s.
    assert ref((15, 20), (20, 25), PLAIN) == pytest.approx(450.0, rel=1e-4)
    assert ref((15, 20), (20, 25)) == pytest.approx(540.0, rel=1e-4)
    # only_straight_on at (70, 20) arriving from the south: both turns are forbidden.
    for target in ((65, 20), (75, 20)):
        assert ref((70, 15), target, PLAIN) == pytest.approx(450.0, rel=1e-4)
        assert ref((70, 15), target) == pytest.approx(540.0, rel=1e-4)
    # Other movements at the same junctions are unaffected (right turn from the west).
    assert ref((15, 20), (20, 15)) == pytest.approx(450.0, rel=1e-4)


def test_motorway_is_faster_for_long_trips() -> None:
    # (10, 40) → (90, 40): link up at (10, 40), 80 km motorway at 110, link down at (90, 40):
    # 2 × 42.4 + 2618.2 = 2703.1 s; on primary row 40 alone it would take 3600 s.
    link_s = math.hypot(0.5, 0.5) / 60.0 * 3600.0
    assert ref((10, 40), (90, 40)) == pytest.approx(2 * link_s + 80 / 110 * 3600, rel=1e-4)


def test_island_is_unreachable_and_lake_has_no_roads() -> None:
    spec = TRUTH_SPEC
    island = NET.reference_times_s(NET.node(50, 50), [spec.n**2 + 5])  # an island node
    assert np.isinf(island).all()
    # No segment reaches inside the lake: its middle is at least 7 km from any road.
    centre = spec.lake_centre_lonlat()[0]
    used = np.unique(np.concatenate([NET.edges.u, NET.edges.v]))
    km = (NET.node_lonlat[used] - centre) * KM_PER_DEG_LAT
    km[:, 0] *= math.cos(math.radians(centre[1]))
    assert np.hypot(km[:, 0], km[:, 1]).min() >= 6.9
