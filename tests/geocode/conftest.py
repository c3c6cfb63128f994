"""Fixtures for the geocoding tests: a stub online geocoder and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from geocode_stub import StubGeocoder, start_stub

from geo.settings import Settings


@pytest.fixture
def stub() -> Iterator[StubGeocoder]:
    """A running stub geocoder on 127.0.0.1 (random port)."""
    state, server = start_stub()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def census_settings(stub: StubGeocoder) -> Settings:
    """Settings that send addresses to the stub Census Geocoder, with fast retries."""
    return Settings(
        geocoder="census",
        census_base_url=stub.url + "/geocoder",
        http_timeout_s=0.5,
        http_retries=2,
        http_backoff_s=0.01,
    )


@pytest.fixture
def ors_settings(stub: StubGeocoder) -> Settings:
    """Settings that send addresses to the stub openrouteservice geocoder."""
    return Settings(
        geocoder="ors",
        ors_api_key="test-key",
        ors_base_url=stub.url + "/ors",
        http_timeout_s=0.5,
        http_retries=1,
        http_backoff_s=0.01,
    )
