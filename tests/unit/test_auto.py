"""The auto engine picks, per row, the local graph where it covers, else ORS, else the estimate."""

import geopandas as gpd
import numpy as np
from shapely import Point

from geo.errors import NetworkError
from geo.proximity import check
from geo.routing.auto import AutoRouter
from geo.routing.base import Router, as_lonlat_array
from geo.routing.estimate import EstimateRouter
from geo.rules import get_rule
from geo.types import DriveTimeMatrix, EngineInfo, LonLat, Route

RULE = get_rule("resolution")


class BoxRouter(Router):
    """A fake local engine: covers lon within [west, east]; 1° of longitude = 60 min."""

    def __init__(self, west, east, label="box"):
        self.west, self.east, self.label = west, east, label
        self.calls = 0

    @property
    def info(self):
        return EngineInfo(name=self.label, data="test graph")

    def covers(self, points):
        p = as_lonlat_array(points)
        return (p[:, 0] >= self.west) & (p[:, 0] <= self.east)

    def drive_times(self, origins, destinations):
        self.calls += 1
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        s = np.abs(o[:, None, 0] - d[None, :, 0]) * 3600.0
        return DriveTimeMatrix(s, s * 25, self.info, np.zeros(s.shape, dtype=bool))

    def isochrones(self, points, minutes):
        return EstimateRouter().isochrones(points, minutes).assign(engine=self.info.label)

    def route(self, origin, destination):
        return Route(1.0, 1.0, None, self.info)  # type: ignore[arg-type]


class FailingOnline(BoxRouter):
    def drive_times(self, origins, destinations):
        raise NetworkError("openrouteservice could not be reached")

    def nearest(self, origins, destinations, horizon_s=None):
        raise NetworkError("openrouteservice could not be reached")


SITES = gpd.GeoDataFrame(
    {"site_id": ["A", "B"], "name": ["A", "B"]},
    geometry=[Point(0.0, 0.0), Point(30.0, 0.0)],
    crs="EPSG:4326",
)


def test_rows_covered_by_the_graph_are_routed_others_estimated_in_input_order():
    local = BoxRouter(-2, 2)
    auto = AutoRouter(local=[local], online=None)
    pts = [(1.0, 0.0), (29.0, 0.0), (-1.5, 0.0)]
    out = check(pts, SITES, RULE, auto)
    assert list(out["engine"]) == ["box · test graph", "estimate", "box · test graph"]
    assert list(out["drive_min"][[0, 2]]) == [60.0, 90.0]
    assert out["basis"].iloc[1] == "estimate from straight-line distance"
    assert out["nearest_site_id"].iloc[1] == "B"


def test_estimate_rows_keep_their_wider_margin():
    auto = AutoRouter(local=[BoxRouter(-2, 2)], online=None)
    # Routed 105 min (local): within with the 10 min margin.
    routed = check([(1.75, 0.0)], SITES, RULE, auto)
    assert routed["verdict"].iloc[0] == "within"
    # An estimate of ~105 min (outside the graph): borderline, margin widened to 18 min.
    km = EstimateRouter().km_for_seconds(np.array([105 * 60.0]))[0]
    est = check([(30.0 - km / 111.195, 0.0)], SITES, RULE, auto)
    assert est["engine"].iloc[0] == "estimate"
    assert est["verdict"].iloc[0] == "borderline"
    assert "widened" in est["reason"].iloc[0]
    # Each row says which margin its verdict used.
    assert routed["margin_min"].iloc[0] == 10.0 and est["margin_min"].iloc[0] == 30.0


def test_a_site_beyond_the_graph_is_still_considered():
    # Site B (2.5°) lies outside the graph but within reach: it is answered by the estimate,
    # and the quicker of the two answers wins, labelled with the engine that gave it.
    sites = gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "name": ["A", "B"]},
        geometry=[Point(0.0, 0.0), Point(2.5, 0.0)],
        crs="EPSG:4326",
    )
    auto = AutoRouter(local=[BoxRouter(-2, 2)], online=None)
    out = check([(1.9, 0.0), (0.2, 0.0)], sites, RULE, auto)
    # 1.9°: routed 114 min to A vs an estimate of ~50 min to B → B, estimate.
    assert list(out["nearest_site_id"]) == ["B", "A"]
    assert out["engine"].iloc[0] == "estimate"
    # 0.2°: routed 12 min to A beats any estimate to B → A, routed.
    assert out["engine"].iloc[1] == "box · test graph" and out["drive_min"].iloc[1] == 12.0


def test_online_engine_failure_falls_back_to_the_estimate_and_says_so():
    auto = AutoRouter(local=[], online=FailingOnline(-180, 180, label="ors"))
    out = check([(0.5, 0.0)], SITES, RULE, auto)
    assert out["engine"].iloc[0] == "estimate"
    assert out["verdict"].iloc[0] == "within"


def test_matrix_cells_use_the_graph_only_where_it_covers_both_ends():
    local = BoxRouter(-2, 2)
    auto = AutoRouter(local=[local], online=None)
    m = auto.drive_times([(1.0, 0.0), (29.0, 0.0)], [(0.0, 0.0), (30.0, 0.0)])
    assert m.duration_s[0, 0] == 3600.0  # both covered: the graph's hand-made time
    est = EstimateRouter().drive_times([(1.0, 0.0)], [(30.0, 0.0)]).duration_s[0, 0]
    assert m.duration_s[0, 1] == est  # site B is outside the graph: estimate


def test_route_and_describe():
    auto = AutoRouter(local=[BoxRouter(-2, 2)], online=None)
    assert auto.route(LonLat(0.5, 0), LonLat(1.0, 0)).engine.name == "box"
    assert auto.route(LonLat(0.5, 0), LonLat(20.0, 0)).engine.is_estimate
    assert auto.describe().startswith("auto: box")
