"""Addresses never reach the logs, at any level, from our code or from the HTTP libraries."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pytest
from geocode_stub import (
    CENSUS_NO_MATCH,
    Reply,
    StubGeocoder,
    census_batch_answer,
    census_match,
)

from geo.errors import GeocodeError
from geo.geocode import Geocoder
from geo.settings import Settings
from geo.types import GeocodeResult, Precision

CENSUS_PATH = "/geocoder/locations/onelineaddress"
BATCH_PATH = "/geocoder/locations/addressbatch"
SECRET_STREET = "4217 Quillfeather Lane"


def _forms(text: str) -> list[str]:
    return [text, quote(text), quote_plus(text), "Quillfeather"]


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_address_text_never_logged(
    stub: StubGeocoder, census_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root: our loggers and urllib3's
    texts = [
        f"{SECRET_STREET}, Rochester, MN 55902",  # matched
        f"{SECRET_STREET}, Hershey PA",  # no match -> city centroid
        f"{SECRET_STREET}, Springfield",  # no match, nothing offline -> error
    ]
    stub.script(
        CENSUS_PATH,
        Reply(200, census_match(-92.4, 44.0, "4217 QUILLFEATHER LN, ROCHESTER, MN, 55902")),
        Reply(200, CENSUS_NO_MATCH),
    )
    g = Geocoder(census_settings)
    results: list[GeocodeResult | GeocodeError] = []
    for text in texts:  # one at a time: the one-line endpoint
        try:
            results.append(g.geocode(text))
        except GeocodeError as exc:
            results.append(exc)
    assert isinstance(results[2], GeocodeError)
    # many at a time: the batch endpoint, the addresses in a file (one request)
    matched = (-92.4, 44.0, "4217 QUILLFEATHER LN, ROCHESTER, MN, 55902")
    stub.script(
        BATCH_PATH,
        Reply(200, census_batch_answer({f"{SECRET_STREET}, Rochester, MN, 55902": matched})),
    )
    batch = Geocoder(census_settings).geocode_many(texts)
    assert [getattr(r, "precision", None) for r in batch] == [
        Precision.ADDRESS,
        Precision.CITY,
        None,
    ]
    assert len(stub.calls(BATCH_PATH)) == 1
    # then the service times out (warning path)
    stub.script(CENSUS_PATH, Reply(200, CENSUS_NO_MATCH, delay_s=1.0))
    g2 = Geocoder(census_settings.with_(http_timeout_s=0.2, http_retries=0))
    assert "unavailable" in g2.geocode(f"{SECRET_STREET}, Rochester MN 55905").note

    logged = _logged(caplog)
    # The test would pass vacuously if nothing logged: urllib3 did log the requests (redacted),
    # and our module logged its counts.
    assert "/geocoder/locations/onelineaddress" in logged
    assert "/geocoder/locations/addressbatch" in logged
    assert "geocoded 3 addresses: 1 address, 1 city, 1 failed" in logged
    assert "geocoded 1 address, precision address" in logged
    assert "geocoded 1 address, precision city" in logged
    assert "unavailable" in logged
    for text in texts:
        for form in _forms(text):
            assert form not in logged
    assert "Quillfeather" not in str(results[2])  # nor in error messages
    assert "Quillfeather" not in str(batch[2])


def test_offline_logs_only_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text = f"{SECRET_STREET}, Rochester MN 55902"
    g = Geocoder(Settings(geocoder="offline"))
    g.geocode(text)
    g.geocode_many([text, ""])
    logged = _logged(caplog)
    assert "geocoded 1 address, precision zip" in logged
    assert "geocoded 2 addresses: 1 failed, 1 zip" in logged
    for form in _forms(text):
        assert form not in logged


def test_service_error_body_is_not_repeated(
    stub: StubGeocoder, census_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A service may echo the query in an error body; that body stays out of notes and logs."""
    caplog.set_level(logging.DEBUG)
    text = f"{SECRET_STREET}, Rochester MN 55902"
    stub.script(CENSUS_PATH, Reply(400, {"errors": [f"Invalid address: {text}"], "status": "400"}))
    result = Geocoder(census_settings).geocode(text)
    assert result.note.startswith("U.S. Census Geocoder unavailable (answered HTTP 400); ZIP")
    assert "Quillfeather" not in _logged(caplog)
