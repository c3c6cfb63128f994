"""Test-wide setup: isolated cache, offline geocoding, no user settings leaking in.

Every run gets a fresh cache folder, forced over any ``TRIALREACH_CACHE_DIR`` the developer has
exported (tests never read or write the user's cache), and removed when the run ends. To keep
one cache across runs on purpose (a built road graph saves minutes), set
``TRIALREACH_TEST_CACHE_DIR``: that folder is used and kept.

Every other ``TRIALREACH_*`` and ``ORS_*`` setting from the environment is dropped, so a
developer's configuration cannot change what a test sees.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

# Nothing of hypothesis in the work tree (no .hypothesis/ example database or caches): its home
# is a temporary folder of this run, removed at the end.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="trialreach-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
hypothesis_settings.register_profile("trialreach", database=None)
hypothesis_settings.load_profile("trialreach")

KEEP = {
    "TRIALREACH_LIVE_TESTS",
    "TRIALREACH_TEST_CACHE_DIR",
    "TRIALREACH_SCREENSHOT_DIR",
    "TRIALREACH_TEST_REPORT",
}
"""Variables meant for the test run itself, not settings of the product."""

_OWN_CACHE: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _OWN_CACHE
    live = bool(os.environ.get("TRIALREACH_LIVE_TESTS"))
    for name in list(os.environ):
        if name.startswith(("TRIALREACH_", "ORS_")) and name not in KEEP:
            if live and name == "ORS_API_KEY":
                continue
            del os.environ[name]
    chosen = os.environ.get("TRIALREACH_TEST_CACHE_DIR")
    if chosen:
        os.environ["TRIALREACH_CACHE_DIR"] = chosen
    else:
        _OWN_CACHE = tempfile.mkdtemp(prefix="trialreach-test-cache-")
        os.environ["TRIALREACH_CACHE_DIR"] = _OWN_CACHE
    os.environ["TRIALREACH_GEOCODER"] = "offline"


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_HYPOTHESIS_HOME, ignore_errors=True)
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
