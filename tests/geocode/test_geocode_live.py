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
