"""AppTest fixtures: the app in-process, estimate engine unless a test asks for another."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
if str(ROOT) not in sys.path:  # `appkit` lives next to app.py
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Start the app (first run done) with settings from the given environment values."""

    def start(engine: str = "estimate", tiles: str = "none") -> AppTest:
        monkeypatch.setenv("TRIALREACH_ENGINE", engine)
        monkeypatch.setenv("TRIALREACH_MAP_TILES", tiles)
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        return at

    return start
