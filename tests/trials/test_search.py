"""ClinicalTrials.gov search: paging, what leaves the machine, faults, partial answers, cache."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from geo.errors import NetworkError, RateLimitError, ValidationError
from geo.geodesy import haversine_km
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH
from geo.settings import Settings
from geo.types import LonLat
from sites.trials import (
    TrialQuery,
    cached_study,
    coarsen,
    parse_statuses,
    search_params,
    search_radius_mi,
    search_studies,
)
from sites.trials.search import SITE_POINT_SLACK_KM, study_cache_dir

from .stub_trials import STUDIES, TrialsStub, matching

# A street address in Rochester, MN (coordinates to 6 decimals, as a geocoder gives them).
HOME = LonLat(-92.463761, 44.023198)
LUPUS = TrialQuery(condition="lupus")


# --- paging ---------------------------------------------------------------------------------


def test_three_pages_are_followed_to_the_end(stub: TrialsStub, settings: Settings) -> None:
    result = search_studies(LUPUS, HOME, settings, page_size=3)

    expected = [
        s["protocolSection"]["identificationModule"]["nctId"]
        for s in matching(search_params(LUPUS, HOME))
    ]
    got = [s["protocolSection"]["identificationModule"]["nctId"] for s in result.studies]
    assert len(expected) == 7  # the fixture: 7 of 8 studies have a site in the area
    assert got == expected
    assert result.pages == 3 and len(stub.searches) == 3
    assert [q.get("pageToken") for q in stub.searches] == [None, "tok-3", "tok-6"]
    # Later pages repeat the same query, only adding the token.
    first = stub.searches[0]
    assert all({k: v for k, v in q.items() if k != "pageToken"} == first for q in stub.searches)
    assert result.total_count == 7
    assert not result.partial and result.error == ""
    assert "7 studies from 3 page(s)" in result.summary()


def test_one_big_page_gives_the_same_studies(stub: TrialsStub, settings: Settings) -> None:
    small = search_studies(LUPUS, HOME, settings, page_size=3)
    big = search_studies(LUPUS, HOME, settings, page_size=100)
    assert big.pages == 1
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in big.studies] == [
        s["protocolSection"]["identificationModule"]["nctId"] for s in small.studies
    ]


def test_a_search_that_matches_nothing_is_empty_not_an_error(
    stub: TrialsStub, settings: Settings
) -> None:
    result = search_studies(TrialQuery(condition="no-such-condition"), HOME, settings)
    assert result.studies == () and result.pages == 1 and not result.partial


def test_max_pages_cuts_and_says_partial(stub: TrialsStub, settings: Settings) -> None:
    result = search_studies(LUPUS, HOME, settings, page_size=3, max_pages=2)
    assert result.pages == 2 and len(result.studies) == 6
    assert result.partial and "stopped after 2 pages" in result.error


# --- what leaves the machine ----------------------------------------------------------------


def test_only_a_coarse_point_and_the_query_leave_the_machine(
    stub: TrialsStub, settings: Settings
) -> None:
    search_studies(TrialQuery(condition="lupus", intervention="CAR T"), HOME, settings, page_size=3)
    assert stub.searches
    exact = {f"{HOME.lat:.6f}", f"{HOME.lon:.6f}", f"{HOME.lat:.4f}", f"{HOME.lon:.4f}",
             f"{HOME.lat:.3f}", f"{HOME.lon:.3f}"}  # fmt: skip
    for raw, params in zip(stub.raw_queries, stub.searches, strict=True):
        assert set(params) <= {
            "format", "filter.geo", "filter.overallStatus", "fields", "pageSize", "countTotal",
            "query.cond", "query.intr", "pageToken",
        }  # fmt: skip
        for text in exact:
            assert text not in raw
        assert "Rochester" not in raw and "55902" not in raw
        geo = re.fullmatch(
            r"distance\((-?\d+\.\d{2}),(-?\d+\.\d{2}),(\d+)mi\)", params["filter.geo"]
        )
        assert geo, params["filter.geo"]
        lat, lon, radius_mi = float(geo[1]), float(geo[2]), int(geo[3])
        # The centre is a 0.1° grid cell centre (x.x5), not the place.
        assert (round(lat * 100) % 10, round(lon * 100) % 10) == (5, 5)
        assert (lat, lon) == (44.05, -92.45)
        # The radius covers the limit at the fastest plausible speed from anywhere in the cell.
        offset_km = float(haversine_km(
            __import__("numpy").array([[HOME.lon, HOME.lat]]),
            __import__("numpy").array([[lon, lat]]))[0, 0])  # fmt: skip
        reach_km = 120 / 60 * MAX_PLAUSIBLE_SPEED_KMH
        assert radius_mi * 1.609344 >= reach_km + offset_km + SITE_POINT_SLACK_KM
        assert radius_mi * 1.609344 <= reach_km + 8.0 + SITE_POINT_SLACK_KM + 1.7
    assert stub.searches[0]["query.cond"] == "lupus"
    assert stub.searches[0]["query.intr"] == "CAR T"
    assert stub.searches[0]["filter.overallStatus"] == "RECRUITING,NOT_YET_RECRUITING"


@pytest.mark.parametrize(
    "place", [LonLat(-92.463761, 44.023198), LonLat(-0.01, -0.01), LonLat(179.99, 89.99),
              LonLat(-122.41942, 37.77493), LonLat(-149.9, 61.21)]
)  # fmt: skip
def test_coarsening_offset_bounds_the_true_distance(place: LonLat) -> None:
    import numpy as np

    centre, offset_km = coarsen(place)
    true_km = haversine_km(np.array([place.as_tuple()]), np.array([centre.as_tuple()]))[0, 0]
    assert true_km <= offset_km + 1e-6
    assert offset_km <= 7.9  # half-diagonal of a 0.1° cell
    # Every place in the same cell gets the same centre (nothing finer is revealed).
    nudged = LonLat(
        min(place.lon + 0.003, math.floor(place.lon * 10) / 10 + 0.0999),
        min(place.lat + 0.003, math.floor(place.lat * 10) / 10 + 0.0999),
    )
    assert coarsen(nudged)[0] == centre


def test_radius_grows_with_the_limit() -> None:
    assert search_radius_mi(60, 7.9) < search_radius_mi(120, 7.9) < search_radius_mi(180, 7.9)
    # 120 min at 130 km/h = 260 km, + 7.9 + 15 km = 282.9 km = 175.8 mi -> 176.
    assert search_radius_mi(120, 7.9) == 176


def test_query_is_validated_before_anything_is_sent(stub: TrialsStub) -> None:
    with pytest.raises(ValidationError):
        TrialQuery()
    with pytest.raises(ValidationError):
        TrialQuery(condition="lupus", statuses=("RECRUTING",))
    with pytest.raises(ValidationError):
        TrialQuery(condition="lupus", max_drive_min=0)
    assert stub.searches == []
    assert parse_statuses("recruiting, not yet recruiting") == (
        "RECRUITING",
        "NOT_YET_RECRUITING",
    )


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cond", ["rate-limited", "server-error", "garbled-once"])
def test_passing_faults_are_retried(cond: str, stub: TrialsStub, settings: Settings) -> None:
    result = search_studies(TrialQuery(condition=cond), HOME, settings, page_size=3)
    assert len(result.studies) == 7 and not result.partial
    assert len(stub.searches) == 4  # one failed try, then 3 pages


def test_service_down_is_named(stub: TrialsStub, settings: Settings) -> None:
    with pytest.raises(NetworkError) as err:
        search_studies(TrialQuery(condition="down"), HOME, settings)
    text = str(err.value)
    assert "ClinicalTrials.gov" in text and "HTTP 503" in text
    assert len(stub.searches) == settings.http_retries + 1


def test_rate_limit_that_persists_is_named(stub: TrialsStub, settings: Settings) -> None:
    client_settings = settings.with_(http_retries=0)
    with pytest.raises(RateLimitError) as err:
        search_studies(TrialQuery(condition="rate-limited"), HOME, client_settings)
    assert "429" in str(err.value)


def test_timeout_is_named(stub: TrialsStub, settings: Settings) -> None:
    with pytest.raises(NetworkError) as err:
        search_studies(TrialQuery(condition="slow"), HOME, settings.with_(http_retries=0))
    assert "timed out" in str(err.value)


def test_malformed_answers_are_named(stub: TrialsStub, settings: Settings) -> None:
    with pytest.raises(NetworkError) as err:
        search_studies(TrialQuery(condition="garbled"), HOME, settings)
    assert "not JSON" in str(err.value) and "ClinicalTrials.gov" in str(err.value)
    assert len(stub.searches) == 3  # asked again twice


def test_page_three_failing_keeps_what_was_found_and_says_partial(
    stub: TrialsStub, settings: Settings
) -> None:
    result = search_studies(TrialQuery(condition="partial"), HOME, settings, page_size=3)
    assert result.partial
    assert len(result.studies) == 6 and result.pages == 2
    assert "page 3 failed" in result.error and "HTTP 500" in result.error
    assert "PARTIAL" in result.summary()


# --- cache ----------------------------------------------------------------------------------


def test_study_records_are_cached_but_never_the_place_or_query(
    stub: TrialsStub, settings: Settings
) -> None:
    query = TrialQuery(condition="lupus query 7731")  # text no record holds
    result = search_studies(query, HOME, settings, page_size=3)
    folder = study_cache_dir(settings)
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(
        f"{s['protocolSection']['identificationModule']['nctId']}.json" for s in result.studies
    )
    cache_root = Path(settings.cache_dir)
    everything = "".join(
        p.read_text(encoding="utf-8") for p in cache_root.rglob("*") if p.is_file()
    )
    for secret in (f"{HOME.lat:.4f}", f"{HOME.lon:.4f}", "7731", "44.05,-92.45", "distance("):
        assert secret not in everything
    record = cached_study("nct07085104", settings)
    assert record is not None
    original = next(
        s for s in STUDIES if s["protocolSection"]["identificationModule"]["nctId"] == "NCT07085104"
    )
    assert json.loads(json.dumps(original)) == record
    assert cached_study("NCT00000099", settings) is None
