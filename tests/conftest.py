"""Test-wide setup: isolated cache, offline geocoding, no user settings leaking in."""

from __future__ import annotations

import os
import tempfile

import pytest

_CACHE = tempfile.mkdtemp(prefix="trialreach-test-cache-")


def pytest_configure(config: pytest.Config) -> None:
    # Each run gets its own cache so tests never depend on, or write to, the user's cache.
    os.environ.setdefault("TRIALREACH_CACHE_DIR", _CACHE)
    os.environ["TRIALREACH_GEOCODER"] = "offline"
    os.environ.pop("TRIALREACH_ENGINE", None)
    os.environ.pop("ORS_BASE_URL", None)
    if not os.environ.get("TRIALREACH_LIVE_TESTS"):
        os.environ.pop("ORS_API_KEY", None)
