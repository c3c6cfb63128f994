"""An estimate near the limit is borderline both ways; a failing engine loses no finished row."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely import Point

from geo.proximity import CHUNK_ROWS, check
from geo.routing.estimate import EstimateRouter
from geo.rules import get_rule
from geo.types import EngineInfo

from .fakes import FailingOnCall

RULE = get_rule("resolution")  # 120 min, margin 10 min
EST = EstimateRouter()
ERR_MIN = EST.info.error_fraction * RULE.max_drive_min
SITES = gpd.GeoDataFrame(
    {"site_id": ["A"], "name": ["Site A"]}, geometry=[Point(0.0, 0.0)], crs="EPSG:4326"
)


def lon_for(minutes: float) -> float:
    km = float(EST.km_for_seconds(np.array([minutes * 60.0]))[0])
    return km / 111.19492664455873


# --- estimate honesty ---------------------------------------------------------------------


def test_rule_softens_an_estimated_outside_within_its_error():
    est = EST.info
    routed = EngineInfo(name="osrm", data="demo")
    over = (RULE.max_drive_min + ERR_MIN - 1) * 60.0  # over the limit, inside the error
    far = (RULE.max_drive_min + ERR_MIN + 1) * 60.0  # beyond the error
    assert RULE.verdicts([over, far], est).tolist() == ["borderline", "outside"]
    assert RULE.verdicts([over, far], routed).tolist() == ["outside", "outside"]
    # Per-cell flags: the same time, routed in one cell and estimated in the other.
    assert RULE.verdicts([over, over], est, [False, True]).tolist() == ["outside", "borderline"]
    assert RULE.margins_min(est, [False, True]).tolist() == [10.0, max(10.0, ERR_MIN)]


def test_check_says_why_an_estimated_outside_is_borderline():
    over = RULE.max_drive_min + ERR_MIN / 2
    out = check([(lon_for(over), 0.0), (lon_for(over + ERR_MIN), 0.0)], SITES, RULE, EST)
    assert out["verdict"].tolist() == ["borderline", "outside"]
    assert "over the limit, within its typical error" in out["reason"].iloc[0]
    assert out["reason"].iloc[1] == ""


# --- lost work ----------------------------------------------------------------------------


def test_a_failed_chunk_costs_only_its_rows():
    router = FailingOnCall({2}, label="ors")
    lons = np.linspace(0.1, 1.0, 10)
    out = check([(x, 0.0) for x in lons], SITES, RULE, router, chunk_rows=4)
    # Chunks: rows 0-3 ok, 4-7 failed, 8-9 ok.
    verdicts = out["verdict"].tolist()
    assert verdicts[:4] == ["within"] * 4 and verdicts[8:] == ["within"] * 2
    assert verdicts[4:8] == ["unknown"] * 4
    assert out["reason"].iloc[4] == (
        "openrouteservice failed: openrouteservice answered HTTP 500 after 3 tries"
    )
    assert np.isnan(out["drive_min"].iloc[4:8]).all()
    # Finished rows keep their hand-computed times (east of the site: drive west, +10 min).
    assert out["drive_min"].iloc[0] == pytest.approx(0.1 * 60 + 10, abs=0.05)
    assert out.attrs["partial"] is True
    assert out.attrs["faults"] == [out["reason"].iloc[4]]


def test_a_dead_engine_is_not_retried_for_every_chunk():
    router = FailingOnCall({1, 2, 3, 4, 5}, label="ors")
    out = check([(x, 0.0) for x in np.linspace(0.1, 1.0, 10)], SITES, RULE, router, chunk_rows=2)
    assert router.n_calls == 2  # two failures in a row, then the rest is not sent
    assert (out["verdict"] == "unknown").all()
    assert out["reason"].iloc[9].startswith("not checked after openrouteservice failed")
    assert out.attrs["partial"]


def test_a_complete_run_is_not_partial_and_chunks_by_default():
    router = FailingOnCall(set(), label="ors")
    out = check([(0.5, 0.0)] * 3, SITES, RULE, router)
    assert router.n_calls == 1 and CHUNK_ROWS >= 3
    assert out.attrs == {"partial": False, "faults": []}


def test_the_margin_follows_the_error_measured_at_the_limits_length():
    from geo.routing.auto import AutoRouter
    from geo.rules import custom_rule

    est = EST.info
    # Measured p90 |error| (docs/engine.md, "Estimate"): 46 % up to 15 min, 33 % up to 30 min,
    # 25 % from there to the 2-hour limit.
    assert custom_rule(10, margin_min=2).effective_margin_min(est) == pytest.approx(4.6)
    assert custom_rule(25, margin_min=5).effective_margin_min(est) == pytest.approx(8.25)
    assert custom_rule(90, margin_min=10).effective_margin_min(est) == pytest.approx(22.5)
    assert RULE.effective_margin_min(est) == pytest.approx(30.0)
    # auto carries its fallback's curve, so its estimated rows get the same margins.
    auto = AutoRouter(local=[], online=None).info
    assert custom_rule(25, margin_min=5).margins_min(auto, [True, False]).tolist() == [8.25, 5.0]
    # A routed time keeps the rule's own margin whatever the limit.
    assert custom_rule(25, margin_min=5).effective_margin_min(EngineInfo("osrm", "x")) == 5.0
