"""Online geocoders against a local stub speaking their protocols: Census and openrouteservice."""

from __future__ import annotations

import pytest
from geocode_stub import (
    CENSUS_NO_MATCH,
    MAYO_ROCHESTER,
    Reply,
    StubGeocoder,
    census_batch_answer,
    census_match,
    km_between,
    ors_feature_collection,
)

from geo._http import HttpClient
from geo.errors import GeocodeError
from geo.geocode import CENSUS_SOURCE, ZIP_SOURCE, Geocoder
from geo.settings import Settings
from geo.types import LonLat, Precision

CENSUS_PATH = "/geocoder/locations/onelineaddress"
BATCH_PATH = "/geocoder/locations/addressbatch"
ORS_PATH = "/ors/geocode/search"
ADDRESS = "200 First St SW, Rochester, MN 55905"
MATCHED = "200 1ST ST SW, ROCHESTER, MN, 55905"


def test_census_match(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED)))
    result = Geocoder(census_settings).geocode(ADDRESS)
    assert result.precision is Precision.ADDRESS
    assert result.point == LonLat(-92.46695, 44.02246)
    assert result.matched == MATCHED
    assert result.source == CENSUS_SOURCE
    assert not result.is_approximate
    assert result.note == ""
    (call,) = stub.calls(CENSUS_PATH)
    assert call["query"] == {
        "address": ADDRESS,
        "benchmark": "Public_AR_Current",
        "format": "json",
    }


def test_census_several_matches_uses_first_and_says_so(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED, n=3)))
    result = Geocoder(census_settings).geocode(ADDRESS)
    assert result.note == "3 matches; used the first"


def test_census_no_match_falls_back_to_zip(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, CENSUS_NO_MATCH))
    result = Geocoder(census_settings).geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.is_approximate
    assert result.source == ZIP_SOURCE
    assert result.point == LonLat(-92.4835, 44.0032)
    assert result.note == (
        "U.S. Census Geocoder found no match; ZIP centroid of 55902 — check the exact address"
    )


def test_census_no_match_falls_back_to_city(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, CENSUS_NO_MATCH))
    # a street the Census does not know, in a known town ("Rochester, MN" alone is a town name,
    # resolved offline without asking: test_geocode_towns.py)
    result = Geocoder(census_settings).geocode("1 Nowhere Road, Rochester, MN")
    assert result.precision is Precision.CITY
    assert result.note.startswith("U.S. Census Geocoder found no match; city centroid of")
    assert len(stub.calls(CENSUS_PATH)) == 1


def test_census_no_match_and_nothing_offline_is_an_error(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    stub.script(CENSUS_PATH, Reply(200, CENSUS_NO_MATCH))
    with pytest.raises(GeocodeError) as info:
        Geocoder(census_settings).geocode("1 Nowhere Road")
    assert str(info.value).startswith("U.S. Census Geocoder found no match; could not locate")


def test_coordinates_and_bare_zip_never_go_online(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    g = Geocoder(census_settings)
    assert g.geocode("44.0225, -92.4668").precision is Precision.COORDINATES
    assert g.geocode("55905").precision is Precision.ZIP
    with pytest.raises(GeocodeError, match="ZIP 00000 is not a known US ZIP code"):
        g.geocode("00000")
    assert stub.requests == []


def test_census_500_then_success(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(
        CENSUS_PATH,
        Reply(500, {"errors": ["internal error"], "status": "500"}),
        Reply(200, census_match(-92.46695, 44.02246, MATCHED)),
    )
    result = Geocoder(census_settings).geocode(ADDRESS)
    assert result.precision is Precision.ADDRESS
    assert len(stub.calls(CENSUS_PATH)) == 2


def test_census_timeout_falls_back_offline_and_pauses_the_service(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    """Decision: an unreachable geocoder gives the offline centroid (approximate, with the reason
    in the note), is not asked again for a while, and the fallback is not cached."""
    clock = [1000.0]
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED), delay_s=1.5))
    settings = census_settings.with_(http_timeout_s=0.2, http_retries=1)
    g = Geocoder(settings, clock=lambda: clock[0])
    result = g.geocode(ADDRESS)
    assert result.precision is Precision.ZIP
    assert result.point == LonLat(-92.4668, 44.0225)
    assert result.note.startswith("U.S. Census Geocoder unavailable (")
    assert "timed out" in result.note
    assert result.note.endswith("ZIP centroid of 55905 — check the exact address")
    assert len(stub.calls(CENSUS_PATH)) == 2  # first try + 1 retry

    # A second address in the same batch does not wait for the timeouts again.
    other = g.geocode("Hampton Inn, Rochester MN 55902")
    assert other.precision is Precision.ZIP
    assert "unavailable" in other.note
    assert len(stub.calls(CENSUS_PATH)) == 2

    # Once the pause is over and the service is back, the same address is matched again:
    # the fallback was not cached.
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED)))
    clock[0] += g.online_retry_after_s + 1
    again = g.geocode(ADDRESS)
    assert again.precision is Precision.ADDRESS
    assert len(stub.calls(CENSUS_PATH)) == 3


def test_census_down_and_nothing_offline_is_an_error_with_the_reason(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    stub.script(CENSUS_PATH, Reply(503, {"errors": ["maintenance"]}))
    g = Geocoder(census_settings)
    with pytest.raises(GeocodeError) as info:
        g.geocode("1 Nowhere Road")
    message = str(info.value)
    assert message.startswith("U.S. Census Geocoder unavailable (")
    assert "HTTP 503" in message
    assert "Nowhere" not in message


def test_census_unexpected_answer_falls_back(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, {"something": "else"}))
    result = Geocoder(census_settings).geocode(ADDRESS)
    assert result.precision is Precision.ZIP
    assert "unexpected format" in result.note


def test_cache_hit_calls_the_stub_once(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED)))
    g = Geocoder(census_settings)
    first = g.geocode(ADDRESS)
    second = g.geocode(ADDRESS)
    third = g.geocode("  200 First St SW,   Rochester, MN 55905 ")  # same after spaces
    assert first == second == third
    assert len(stub.calls(CENSUS_PATH)) == 1
    assert g.cache_info().hits == 2


def test_geocode_many_with_census(stub: StubGeocoder, census_settings: Settings) -> None:
    # many addresses go to the batch endpoint (test_geocode_census_batch.py), once each
    answer = census_batch_answer(
        {"200 First St SW, Rochester, MN, 55905": (-92.46695, 44.02246, MATCHED)}
    )
    stub.script(BATCH_PATH, Reply(200, answer))
    results = Geocoder(census_settings).geocode_many([ADDRESS, "", ADDRESS, "55902"])
    assert [getattr(r, "precision", None) for r in results] == [
        Precision.ADDRESS,
        None,
        Precision.ADDRESS,
        Precision.ZIP,
    ]
    assert isinstance(results[1], GeocodeError)
    assert results[0] == results[2]
    assert results[0].point == LonLat(-92.46695, 44.02246)  # type: ignore[union-attr]
    (call,) = stub.calls(BATCH_PATH)
    assert call["files"]["addressFile"] == "1,200 First St SW,Rochester,MN,55905\n"
    assert stub.calls(CENSUS_PATH) == []


def test_injected_http_client_is_used(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(CENSUS_PATH, Reply(200, census_match(-92.46695, 44.02246, MATCHED)))
    http = HttpClient("U.S. Census Geocoder", timeout_s=1.0, retries=0, headers={"X-Test": "1"})
    Geocoder(census_settings, http=http).geocode(ADDRESS)
    assert stub.calls(CENSUS_PATH)[0]["headers"]["X-Test"] == "1"


# ---- openrouteservice ------------------------------------------------------------------------


def test_ors_address(stub: StubGeocoder, ors_settings: Settings) -> None:
    label = "200 1st Street SW, Rochester, MN, USA"
    stub.script(ORS_PATH, Reply(200, ors_feature_collection(-92.466819, 44.022503, label)))
    result = Geocoder(ors_settings).geocode(ADDRESS)
    assert result.precision is Precision.ADDRESS
    assert result.point == LonLat(-92.466819, 44.022503)
    assert km_between(result.point.as_tuple(), MAYO_ROCHESTER) < 0.1
    assert result.matched == label
    assert result.source == "openrouteservice geocoder (openaddresses)"
    (call,) = stub.calls(ORS_PATH)
    assert call["query"] == {"text": ADDRESS, "boundary.country": "USA", "size": "1"}
    assert call["headers"]["Authorization"] == "test-key"
    assert "api_key" not in call["query"]  # the key travels in a header, not in the URL


def test_ors_postalcode_match_is_zip_precision(stub: StubGeocoder, ors_settings: Settings) -> None:
    body = ors_feature_collection(-92.48, 44.0, "55902, Rochester, MN, USA", layer="postalcode")
    stub.script(ORS_PATH, Reply(200, body))
    result = Geocoder(ors_settings).geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.is_approximate
    assert result.note == "matched only a postalcode — check the exact address"


def test_ors_region_only_is_no_match(stub: StubGeocoder, ors_settings: Settings) -> None:
    body = ors_feature_collection(-94.3, 46.3, "Minnesota, USA", layer="region")
    stub.script(ORS_PATH, Reply(200, body))
    result = Geocoder(ors_settings).geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.note.startswith("openrouteservice geocoder found no match; ZIP centroid")


def test_ors_empty_feature_collection_falls_back(
    stub: StubGeocoder, ors_settings: Settings
) -> None:
    stub.script(ORS_PATH, Reply(200, {"type": "FeatureCollection", "features": []}))
    result = Geocoder(ors_settings).geocode("Hershey PA")
    assert result.precision is Precision.CITY
    assert result.matched == "Hershey, PA"


def test_ors_bad_key_falls_back_with_reason(stub: StubGeocoder, ors_settings: Settings) -> None:
    stub.script(ORS_PATH, Reply(403, {"error": "Access to this API has been disallowed"}))
    result = Geocoder(ors_settings).geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.note.startswith("openrouteservice geocoder unavailable (")
    assert "refused the request (HTTP 403)" in result.note
    assert len(stub.calls(ORS_PATH)) == 1  # 403 is not retried


def test_ors_without_key_stays_offline(stub: StubGeocoder) -> None:
    g = Geocoder(Settings(geocoder="ors", ors_api_key=None))
    assert g.mode == "offline"
    result = g.geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.note.startswith("openrouteservice geocoding needs ORS_API_KEY")
    assert stub.requests == []
