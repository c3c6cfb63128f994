"""One verdict rule: a trial site gets the verdict ``trialreach check`` gives the place and it.

:func:`sites.trials.rank_trials` judges every site with :func:`geo.proximity.judge.judge`, the
rule :func:`geo.proximity.check` uses; here both run on the same (place, site) pairs and must
agree on verdict, reason, margin and drive time. Sites sit on the equator, so with the fake
engine the times are hand-computable (1° of longitude = 60 min, +10 min driving west; see
:mod:`tests.verdicts.fakes`). Every site is in the United States (a site abroad is the one rule
only the trials ranking adds).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pytest

from geo.proximity import check
from geo.routing.auto import AutoRouter
from geo.routing.base import Router
from geo.routing.estimate import EstimateRouter
from geo.types import LonLat, Precision
from sites.trials import chosen_limit, rank_trials
from tests.verdicts.fakes import AsymBox

RULE = chosen_limit(120, 10)
SITE_LONS = [0.1, 0.5, 1.55, 1.85, 2.1, -1.75, -1.9, 6.0]
"""6 min; 30; 93 (within for an exact point, but a city centre's 20 min could eat it); 111
(borderline); 126 (outside); 105 + 10 and 114 + 10 west; 360 min (beyond straight-line reach:
outside without routing). For ``auto`` the graph ends at 1.7° east: the sites past it are
estimated."""


def _study(lons: list[float]) -> dict[str, Any]:
    locations = [
        {
            "facility": f"Site {i}",
            "city": f"Town {i}",
            "state": "Ohio",
            "zip": "43210",
            "country": "United States",
            "status": "RECRUITING",
            "geoPoint": {"lat": 0.0, "lon": lon},
        }
        for i, lon in enumerate(lons)
    ]
    return {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT99999999", "briefTitle": "A lupus study"},
            "statusModule": {"overallStatus": "RECRUITING"},
            "contactsLocationsModule": {"locations": locations},
        }
    }


def _engines() -> dict[str, Router]:
    return {
        "box": AsymBox(-20, 20),
        "estimate": EstimateRouter(),
        "auto": AutoRouter(local=[AsymBox(-3, 1.7)], online=None),
    }


@pytest.mark.parametrize("precision", [Precision.COORDINATES.value, Precision.ZIP.value])
@pytest.mark.parametrize("engine", ["box", "estimate", "auto"])
def test_trial_sites_get_the_verdict_check_gives(engine: str, precision: str) -> None:
    router = _engines()[engine]
    place = LonLat(0.0, 0.0)
    ranking = rank_trials([_study(SITE_LONS)], place, router, rule=RULE, place_precision=precision)
    sites = ranking.sites
    assert len(sites) == len(SITE_LONS) and sites["checked"].all()
    places = gpd.GeoDataFrame(
        {"precision": [precision], "error": [""]},
        geometry=gpd.points_from_xy([place.lon], [place.lat]),
        crs="EPSG:4326",
    )
    seen = set()
    for _, site in sites.iterrows():
        alone = gpd.GeoDataFrame(
            {
                "site_id": [site["site_id"]],
                "name": [site["name"]],
                "coord_precision": [site["coord_precision"]],
            },
            geometry=gpd.points_from_xy([site["lon"]], [site["lat"]]),
            crs="EPSG:4326",
        )
        row = check(places, alone, RULE, router).iloc[0]
        pair = f"{engine}/{precision}: site at lon {site['lon']}"
        assert site["verdict"] == row["verdict"], (pair, site["reason"], row["reason"])
        if not site["beyond_reach"]:  # beyond reach: not routed, the reason gives the bound
            assert site["reason"] == row["reason"], pair
            assert site["margin_min"] == pytest.approx(row["margin_min"]), pair
            np.testing.assert_allclose(site["drive_min"], row["drive_min"], err_msg=pair)
        seen.add(row["verdict"])
    # The pairs exercise the rule, not one corner of it.
    assert {"within", "outside"} <= seen, seen
    if engine == "box" or precision == Precision.ZIP.value:
        assert "borderline" in seen, seen


def test_hand_computed_verdicts_with_the_fake_engine() -> None:
    """The independent reference: the fake's times by hand, judged by the rule by hand."""
    ranking = rank_trials([_study(SITE_LONS)], LonLat(0.0, 0.0), AsymBox(-20, 20), rule=RULE)
    got = ranking.sites.set_index("lon")
    expected_min = {0.1: 6, 0.5: 30, 1.55: 93, 1.85: 111, 2.1: 126, -1.75: 115, -1.9: 124}
    for lon, minutes in expected_min.items():
        assert got.loc[lon, "drive_min"] == pytest.approx(minutes), lon
    # 6 and 30 min: 114 and 90 to spare. 93: 27 to spare ≥ the 10 min margin, but < 10 + 20
    # min of a city centre's error: borderline. 111 and 115: under 10 to spare. 124, 126: over
    # the limit.
    verdicts = got["verdict"].to_dict()
    assert verdicts[0.1] == verdicts[0.5] == "within"
    assert verdicts[1.55] == "borderline" and "only a city centre" in got.loc[1.55, "reason"]
    assert verdicts[1.85] == verdicts[-1.75] == "borderline"
    assert verdicts[2.1] == verdicts[-1.9] == "outside"
    assert verdicts[6.0] == "outside" and bool(got.loc[6.0, "beyond_reach"])
    assert np.isnan(got.loc[6.0, "drive_min"])
