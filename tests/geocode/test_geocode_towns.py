"""Town names offline (#13): state given or inferred, ambiguity reported with the candidates.

References are independent of :mod:`geo.geocode.towns`: the ``zipcodes`` package read directly,
hand-checked gazetteer values, and a distance to a known landmark.
"""

from __future__ import annotations

import csv

import pytest
import zipcodes
from geocode_stub import StubGeocoder, km_between

from geo.errors import GeocodeError
from geo.geocode import CITY_SOURCE, PLACE_SOURCE, Geocoder, city_centroid, zip_centroid
from geo.geocode.gazetteer import city_key
from geo.settings import Settings
from geo.types import LonLat, Precision

HERSHEY_MEDICAL_CENTER = (-76.6740, 40.2643)  # Penn State Health Milton S. Hershey Medical Center


@pytest.fixture(scope="module")
def offline() -> Geocoder:
    return Geocoder(Settings(geocoder="offline"))


@pytest.mark.parametrize(
    "text", ["Hershey PA", "Hershey, PA", "Hershey, Pennsylvania", "hershey pa, USA"]
)
def test_town_with_its_state(offline: Geocoder, text: str) -> None:
    result = offline.geocode(text)
    assert result.precision is Precision.CITY
    assert result.source == CITY_SOURCE
    assert result.matched == "Hershey, PA"
    # Hershey has one ZIP code, 17033: its gazetteer centroid (checked by hand in zipcodes)
    assert result.point == LonLat(-76.6545, 40.2638)
    assert km_between(result.point.as_tuple(), HERSHEY_MEDICAL_CENTER) < 5.0
    assert result.note.startswith("city centroid of Hershey, PA")
    assert result.is_approximate


@pytest.mark.parametrize("text", ["Saint Paul MN", "St. Paul, MN", "ST PAUL, Minnesota"])
def test_saint_and_st_are_one_town(offline: Geocoder, text: str) -> None:
    assert offline.geocode(text).point == city_centroid("Saint Paul", "MN").point


def test_a_name_in_one_state_resolves_with_the_state_inferred_and_said(offline: Geocoder) -> None:
    result = offline.geocode("Hummelstown")
    assert result.precision is Precision.CITY
    assert result.matched == "Hummelstown, PA"
    assert result.point == zip_centroid("17036").point  # Hummelstown's only ZIP code
    assert "state inferred: the only Hummelstown in the gazetteer" in result.note
    # Said beside the Location line (app card, CLI, record) whole, brackets and all.
    assert result.location_lines() == [
        "Location: city centroid (Hummelstown, PA): could be off by 10 km or more; check the "
        "exact address",
        "",
        "Note: state inferred: the only Hummelstown in the gazetteer",
    ]


def test_an_address_ending_in_a_one_state_town_is_located_there(offline: Geocoder) -> None:
    result = offline.geocode("100 Main St, Hummelstown")
    assert result.matched == "Hummelstown, PA"
    assert "state inferred" in result.note


def _states_named(name: str) -> set[str]:
    """States with a located ZIP code whose city (or an acceptable name of it) is ``name``, or
    with a place of that name in the shipped GeoNames file, both read directly."""
    key = city_key(name)
    states = set()
    for row in zipcodes.filter_by():
        names = [row["city"], *(row.get("acceptable_cities") or ())]
        if row["lat"] and float(row["lat"]) != 0.0 and key in {city_key(n) for n in names}:
            states.add(row["state"])
    with (Settings().data_dir / "places" / "us_places_geonames.csv").open(encoding="utf-8") as fh:
        states |= {row["state"] for row in csv.DictReader(fh) if city_key(row["name"]) == key}
    return states


def test_a_name_in_several_states_is_ambiguous_never_a_silent_pick(offline: Geocoder) -> None:
    expected = _states_named("Springfield")
    assert len(expected) > 20  # the reference itself is no trivial set
    with pytest.raises(GeocodeError) as info:
        offline.geocode("Springfield")
    message = str(info.value)
    assert message.startswith(f"Springfield: {len(expected)} places in different states")
    assert len(expected) == 27  # 25 states by the ZIP table, 2 more by GeoNames (checked by hand)
    assert "add the state, e.g. 'Springfield, " in message
    assert f"and {len(expected) - 6} more" in message


def test_namesakes_are_listed_most_populous_first(offline: Geocoder) -> None:
    # 2020 ZCTA population: 17033 (Hershey, PA) 17,009; 69143 (Hershey, NE) 1,675
    assert _states_named("Hershey") == {"PA", "NE"}
    with pytest.raises(GeocodeError) as info:
        offline.geocode("Hershey")
    assert str(info.value) == (
        "Hershey: 2 places in different states — add the state, e.g. 'Hershey, PA' "
        "(Hershey, PA; Hershey, NE)"
    )


def test_a_bare_rochester_is_ambiguous(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError, match=r"^Rochester: \d+ places .* e\.g\. 'Rochester, NY'"):
        offline.geocode("Rochester")


def test_an_address_ending_in_an_ambiguous_town_is_refused(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError, match=r"^Hershey: 2 places"):
        offline.geocode("100 Chocolate Ave, Hershey")


def test_a_state_name_alone_is_no_place(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError) as info:
        offline.geocode("Indiana")
    assert "Indiana is a U.S. state or territory" in str(info.value)
    assert "for the town say 'Indiana, PA'" in str(info.value)


def test_the_district_is_washington(offline: Geocoder) -> None:
    assert offline.geocode("Washington DC").point == city_centroid("Washington", "DC").point
    assert offline.geocode("DC").matched == "Washington, DC"


def test_a_town_in_the_wrong_state_names_where_it_is(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError) as info:
        offline.geocode("Hershey, TX")
    assert str(info.value).startswith("no place called Hershey in Texas")
    assert "Hershey, PA; Hershey, NE" in str(info.value)


def test_misspelt_town_is_not_guessed(offline: Geocoder) -> None:
    with pytest.raises(GeocodeError, match="could not locate this text offline"):
        offline.geocode("Hersheyy")


def test_town_names_never_go_online(stub: StubGeocoder, census_settings: Settings) -> None:
    g = Geocoder(census_settings)
    assert g.geocode("Hershey PA").precision is Precision.CITY
    assert g.geocode("Hershey PA").note.startswith("city centroid")  # no "found no match"
    with pytest.raises(GeocodeError, match=r"^Springfield: "):
        g.geocode("Springfield")
    assert stub.requests == []


def test_a_place_without_a_postal_name_comes_from_geonames(offline: Geocoder) -> None:
    # Paradise, NV (223,167 people, GeoNames 5509952) has no ZIP code named after it
    assert zipcodes.filter_by(city="Paradise", state="NV") == []
    result = offline.geocode("Paradise, NV")
    assert (result.precision, result.source) == (Precision.CITY, PLACE_SOURCE)
    assert result.point == LonLat(-115.14666, 36.09719)  # GeoNames' point, to 5 decimals
    assert result.note == (
        "place point of Paradise, NV (GeoNames; no ZIP code of its own) — check the exact address"
    )
    # 8 km from the ZIP centroid of 89109, the Las Vegas Strip, which lies in Paradise
    assert km_between(result.point.as_tuple(), zip_centroid("89109").point.as_tuple()) < 8.0
    assert offline.geocode("100 Main St, Paradise, NV").point == result.point


def test_a_postal_name_wins_over_a_geonames_namesake(offline: Geocoder) -> None:
    # every ZIP-table city keeps its ZIP-centroid answer: Hershey, PA is not a GeoNames point
    assert offline.geocode("Hershey, PA").source == CITY_SOURCE
    with (Settings().data_dir / "places" / "us_places_geonames.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) > 3000
    assert not any((r["name"], r["state"]) == ("Hershey", "PA") for r in rows)
