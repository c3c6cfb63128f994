"""Offline geocoding: ZIP centroids, city centroids, address parsing, errors, batches, cache."""

from __future__ import annotations

import time

import pytest
from geocode_stub import MAYO_ROCHESTER, km_between

from geo.errors import GeocodeError, ValidationError
from geo.geocode import CITY_SOURCE, ZIP_SOURCE, Geocoder, city_centroid, geocode, zip_centroid
from geo.settings import Settings
from geo.types import GeocodeResult, LonLat, Precision

HERSHEY_MEDICAL_CENTER = (-76.6740, 40.2643)  # Penn State Health Milton S. Hershey Medical Center


@pytest.fixture(scope="module")
def offline() -> Geocoder:
    return Geocoder(Settings(geocoder="offline"))


def test_zip_55905_is_mayo_clinic(offline: Geocoder) -> None:
    result = offline.geocode("55905")
    assert result.precision is Precision.ZIP
    assert result.source == ZIP_SOURCE
    assert result.matched == "55905 Rochester, MN"
    assert km_between(result.point.as_tuple(), MAYO_ROCHESTER) < 5.0
    # the gazetteer's value for this single-address ZIP (checked by hand)
    assert result.point == LonLat(-92.4668, 44.0225)
    assert result.is_approximate
    assert result.note == "ZIP centroid of 55905 — check the exact address"


def test_zip_plus_four_uses_the_five_digit_zip(offline: Geocoder) -> None:
    assert offline.geocode("55902-1234").point == offline.geocode("55902").point
    assert offline.geocode("55902").point == LonLat(-92.4835, 44.0032)


def test_zip_with_leading_zero(offline: Geocoder) -> None:
    result = offline.geocode("02115")  # Boston (Longwood medical area)
    assert result.matched == "02115 Boston, MA"
    assert km_between(result.point.as_tuple(), (-71.1037, 42.3377)) < 3.0


def test_unknown_zip(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError) as info:
        offline.geocode("00000")
    assert str(info.value) == "ZIP 00000 is not a known US ZIP code"


def test_zip_lost_its_leading_zero(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError, match=r"leading zero may have been lost.*try 02115"):
        offline.geocode("2115")


def test_military_zip_has_no_location(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError, match=r"ZIP 09001 .* has no location"):
        offline.geocode("09001")


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty(offline: Geocoder, text: str) -> None:
    with pytest.raises(GeocodeError) as info:
        offline.geocode(text)
    assert str(info.value) == "empty address"


def test_hotel_with_zip_gives_zip_centroid(offline: Geocoder) -> None:
    result = offline.geocode("Hampton Inn, Rochester MN 55902")
    assert result.precision is Precision.ZIP
    assert result.point == offline.geocode("55902").point
    assert result.note == "ZIP centroid of 55902 — check the exact address"


def test_street_address_with_zip_plus_four_and_country(offline: Geocoder) -> None:
    result = offline.geocode("200 First St SW, Rochester, MN 55905-0001, USA")
    assert result.precision is Precision.ZIP
    assert result.matched == "55905 Rochester, MN"


def test_city_state_gives_city_centroid(offline: Geocoder) -> None:
    result = offline.geocode("Rochester, MN")
    assert result.precision is Precision.CITY
    assert result.source == CITY_SOURCE
    assert result.matched == "Rochester, MN"
    # mean of the standard ZIPs 55901, 55902, 55904, 55906
    assert result.point.lon == pytest.approx((-92.4896 - 92.4835 - 92.3973 - 92.4053) / 4)
    assert result.point.lat == pytest.approx((44.0496 + 44.0032 + 44.0105 + 44.1078) / 4)
    assert km_between(result.point.as_tuple(), MAYO_ROCHESTER) < 10.0
    assert "city centroid of Rochester, MN (mean of 4 ZIP centroids)" in result.note
    assert result.note.endswith("check the exact address")


def test_hershey_pa_without_comma(offline: Geocoder) -> None:
    result = offline.geocode("Hershey PA")
    assert result.precision is Precision.CITY
    assert result.matched == "Hershey, PA"  # not Hershey, NE
    assert km_between(result.point.as_tuple(), HERSHEY_MEDICAL_CENTER) < 5.0


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("Salt Lake City UT", "Salt Lake City, UT"),  # usaddress does not split this one
        ("123 Main St, St. Paul, Minnesota", "Saint Paul, MN"),
        ("Hampton Inn Rochester MN", "Rochester, MN"),
        ("springfield, illinois, united states", "Springfield, IL"),
        ("Winston-Salem, NC", "Winston Salem, NC"),
    ],
)
def test_city_parsing(offline: Geocoder, text: str, matched: str) -> None:
    result = offline.geocode(text)
    assert result.precision is Precision.CITY
    assert result.matched == matched


def test_city_centroid_helper_matches_geocoder(offline: Geocoder) -> None:
    assert city_centroid("rochester", "Minnesota").point == offline.geocode("Rochester, MN").point
    with pytest.raises(GeocodeError, match=r"not a U\.S\. state"):
        city_centroid("Rochester", "XX")
    with pytest.raises(GeocodeError, match="not in the ZIP gazetteer for MN"):
        city_centroid("Atlantis", "MN")


def test_zip_centroid_helper() -> None:
    assert zip_centroid("55905").point == LonLat(-92.4668, 44.0225)
    with pytest.raises(GeocodeError, match="not a 5-digit ZIP"):
        zip_centroid("5590")


def test_unknown_zip_in_address_falls_back_to_city_and_says_so(offline: Geocoder) -> None:
    result = offline.geocode("Hampton Inn, Rochester MN 00000")
    assert result.precision is Precision.CITY
    assert result.note.startswith("ZIP 00000 is not a known US ZIP code; city centroid of")


def test_unknown_zip_in_address_without_city_is_an_error(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError) as info:
        offline.geocode("Somewhere 00000")
    assert str(info.value) == "ZIP 00000 is not a known US ZIP code"


def test_zip_in_other_state_is_flagged(offline: Geocoder) -> None:
    result = offline.geocode("Rochester, MN 10001")
    assert result.matched == "10001 New York, NY"
    assert "the address says MN but ZIP 10001 is in New York, NY" in result.note


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a bare "Rochester" is now an ambiguous town name (14 states): test_geocode_towns.py
        ("Mayo Clinic", "could not locate this text offline"),
        ("Nowhereville, MN", "no ZIP code and no known city of MN"),
    ],
)
def test_unlocatable_text(offline: Geocoder, text: str, message: str) -> None:
    with pytest.raises(GeocodeError, match=message) as info:
        offline.geocode(text)
    assert text not in str(info.value)  # the address is not echoed


def test_geocode_many_keeps_order_and_never_aborts(offline: Geocoder) -> None:
    texts = ["55905", "", "00000", "95, 200", "Rochester, MN", None, float("nan"), 55902, "x"]
    results = offline.geocode_many(texts)  # type: ignore[arg-type]
    assert len(results) == len(texts)
    kinds = [r.precision.value if isinstance(r, GeocodeResult) else "error" for r in results]
    assert kinds == ["zip", "error", "error", "error", "city", "error", "error", "zip", "error"]
    messages = [str(r) for r in results if isinstance(r, GeocodeError)]
    assert messages[:5] == [
        "empty address",
        "ZIP 00000 is not a known US ZIP code",
        messages[2],
        "empty address",
        "empty address",
    ]
    assert messages[2].startswith("coordinates out of range")


def test_geocode_many_reports_progress(offline: Geocoder) -> None:
    seen: list[int] = []
    offline.geocode_many(["55905", "", "55902"], progress=seen.append)
    assert seen == [1, 2, 3]


def test_lru_cache_counts_and_evicts() -> None:
    g = Geocoder(Settings(), cache_size=2)
    g.geocode("55905")
    g.geocode("  55905 ")  # same text after whitespace normalisation
    assert g.cache_info().hits == 1
    with pytest.raises(GeocodeError):
        g.geocode("00000")
    with pytest.raises(GeocodeError, match="not a known"):
        g.geocode("00000")  # cached errors are raised again
    assert g.cache_info().hits == 2
    g.geocode("55902")  # evicts the oldest (55905)
    info = g.cache_info()
    assert (info.size, info.max_size) == (2, 2)
    g.geocode("55905")
    assert g.cache_info().misses == info.misses + 1
    g.clear_cache()
    assert g.cache_info().size == 0


def test_unknown_geocoder_setting() -> None:
    with pytest.raises(ValidationError, match="unknown geocoder 'google'"):
        Geocoder(Settings(geocoder="google"))


def test_module_level_geocode() -> None:
    assert geocode("44.0225, -92.4668").point == LonLat(-92.4668, 44.0225)


def test_100k_zip_lookups_use_the_index_and_take_seconds(
    offline: Geocoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipcodes

    offline.geocode("55905")  # the index is built once, here at the latest

    def per_call_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipcodes was queried per call instead of the in-memory index")

    for name in ("matching", "is_real", "filter_by", "list_all"):
        monkeypatch.setattr(zipcodes, name, per_call_lookup)
    fresh = Geocoder(Settings(), cache_size=0)  # no cache: every call does the lookup
    zips = [f"{z:05d}" for z in range(55001, 56001)] * 100
    started = time.perf_counter()
    results = fresh.geocode_many(zips)
    elapsed = time.perf_counter() - started
    assert len(results) == 100_000
    ok = [r for r in results if isinstance(r, GeocodeResult)]
    assert len(ok) == 100 * sum(isinstance(r, GeocodeResult) for r in results[:1000])
    assert len(ok) > 50_000
    # about 2 s on a free core; generous for a shared CI machine
    assert elapsed < 20.0, f"100,000 ZIP geocodes took {elapsed:.1f} s"
