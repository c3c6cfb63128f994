"""End to end on a synthetic road grid: lodging stored next to a Valhalla graph, routed ranking.

Grid: 60 × 60 km, a road every km; every 10th row/column is primary at 80 km/h, the others
residential at 40 km/h. The site is the crossing of primary roads at (30, 30). Hand-computed
drive times (Dijkstra on the same grid agrees) — Valhalla adds a few seconds per turn:

=====  ========  ============================================  =========  ==========
hotel  node      path                                          minutes    rule 30/5
=====  ========  ============================================  =========  ==========
A      (33, 33)  3 km primary + 3 km residential               6.75       within
B      (50, 30)  20 km primary                                 15.0       within
C      (30, 58)  28 km primary                                 21.0       within
D      (50, 46)  20 + 16 km primary                            27.0       borderline
E      (50, 54)  20 + 24 km primary                            33.0       outside
=====  ========  ============================================  =========  ==========
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import osmium
import pytest

from geo.lodging import lodging_for_graph, search_lodging
from geo.routing.graph import build_graph
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.rules import custom_rule
from geo.settings import Settings
from geo.types import LonLat

pytestmark = pytest.mark.engine

SPEC = GridSpec(size_km=60.0, spacing_km=1.0, origin_lon=0.05, origin_lat=0.05)
HOTELS = {
    "A": ((33, 33), 6.75),
    "B": ((50, 30), 15.0),
    "C": ((30, 58), 21.0),
    "D": ((50, 46), 27.0),
    "E": ((50, 54), 33.0),
}


def _write_hotels(path: Path) -> None:
    stamp = datetime(2024, 5, 1, tzinfo=UTC)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, (label, ((col, row), _)) in enumerate(HOTELS.items()):
            lon, lat = SPEC.lonlat(col, row)[0]
            writer.add_node(
                osmium.osm.mutable.Node(
                    id=10_000_000 + i,
                    location=(float(lon), float(lat)),
                    version=1,
                    timestamp=stamp,
                    tags={"tourism": "hotel", "name": f"Hotel {label}"},
                )
            )
    finally:
        writer.close()


def test_routed_lodging_on_a_synthetic_grid(tmp_path: Path):
    from geo.routing.valhalla import ValhallaRouter

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    grid, hotels = tmp_path / "grid.osm.pbf", tmp_path / "hotels.osm.pbf"
    write_grid_pbf(grid, SPEC)
    _write_hotels(hotels)
    manifest = build_graph([grid, hotels], "lodging-grid", settings)
    lodging = lodging_for_graph(manifest, pbfs=[grid, hotels], settings=settings)
    assert sorted(lodging["name"]) == [f"Hotel {k}" for k in "ABCDE"]
    assert (manifest.path / "lodging.geojson").is_file()

    # Hand-computed times agree with Dijkstra on the same grid (no turn costs).
    dijkstra_min = SPEC.dijkstra_s([(30, 30)])[0] / 60.0
    for (col, row), minutes in HOTELS.values():
        assert dijkstra_min[row, col] == pytest.approx(minutes)

    site = LonLat(*map(float, SPEC.lonlat(30, 30)[0]))
    rule = custom_rule(max_drive_min=30, margin_min=5)
    result = search_lodging(site, lodging, rule, ValhallaRouter(manifest, settings))
    f = result.frame
    assert list(f["name"]) == ["Hotel A", "Hotel B", "Hotel C", "Hotel D"]
    expected = np.array([HOTELS[k][1] for k in "ABCD"])
    # Valhalla: +0.1–0.2 % on lengths and a few seconds per turn.
    assert np.all(f["drive_min"].to_numpy() >= expected - 0.05)
    assert np.all(f["drive_min"].to_numpy() <= expected * 1.005 + 0.25)
    assert list(f["verdict"]) == ["within", "within", "within", "borderline"]
    assert result.outside == 1 and result.no_route == 0
    assert f["engine"].iloc[0].startswith("valhalla")
    assert set(f["data_date"]) == {"2024-05-01"}
