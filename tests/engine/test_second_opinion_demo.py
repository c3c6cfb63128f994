"""OSRM answers, Valhalla checks near the limit: on the demo extracts, against each engine's
own single route (the independent reference for each model)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point

from geo.proximity import check
from geo.routing.auto import AutoRouter
from geo.routing.osrm import OsrmRouter
from geo.routing.second_opinion import SecondOpinionRouter
from geo.routing.valhalla import ValhallaRouter
from geo.rules import custom_rule
from geo.settings import Settings
from geo.types import LonLat

pytestmark = pytest.mark.engine

SITE = LonLat(-83.019169, 39.994656)  # OSU James, Columbus (demo site set)
SITES = gpd.GeoDataFrame(
    {"site_id": ["DEMO-JAMES"], "name": ["OSU James"]},
    geometry=[Point(SITE.lon, SITE.lat)],
    crs="EPSG:4326",
)


@pytest.fixture(scope="module")
def engines(demo: ValhallaRouter, engine_settings: Settings) -> tuple[OsrmRouter, ValhallaRouter]:
    if not demo.graph.has_osrm:
        pytest.fail("the demo graph was built without OSRM data")
    return OsrmRouter(demo.graph, engine_settings), demo


@pytest.fixture(scope="module")
def places(engines: tuple[OsrmRouter, ValhallaRouter]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columbus places with both engines' own route times to the site (s)."""
    osrm, valhalla = engines
    rng = np.random.default_rng(7)
    lon = SITE.lon + rng.uniform(-0.06, 0.06, 150)
    lat = SITE.lat + rng.uniform(-0.045, 0.045, 150)
    pts = np.column_stack([lon, lat])
    pts = pts[osrm.covers(pts) & valhalla.covers(pts)]
    # Away from the end of the road data (there an `outside` is `unknown` whatever the engines say).
    site = np.array([SITE.as_tuple()])
    edge = osrm.drive_times(pts, site).edge_warning
    assert edge is not None
    pts = pts[~edge[:, 0]][:25]
    assert len(pts) >= 10
    t_osrm, t_val = [], []
    for lon, lat in pts:
        t_osrm.append(osrm.route(LonLat(lon, lat), SITE).duration_s)
        t_val.append(valhalla.route(LonLat(lon, lat), SITE).duration_s)
    return pts, np.array(t_osrm), np.array(t_val)


def test_engines_disagreeing_across_the_limit_give_borderline_with_both_times(
    engines: tuple[OsrmRouter, ValhallaRouter], places: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    osrm, valhalla = engines
    pts, t_osrm, t_val = places
    # The place where the two models differ most; a limit half-way between its two times.
    k = int(np.argmax(np.abs(t_osrm - t_val)))
    assert abs(t_osrm[k] - t_val[k]) > 60, "the demo roads should show the model difference"
    limit_min = (t_osrm[k] + t_val[k]) / 2 / 60
    rule = custom_rule(limit_min, margin_min=0.5)
    out = check([tuple(pts[k])], SITES, rule, SecondOpinionRouter(osrm, valhalla))
    row = out.iloc[0]
    assert row["verdict"] == "borderline"
    # The reported time is the verdict engine's (OSRM) own route time, within 0.5 % or 6 s.
    assert row["drive_min"] * 60 == pytest.approx(t_osrm[k], abs=max(6.0, 0.005 * t_osrm[k]))
    m = re.fullmatch(
        r"engines disagree: (\d+) min \(OSRM\) vs (\d+) min \(Valhalla\)", row["reason"]
    )
    assert m, row["reason"]
    assert abs(int(m.group(1)) - t_osrm[k] / 60) <= 0.5 + 0.1
    assert abs(int(m.group(2)) - t_val[k] / 60) <= 0.5 + 0.1 + 0.005 * t_val[k] / 60


def test_agreeing_engines_keep_the_verdict_and_far_places_are_not_asked_twice(
    engines: tuple[OsrmRouter, ValhallaRouter], places: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    osrm, valhalla = engines
    pts, t_osrm, t_val = places
    # A 2-hour rule: every Columbus town trip is far inside it (both models agree, no band).
    assert (np.maximum(t_osrm, t_val) < 0.8 * 7200).all()
    router = SecondOpinionRouter(osrm, valhalla)
    res = router.nearest(pts, np.array([SITE.as_tuple()]), 7200.0)
    assert np.isnan(res.row_second()[0]).all()
    out = check([tuple(p) for p in pts], SITES, custom_rule(120, margin_min=10), router)
    assert (out["verdict"] == "within").all()
    np.testing.assert_allclose(out["drive_min"] * 60, t_osrm, atol=6.0 + 3.0, rtol=0.005)


def test_auto_answers_a_graph_with_osrm_data_by_osrm_and_says_so(engine_settings: Settings) -> None:
    auto = AutoRouter(engine_settings, online=None)
    demo = [r for r in auto.local if isinstance(r, SecondOpinionRouter)]
    assert demo, [type(r).__name__ for r in auto.local]
    out = check([(-83.0, 39.99)], SITES, custom_rule(120, margin_min=10), auto)
    assert out["engine"].iloc[0].startswith("osrm · ")
    assert "second opinion near the limit: Valhalla" in auto.describe()
    # Isochrones come from Valhalla on the same graph (OSRM has none).
    iso = auto.isochrones([SITE.as_tuple()], [10])
    assert iso["engine"].iloc[0].startswith("valhalla")
