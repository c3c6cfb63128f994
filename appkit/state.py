"""The context every page starts from: the shared sidebar drawn, what it selected returned.

The sidebar lives in :mod:`appkit.sidebar`, the context type in :mod:`appkit.app_context`, the
cached resources in :mod:`appkit.caches` (re-exported here for the pages).
"""

from __future__ import annotations

import streamlit as st

from appkit.app_context import AppContext
from appkit.caches import (
    boundaries_for_map,
    cached_basemap,
    cached_boundaries,
    cached_geocoder,
    cached_isochrones,
    cached_route,
    cached_router,
    cached_site_set,
    covered_area,
)
from appkit.sidebar import render_sidebar, restore_sidebar


def context(page: str) -> AppContext:
    """Draw the shared sidebar and return what it selected (each page calls this first).

    The sidebar is drawn by the page rather than by ``app.py`` so that its widgets belong to the
    page's run; :func:`restore_sidebar` carries the choices across page switches.
    """
    leave_file_pages_mode()
    restore_sidebar(page)
    return render_sidebar()


APP_RAN_KEY = "_app_ran"
"""Session key app.py sets once its navigation has run in the session."""


def leave_file_pages_mode() -> None:
    """Send a deep link opened as a fresh server's first request through app.py.

    Streamlit runs a page of the ``pages/`` folder on its own (its file-based list, app.py not
    run) until ``st.navigation`` has run once in the process. Leave that mode as
    ``st.navigation`` would and rerun: the rerun goes through app.py to the same page (see
    docs/app.md). Only before app.py has run in this session: a rerun drops the click that
    started this run.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and APP_RAN_KEY not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()


__all__ = [
    "APP_RAN_KEY",
    "AppContext",
    "boundaries_for_map",
    "cached_basemap",
    "cached_boundaries",
    "cached_geocoder",
    "cached_isochrones",
    "cached_route",
    "cached_router",
    "cached_site_set",
    "context",
    "covered_area",
    "leave_file_pages_mode",
    "render_sidebar",
    "restore_sidebar",
]
