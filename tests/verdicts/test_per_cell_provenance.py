"""Per-cell provenance under ``auto``, and the estimate's margin applied by every consumer.

Issue 12: a matrix mixing routed and estimated cells was labelled as one engine, so the lodging
finder and the patient page turned an estimated 105 min into a confident ``within`` while
``check()`` said ``borderline``. Numbers are hand-computed from the fakes in :mod:`.fakes`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point

from geo.lodging import search_lodging
from geo.lodging.extract import empty_lodging
from geo.proximity import check, rank_sites
from geo.routing.auto import AutoRouter
from geo.routing.estimate import EstimateRouter
from geo.rules import get_rule
from geo.types import LonLat

from .fakes import WESTWARD_PENALTY_S, AsymBox, FailingOnline, ZeroOnline

RULE = get_rule("resolution")  # 120 min, margin 10 min
EST = EstimateRouter()
EST_ERROR_MIN = EST.info.error_fraction * RULE.max_drive_min


def lon_for_estimate_min(minutes: float) -> float:
    """Longitude offset (equator) at which the estimate gives ``minutes``."""
    km = float(EST.km_for_seconds(np.array([minutes * 60.0]))[0])
    return km / 111.19492664455873


def sites_at(*lons: float) -> gpd.GeoDataFrame:
    ids = [chr(ord("A") + i) for i in range(len(lons))]
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": [f"Site {i}" for i in ids]},
        geometry=[Point(x, 0.0) for x in lons],
        crs="EPSG:4326",
    )


# --- the matrix says who answered each cell ---------------------------------------------------


def test_mixed_matrix_carries_engine_and_estimate_per_cell():
    auto = AutoRouter(local=[AsymBox(-2, 2)], online=None)
    m = auto.drive_times([(1.0, 0.0), (29.0, 0.0)], [(0.0, 0.0), (30.0, 0.0)])
    assert m.cell_labels().tolist() == [
        ["box · test graph", "estimate"],
        ["estimate", "estimate"],
    ]
    assert m.cell_estimated().tolist() == [[False, True], [True, True]]
    # Mixed: the matrix as a whole is not one engine's answer.
    assert m.engine.name == "auto" and not m.engine.is_estimate
    # Place (1, 0) → site (0, 0) drives west: 60 min + the 10 min penalty (direction kept).
    assert m.duration_s[0, 0] == 3600.0 + WESTWARD_PENALTY_S


def test_single_engine_matrix_keeps_that_engine():
    auto = AutoRouter(local=[AsymBox(-2, 2)], online=None)
    m = auto.drive_times([(29.0, 0.0)], [(30.0, 0.0)])
    assert m.engine.is_estimate and m.cell_estimated().all()


def test_failed_online_engine_is_named_in_the_cells_that_fell_back():
    auto = AutoRouter(local=[AsymBox(-2, 2)], online=FailingOnline())
    m = auto.drive_times([(1.0, 0.0)], [(0.0, 0.0), (30.0, 0.0)])
    notes = m.cell_notes()[0]
    assert notes[0] == ""  # routed locally: nothing to say
    assert notes[1] == (
        "openrouteservice failed (openrouteservice answered HTTP 500 after 3 tries); "
        "estimated instead"
    )
    assert m.cell_labels()[0, 1] == "estimate" and m.cell_estimated()[0, 1]


def test_failed_online_engine_is_named_in_check_rows():
    auto = AutoRouter(local=[AsymBox(-2, 2)], online=FailingOnline())
    out = check([(0.5, 0.0), (29.5, 0.0)], sites_at(0.0, 30.0), RULE, auto)
    assert out["engine"].tolist() == ["box · test graph", "estimate"]
    assert out["reason"].iloc[0] == ""
    assert out["reason"].iloc[1].startswith("openrouteservice failed (")
    assert "estimated instead" in out["reason"].iloc[1]
    assert not out.attrs["partial"]  # every row has an answer


def test_zero_seconds_from_online_never_replace_routed_answers():
    # Site B lies beyond the graph but within reach: asked of the online engine, which
    # answers 0 s (a fault). The graph's real 36 min to A must stand, not "0 min to B".
    auto = AutoRouter(local=[AsymBox(-2, 2)], online=ZeroOnline())
    out = check([(1.9, 0.0)], sites_at(1.3, 3.5), RULE, auto)
    assert out["nearest_site_id"].iloc[0] == "A"
    assert out["drive_min"].iloc[0] == pytest.approx(36.0 + WESTWARD_PENALTY_S / 60.0)
    m = auto.drive_times([(1.9, 0.0)], [(1.3, 0.0), (3.5, 0.0)])
    assert m.duration_s[0, 1] > 0 and m.cell_estimated()[0, 1]
    assert "openrouteservice failed" in m.cell_notes()[0, 1]


def test_failed_local_engine_hands_its_rows_on_with_the_fault():
    class Broken(AsymBox):
        def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
            from geo.errors import EngineError

            raise EngineError("graph demo is damaged")

    auto = AutoRouter(local=[Broken(-2, 2, label="valhalla")], online=None)
    out = check([(0.5, 0.0)], sites_at(0.0), RULE, auto)
    assert out["engine"].iloc[0] == "estimate"
    assert (
        out["reason"]
        .iloc[0]
        .startswith("Valhalla failed (graph demo is damaged); estimated instead")
    )


# --- every consumer widens the margin of estimated cells --------------------------------------


def test_check_rank_and_lodging_agree_on_an_estimated_105_min():
    auto = AutoRouter(local=[AsymBox(-0.5, 3)], online=None)
    site = sites_at(0.0)
    est_lon = -lon_for_estimate_min(105.0)
    routed_lon = 95 / 60.0 - 0.0  # 95 min east + 10 min westward penalty = 105 min routed

    out = check([(est_lon, 0.0), (routed_lon, 0.0)], site, RULE, auto)
    assert out["drive_min"].tolist() == pytest.approx([105.0, 105.0], abs=0.05)
    assert out["verdict"].tolist() == ["borderline", "within"]
    assert out["margin_min"].tolist() == [max(10.0, EST_ERROR_MIN), 10.0]

    # The patient page's ranking: same place, same answer.
    for lon, verdict in ((est_lon, "borderline"), (routed_lon, "within")):
        ranked = rank_sites(LonLat(lon, 0.0), site, auto, RULE)
        assert ranked["verdict"].iloc[0] == verdict
        assert ranked["drive_min"].iloc[0] == pytest.approx(105.0, abs=0.05)
    est_rank = rank_sites(LonLat(est_lon, 0.0), site, auto, RULE)
    assert est_rank["engine"].iloc[0] == "estimate" and bool(est_rank["estimated"].iloc[0])
    assert "safety margin" in est_rank["reason"].iloc[0]

    # The lodging finder: two hotels at those places, ranked to the site.
    lodging = empty_lodging().iloc[0:0]
    lodging = gpd.GeoDataFrame(
        {"osm_id": ["e", "r"], "kind": ["hotel", "hotel"], "name": ["Est Inn", "Routed Inn"]},
        geometry=[Point(est_lon, 0.0), Point(routed_lon, 0.0)],
        crs="EPSG:4326",
    )
    for col in ("address", "city", "postcode", "website", "phone", "eligibility_note"):
        lodging[col] = ""
    lodging["source"] = "OpenStreetMap"
    lodging["data_date"] = ""
    result = search_lodging(LonLat(0.0, 0.0), lodging, RULE, auto)
    f = result.frame.set_index("name")
    assert f.loc["Est Inn", "verdict"] == "borderline"
    assert f.loc["Routed Inn", "verdict"] == "within"
    assert f.loc["Est Inn", "engine"] == "estimate" and bool(f.loc["Est Inn", "estimated"])
    assert f.loc["Routed Inn", "engine"] == "box · test graph"
    assert any("1 of 2 drive times are estimates" in n for n in result.notices)


def test_direction_is_place_to_site_everywhere():
    # Place east of the site drives west (penalty); place west drives east (none).
    auto = AutoRouter(local=[AsymBox(-3, 3)], online=None)
    site = sites_at(0.0)
    out = check([(1.0, 0.0), (-1.0, 0.0)], site, RULE, auto)
    assert out["drive_min"].tolist() == [70.0, 60.0]
    east = rank_sites(LonLat(1.0, 0.0), site, auto, RULE)
    assert east["drive_min"].iloc[0] == 70.0


def test_a_dead_online_engine_is_not_waited_for_again_in_every_chunk():
    class Counting(FailingOnline):
        calls = 0

        def nearest(self, origins, destinations, horizon_s=None):  # type: ignore[no-untyped-def]
            Counting.calls += 1
            return super().nearest(origins, destinations, horizon_s)

    now = [1000.0]
    auto = AutoRouter(local=[], online=Counting(), clock=lambda: now[0])
    pts = [(29.0 + i / 10, 0.0) for i in range(6)]
    out = check(pts, sites_at(30.0), RULE, auto, chunk_rows=2)
    assert Counting.calls == 1  # three chunks, one failed request
    assert (out["engine"] == "estimate").all()
    assert out["reason"].str.startswith("openrouteservice failed (").all()
    now[0] += 301.0  # five minutes later the service is tried again
    check(pts[:1], sites_at(30.0), RULE, auto)
    assert Counting.calls == 2
