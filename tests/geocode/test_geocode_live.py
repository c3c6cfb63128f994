"""The real U.S. Census Geocoder (network). Skipped by default: run with ``-m live``."""

from __future__ import annotations

import pytest
from geocode_stub import MAYO_ROCHESTER, km_between

from geo.geocode import Geocoder
from geo.settings import Settings
from geo.types import Precision


@pytest.mark.live
def test_census_geocoder_finds_mayo_clinic() -> None:
    g = Geocoder(Settings(geocoder="census", http_retries=1))
    result = g.geocode("200 First St SW, Rochester, MN 55905")
    assert result.precision is Precision.ADDRESS, result.note
    assert "ROCHESTER" in result.matched.upper()
    assert km_between(result.point.as_tuple(), MAYO_ROCHESTER) < 1.0


@pytest.mark.live
def test_census_batch_endpoint_answers_a_small_batch() -> None:
    """Two addresses in one request to the real batch endpoint: Mayo Clinic, and no such street."""
    g = Geocoder(Settings(geocoder="census", http_retries=1))
    mayo, nowhere = g.geocode_many(
        ["200 First St SW, Rochester, MN 55905", "1 Qqqzzz Xyzzy Road, Rochester, MN 55902"]
    )
    assert not isinstance(mayo, Exception) and mayo.precision is Precision.ADDRESS, mayo
    assert km_between(mayo.point.as_tuple(), MAYO_ROCHESTER) < 1.0
    assert not isinstance(nowhere, Exception)
    assert nowhere.precision is Precision.ZIP
    assert nowhere.note.startswith("U.S. Census Geocoder found no match; ZIP centroid of 55902")
