"""The process-wide ``nearest`` memory lives in one wrapper (``CachedRouter``) and never keeps an
answer whose second opinion failed: the next ask tries the second engine again.

Fakes (``tests/routing_fakes.py``): the primary ("osrm") drives the straight line × 1.3 at
70 km/h; the second engine ("valhalla") the same at 1.2× the time, so a place 105 min away on
the primary is 126 min on the second — the engines disagree about the 120-min rule.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from routing_fakes import CrowFliesRouter, fake_graph
from shapely import Point

from geo.geodesy import haversine_km
from geo.proximity import check
from geo.routing.auto import AutoRouter
from geo.routing.cache import CachedRouter
from geo.routing.estimate import EstimateRouter
from geo.routing.memory import NEAREST_MEMORY, NEAREST_STATS
from geo.routing.second_opinion import SecondOpinionRouter
from geo.rules import get_rule

RULE = get_rule("resolution")  # 120 min, margin 10
SITE = np.array([[-90.0, 40.0]])
SITES = gpd.GeoDataFrame(
    {"site_id": ["A"], "name": ["Site A"]}, geometry=[Point(*SITE[0])], crs="EPSG:4326"
)


def place_at(minutes: float) -> np.ndarray:
    """A place due south of the site, ``minutes`` away on the primary (hand inverse: along a
    meridian the great-circle distance is linear in latitude)."""
    straight_km = minutes / 60.0 * 70.0 / 1.3
    km_per_deg = haversine_km(np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]))[0, 0]
    return np.array([[SITE[0, 0], SITE[0, 1] - straight_km / km_per_deg]])


@pytest.fixture(autouse=True)
def _fresh_memory() -> None:
    NEAREST_MEMORY.clear()


def engines() -> tuple[CrowFliesRouter, CrowFliesRouter]:
    graph = fake_graph("warm")
    return (
        CrowFliesRouter("osrm", graph=graph),
        CrowFliesRouter("valhalla", slower=1.2, graph=graph),
    )


def graph_engine(primary: CrowFliesRouter, second: CrowFliesRouter) -> SecondOpinionRouter:
    """As :func:`geo.routing.graph_engines.graph_router` builds a graph's engine."""
    return SecondOpinionRouter(CachedRouter(primary), lambda: CachedRouter(second))


def test_place_at_is_hand_right() -> None:
    primary, second = engines()
    s = primary.seconds(place_at(105.0), SITE)[0, 0]
    assert s == pytest.approx(105 * 60.0, rel=1e-9)
    assert second.seconds(place_at(105.0), SITE)[0, 0] == pytest.approx(126 * 60.0, rel=1e-9)


def test_a_repeat_is_answered_from_memory_once() -> None:
    primary, second = engines()
    xy = np.vstack([place_at(30.0), place_at(105.0), place_at(300.0)])
    first = graph_engine(primary, second).nearest(xy, SITE, RULE.max_drive_s)
    assert (primary.calls, second.calls) == (1, 1)  # one place in the band
    hits = NEAREST_STATS["hit"]
    again = graph_engine(primary, second).nearest(xy, SITE, RULE.max_drive_s)
    assert (primary.calls, second.calls) == (1, 1)  # neither engine asked again
    assert NEAREST_STATS["hit"] == hits + 2  # the primary's answer and the second opinion
    np.testing.assert_array_equal(first.duration_s, again.duration_s)
    np.testing.assert_array_equal(first.second_s, again.second_s)
    assert again.second_s[1] == pytest.approx(126 * 60.0, rel=1e-9)


def test_a_failed_second_opinion_is_asked_again_on_the_next_ask() -> None:
    primary, second = engines()
    xy = place_at(105.0)
    second.fail(1)
    first = graph_engine(primary, second).nearest(xy, SITE, RULE.max_drive_s)
    assert np.isnan(first.second_s[0]) and first.row_second_failed()[0]
    assert first.duration_s[0] == pytest.approx(105 * 60.0, rel=1e-9)  # the primary stands
    again = graph_engine(primary, second).nearest(xy, SITE, RULE.max_drive_s)
    assert again.second_s[0] == pytest.approx(126 * 60.0, rel=1e-9)
    assert again.second_labels[0] == "valhalla" and not again.row_second_failed()[0]
    assert primary.calls == 1  # the primary's own answer came from memory


def test_wrapped_outside_the_second_opinion_an_incomplete_answer_is_not_kept() -> None:
    """However a caller wraps it: CachedRouter(SecondOpinionRouter) does not keep the answer
    whose second opinion failed either."""
    primary, second = engines()
    xy = place_at(105.0)
    graph = fake_graph("warm")
    router = CachedRouter(SecondOpinionRouter(primary, second))
    assert router.graphs() == (graph,)
    second.fail(1)
    assert np.isnan(router.nearest(xy, SITE, RULE.max_drive_s).second_s[0])
    again = router.nearest(xy, SITE, RULE.max_drive_s)
    assert again.second_s[0] == pytest.approx(126 * 60.0, rel=1e-9)
    assert primary.calls == 2  # asked again: nothing incomplete was remembered
    third = router.nearest(xy, SITE, RULE.max_drive_s)  # now complete, and remembered
    assert primary.calls == 2 and third.second_s[0] == again.second_s[0]


def test_through_auto_and_check_the_retry_brings_the_disagreement() -> None:
    primary, second = engines()
    place = [tuple(place_at(105.0)[0])]

    def auto() -> AutoRouter:  # every check opens its engine afresh
        return AutoRouter(local=[graph_engine(primary, second)], fallback=EstimateRouter())

    second.fail(1)
    cold = check(place, SITES, RULE, auto())
    # 105 min with 15 to spare: within, the second opinion missing (the primary stands).
    assert cold["verdict"].iloc[0] == "within"
    warm = check(place, SITES, RULE, auto())
    assert warm["verdict"].iloc[0] == "borderline"
    assert warm["reason"].iloc[0] == "engines disagree: 105 min (OSRM) vs 126 min (Valhalla)"
    assert warm["drive_min"].iloc[0] == cold["drive_min"].iloc[0] == 105.0
    assert primary.calls == 1 and second.calls == 1
    # A third check is a pure repeat: nothing asked.
    check(place, SITES, RULE, auto())
    assert primary.calls == 1 and second.calls == 1


def test_engines_without_a_local_graph_remember_nothing() -> None:
    plain = CrowFliesRouter("crow")
    router = CachedRouter(plain)
    router.nearest(place_at(30.0), SITE, RULE.max_drive_s)
    router.nearest(place_at(30.0), SITE, RULE.max_drive_s)
    assert plain.calls == 2 and len(NEAREST_MEMORY.data) == 0
