"""One verdict rule: ``rank_sites`` (one place, each site) and ``check`` (each place, its nearest
site) give the same verdict and reason for the same pair; where the road data stops between a
place and a site, ``auto`` estimates that pair (labelled) instead of a bare ``unknown``.

The fake graph has two unconnected parts (like the demo graph: Harrisburg and Columbus), times
hand-computable from :mod:`.fakes` (1° of longitude = 60 min, +10 min driving west).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point

from geo.proximity import EDGE_NOTE, EDGE_REASON, check, rank_sites
from geo.routing.auto import AutoRouter
from geo.routing.base import Router, as_lonlat_array
from geo.routing.estimate import EstimateRouter
from geo.rules import get_rule
from geo.types import DriveTimeMatrix, LonLat, Precision

from .fakes import AsymBox, asym_seconds

RULE = get_rule("resolution")  # 120 min, margin 10 min


@dataclass(frozen=True)
class _Graph:
    """What the verdicts read of a graph: its name (and the folder engines tell graphs by)."""

    name: str
    path: str


class TwoParts(AsymBox):
    """A graph of two unconnected parts, lon [-3, -1] and [1, 4] on the equator.

    Within a part: the fakes' times. Across parts: no route (NaN), flagged at the data edge (the
    missing road lies outside the data). A cell with an end within 0.25° of a part's outer end
    (|lon| > 3.75) is flagged too: a road beyond the data could be a shortcut.
    """

    name = "parts"

    def __init__(self) -> None:
        super().__init__(-3, 4, label="parts")
        self.graph = _Graph("parts", "/graphs/parts")

    def graphs(self) -> tuple[_Graph, ...]:
        return (self.graph,)

    @staticmethod
    def part(p: np.ndarray) -> np.ndarray:
        x = p[:, 0]
        return np.where((x >= -3) & (x <= -1), 0, np.where((x >= 1) & (x <= 4), 1, -1))

    def covers(self, points):  # type: ignore[no-untyped-def]
        return self.part(as_lonlat_array(points)) >= 0

    def drive_times(self, origins, destinations):  # type: ignore[no-untyped-def]
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        po, pd_ = self.part(o), self.part(d)
        same = (po[:, None] == pd_[None, :]) & (po[:, None] >= 0)
        s = np.where(same, asym_seconds(o, d), np.nan)
        near_end = np.abs(o[:, 0]) > 3.75
        edge = ~same | near_end[:, None] | (np.abs(d[:, 0]) > 3.75)[None, :]
        return DriveTimeMatrix(s, s * 25, self.info, edge)


def sites_at(*lons: float, coord_precision: list[str] | None = None) -> gpd.GeoDataFrame:
    ids = [chr(ord("A") + i) for i in range(len(lons))]
    frame = gpd.GeoDataFrame(
        {"site_id": ids, "name": [f"Site {i}" for i in ids]},
        geometry=[Point(x, 0.0) for x in lons],
        crs="EPSG:4326",
    )
    if coord_precision is not None:
        frame["coord_precision"] = coord_precision
    return frame


def places_at(lons: list[float], precision: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"precision": [precision] * len(lons), "error": [""] * len(lons)},
        geometry=[Point(x, 0.0) for x in lons],
        crs="EPSG:4326",
    )


SITES = sites_at(-2.0, 1.5, 3.1, 3.9, 8.0, coord_precision=["", "", "", "", "city"])
PLACES = [-2.5, -1.2, 1.2, 2.0, 3.6, 3.95, 6.5]
"""Places in each part, near a part's outer end (edge-flagged), and off the graph."""


def engines() -> dict[str, Router]:
    return {
        "graph": TwoParts(),
        "auto": AutoRouter(local=[TwoParts()], online=None),
        "estimate": EstimateRouter(),
        "box": AsymBox(-20, 20),
    }


@pytest.mark.parametrize("precision", [Precision.COORDINATES.value, Precision.ZIP.value])
@pytest.mark.parametrize("engine", ["graph", "auto", "estimate", "box"])
def test_rank_sites_and_check_agree_on_every_pair(engine: str, precision: str) -> None:
    router = engines()[engine]
    seen = set()
    for lon in PLACES:
        ranked = rank_sites(LonLat(lon, 0.0), SITES, router, RULE, precision=precision)
        ranked = ranked.set_index("site_id")
        for j, site_id in enumerate(SITES["site_id"]):
            alone = SITES.iloc[[j]]
            row = check(places_at([lon], precision), alone, RULE, router).iloc[0]
            got = ranked.loc[site_id]
            pair = f"{engine}: place {lon} → site {site_id}"
            assert got["verdict"] == row["verdict"], (pair, got["reason"], row["reason"])
            assert got["reason"] == row["reason"], pair
            assert got["margin_min"] == pytest.approx(row["margin_min"]), pair
            np.testing.assert_allclose(got["drive_min"], row["drive_min"], err_msg=pair)
            seen.add(row["verdict"])
    # The pairs exercise the rule, not one corner of it.
    assert len(seen) >= 3, seen
    if engine == "graph":
        assert seen == {"within", "borderline", "outside", "unknown"}


def test_an_edge_flagged_within_stands_in_both() -> None:
    """rank_sites used to turn every edge-flagged site unknown while check kept ``within``."""
    router = TwoParts()
    # Place 3.95 → site 3.9 drives west 0.05° = 3 min + 10 min: within, near the data's end.
    ranked = rank_sites(LonLat(3.95, 0.0), SITES, router, RULE).set_index("site_id")
    assert ranked.loc["D", "drive_min"] == pytest.approx(13.0)
    assert ranked.loc["D", "verdict"] == "within"
    assert ranked.loc["D", "reason"] == EDGE_NOTE
    row = check(places_at([3.95], "coordinates"), SITES.iloc[[3]], RULE, router).iloc[0]
    assert (row["verdict"], row["reason"]) == ("within", EDGE_NOTE)


def test_across_unconnected_parts_auto_estimates_the_pair_and_says_so() -> None:
    est = EstimateRouter()
    place = LonLat(-1.2, 0.0)  # in the western part; site B (1.5) is in the eastern part
    expected_s = float(est.drive_times([place], [(1.5, 0.0)]).duration_s[0, 0])

    graph_only = rank_sites(place, SITES, TwoParts(), RULE).set_index("site_id")
    assert graph_only.loc["B", "verdict"] == "unknown"
    assert graph_only.loc["B", "reason"] == EDGE_REASON
    assert np.isnan(graph_only.loc["B", "drive_min"])

    auto = rank_sites(place, SITES, AutoRouter(local=[TwoParts()], online=None), RULE)
    b = auto.set_index("site_id").loc["B"]
    assert b["drive_min"] == pytest.approx(round(expected_s / 60.0, 1))
    assert b["estimated"] and b["engine"] == "estimate"  # never labelled routed
    assert "ends between the place and the site" in b["reason"]
    assert "estimated instead" in b["reason"]
    # 2.7° ≈ 300 km: the estimate is far over the limit, beyond its error: outside.
    assert b["verdict"] == "outside"
    # The routed pair in the same part stays routed: 0.8° west = 48 + 10 min.
    a = auto.set_index("site_id").loc["A"]
    assert not a["estimated"] and a["drive_min"] == pytest.approx(58.0)

    # check(): a place whose part holds no site gets the estimate to the nearest site, labelled.
    only_b = SITES.iloc[[1, 2]]
    row = check(places_at([-1.2], "coordinates"), only_b, RULE, AutoRouter(local=[TwoParts()]))
    assert row.iloc[0]["engine"] == "estimate"
    assert row.iloc[0]["basis"] == "estimate from straight-line distance"
    assert row.iloc[0]["drive_min"] == pytest.approx(round(expected_s / 60.0, 1))


def test_a_place_off_the_graph_is_said_to_be_outside_its_data() -> None:
    router = TwoParts()
    row = check(places_at([6.5], "coordinates"), SITES, RULE, router).iloc[0]
    assert row["verdict"] == "unknown"
    assert row["reason"].startswith("outside the road data of graph 'parts'")
    ranked = rank_sites(LonLat(6.5, 0.0), SITES, router, RULE)
    assert (ranked["verdict"] == "unknown").all()
    assert ranked["reason"].str.startswith("outside the road data of graph 'parts'").all()


@pytest.mark.engine
def test_demo_graph_harrisburg_from_columbus_is_an_estimate_not_a_bare_unknown() -> None:
    """The patient page's case: the demo graph's Columbus and Harrisburg parts do not connect."""
    from geo.routing.graph import ensure_demo_graph
    from trialreach.api import rank_sites as api_rank

    ensure_demo_graph()
    columbus = "39.99, -83.0"
    auto = api_rank(columbus, sites="demo", engine="auto").set_index("site_id")
    assert not auto.loc["DEMO-JAMES", "estimated"]
    assert auto.loc["DEMO-JAMES", "verdict"] == "within"
    hbg = auto.loc["DEMO-HBG-COMMUNITY"]
    assert hbg["verdict"] == "outside" and hbg["estimated"] and hbg["engine"] == "estimate"
    assert "ends between the place and the site" in hbg["reason"]
    # The estimate engine alone gives the same time for that pair (independent reference).
    alone = api_rank(columbus, sites="demo", engine="estimate").set_index("site_id")
    assert hbg["drive_min"] == pytest.approx(alone.loc["DEMO-HBG-COMMUNITY", "drive_min"])
    # A graph engine chosen by name does not estimate: the pair stays unknown, with the reason.
    graph = api_rank(columbus, sites="demo", engine="valhalla").set_index("site_id")
    assert graph.loc["DEMO-HBG-COMMUNITY", "verdict"] == "unknown"
    assert graph.loc["DEMO-HBG-COMMUNITY", "reason"] == EDGE_REASON
