"""The geocoder choices offered to users: every geocoder, each with its privacy consequence."""

from __future__ import annotations

import pytest

from geo.geocode import GEOCODER_CHOICES, GEOCODERS, Geocoder, geocoder_choice, geocoder_choices
from geo.settings import Settings


def test_every_geocoder_is_a_choice_and_offline_comes_first() -> None:
    assert tuple(c.key for c in GEOCODER_CHOICES) == GEOCODERS
    assert GEOCODER_CHOICES[0].key == Settings().geocoder == "offline"


def test_each_choice_says_where_the_text_goes_in_one_line() -> None:
    for choice in GEOCODER_CHOICES:
        assert choice.privacy and "\n" not in choice.privacy
        assert choice.finds and choice.label
    assert geocoder_choice("offline").privacy == "Nothing leaves this computer."
    assert "U.S. Census Bureau" in geocoder_choice("census").privacy
    assert "sent over the internet" in geocoder_choice("ors").privacy


def test_each_choice_makes_a_geocoder_of_that_mode() -> None:
    for choice in geocoder_choices(Settings()):
        assert Geocoder(Settings(geocoder=choice.key)).mode == choice.key


def test_openrouteservice_is_offered_only_when_configured() -> None:
    assert [c.key for c in geocoder_choices(Settings(ors_api_key=""))] == ["offline", "census"]
    keyed = geocoder_choices(Settings(ors_api_key="a-key"))
    assert [c.key for c in keyed] == ["offline", "census", "ors"]
    assert geocoder_choice("ors").needs


def test_an_unknown_choice_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        geocoder_choice("google")
    assert geocoder_choice(" Census ").key == "census"


def test_the_front_door_offers_the_same_choices() -> None:
    from trialreach.api import geocoder_choices as front_door

    assert front_door(Settings()) == geocoder_choices(Settings())
    assert front_door(Settings(ors_api_key="a-key"))[-1].key == "ors"
