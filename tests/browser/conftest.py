"""Real-browser fixtures: the app under `streamlit run`, driven by Playwright + Debian chromium.

Chromium comes from Debian (`apt-get install chromium`, done by `.ci/run`), never from
`playwright install`. Without it the browser tests skip — except under ``CI=true``, where a
missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .app_server import running_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [i for i in items if Path(str(i.fspath)).is_relative_to(here)]
    for item in ours:
        item.add_marker(pytest.mark.browser)
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        return  # the fixture below fails them: CI must have a browser
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=f"no chromium at {CHROMIUM}"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"CI=true but no chromium at {CHROMIUM}: install it (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` for the whole session (see :func:`running_app`)."""
    with running_app(tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
        yield url
