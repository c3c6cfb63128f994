"""Deep links on a freshly started server: the FIRST request of the server's life is a page's
own URL (``/lodging?site=...``, ``/patient``), not the root.

Streamlit decides once per process whether the app uses the old file-based ``pages/`` folder
(``PagesManager.uses_pages_directory``: true when a ``pages/`` folder sits next to the main
script) and clears that only when ``st.navigation`` runs. Until a session has run ``app.py``, a
deep link therefore ran ``pages/lodging.py`` alone under Streamlit's list of file names. Every
page leaves that mode in ``appkit.state.context`` and reruns through ``app.py`` (see
docs/app.md). Each test starts its own server so that nothing has opened the root before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .app_server import SLOW, running_app

# app.py's navigation titles, and the bare file names Streamlit's file-based list shows instead.
TITLES = [
    "Coordinator: lodging check",
    "Coordinator: find lodging",
    "Patient: nearest sites",
    "Patient: trials near me",
    "Planner: coverage",
]
FILE_NAMES = ["app", "coordinator", "lodging", "patient", "planner", "trials"]


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` started for this test alone; nothing has been requested yet."""
    with running_app(tmp_path / "streamlit.log") as url:
        yield url


def _assert_app_navigation(page: Page) -> None:
    """The sidebar lists app.py's page titles, not Streamlit's file names."""
    nav = page.get_by_test_id("stSidebarNav")
    for title in TITLES:
        expect(nav.get_by_text(title, exact=True)).to_be_visible(timeout=SLOW)
    links = [t.strip() for t in nav.locator("a").all_inner_texts()]
    assert links == TITLES, links
    assert not set(links) & set(FILE_NAMES), links


def test_lodging_link_first(page: Page, fresh_url: str, tmp_path: Path) -> None:
    """The coordinator page's link to the lodging of one site, opened first: the lodging page
    under app.py's navigation, with that site chosen."""
    page.goto(f"{fresh_url}/lodging?site=DEMO-JAMES")
    expect(page.get_by_role("heading", name="Lodging near a study site")).to_be_visible(
        timeout=SLOW
    )
    _assert_app_navigation(page)
    site = page.get_by_role("combobox", name="Study site")
    expect(site).to_have_value(re.compile(r"\(DEMO-JAMES\)$"), timeout=SLOW)
    assert page.url.endswith("/lodging?site=DEMO-JAMES"), page.url
    # The page came through app.py: its wide layout (set_page_config) holds.
    width = page.get_by_test_id("stMainBlockContainer").bounding_box()
    assert width is not None and width["width"] > 800, width
    page.screenshot(path=str(tmp_path / "deep-lodging.png"))


def test_patient_link_first(page: Page, fresh_url: str) -> None:
    page.goto(f"{fresh_url}/patient")
    expect(page.get_by_role("heading", name="Nearest study sites")).to_be_visible(timeout=SLOW)
    _assert_app_navigation(page)
    assert page.url.endswith("/patient"), page.url


def test_coordinator_link_first(page: Page, fresh_url: str) -> None:
    """The guard sits in appkit.state.context, which every page calls first: the coordinator
    page (the default one, under its own URL) is covered as well."""
    page.goto(f"{fresh_url}/coordinator")
    expect(page.get_by_role("heading", name="Lodging check")).to_be_visible(timeout=SLOW)
    _assert_app_navigation(page)
    # The default page: Streamlit's navigation shows it under the root URL.
    assert page.url.rstrip("/").endswith(("/coordinator", fresh_url.rstrip("/"))), page.url
