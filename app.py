"""trialreach web app: `streamlit run app.py` (or `trialreach app`).

Five pages share one sidebar (site set, rule, engine, provenance, privacy):
coordinator (lodging check), lodging near a site, patient (nearest sites), trials near me
and planner (coverage).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # the pages import `appkit`, which sits next to this file
    sys.path.insert(0, str(APP_DIR))

# No page_icon: a Material favicon would be fetched from Google at every page load.
st.set_page_config(page_title="trialreach", layout="wide")

PAGES = [
    st.Page(
        str(APP_DIR / "pages" / "coordinator.py"),
        title="Coordinator: lodging check",
        url_path="coordinator",
        default=True,
    ),
    st.Page(
        str(APP_DIR / "pages" / "lodging.py"),
        title="Coordinator: find lodging",
        url_path="lodging",
    ),
    st.Page(
        str(APP_DIR / "pages" / "patient.py"),
        title="Patient: nearest sites",
        url_path="patient",
    ),
    st.Page(
        str(APP_DIR / "pages" / "trials.py"),
        title="Patient: trials near me",
        url_path="trials",
    ),
    st.Page(
        str(APP_DIR / "pages" / "planner.py"),
        title="Planner: coverage",
        url_path="planner",
    ),
]

from appkit.state import APP_RAN_KEY  # noqa: E402 (after the sys.path entry above)
from appkit.ui import unclipped_metrics  # noqa: E402

page = st.navigation(PAGES)
unclipped_metrics()  # first, on every page: no later element can displace it during a rerun
# appkit.state.leave_file_pages_mode reads this: the session has been through the navigation.
st.session_state[APP_RAN_KEY] = True
page.run()  # each page draws the shared sidebar (appkit.state.context)
