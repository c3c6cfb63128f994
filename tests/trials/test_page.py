"""AppTest: the "Trials near me" page against the stub, checked against the ranking itself."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.geocode import Geocoder
from geo.routing import get_router
from sites.trials import rank_trials, search_params
from sites.trials.search import TrialQuery

from .stub_trials import TrialsStub, matching

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
if str(ROOT) not in sys.path:  # `appkit` lives next to app.py
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def page(stub: TrialsStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TRIALREACH_ENGINE", "estimate")
    monkeypatch.setenv("TRIALREACH_MAP_TILES", "none")
    monkeypatch.setenv("TRIALREACH_CTGOV_URL", stub.base_url)
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRIALREACH_HTTP_RETRIES", "1")
    monkeypatch.setenv("TRIALREACH_HTTP_BACKOFF_S", "0.01")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/trials.py").run()
    assert not at.exception, at.exception
    return at


def _search(at: AppTest, place: str, condition: str) -> AppTest:
    at.text_input(key="trials_place").set_value(place)
    at.text_input(key="trials_condition").set_value(condition)
    at.button(key="trials_search").click().run()
    assert not at.exception, at.exception
    return at


def test_page_lists_trials_ranked_with_a_map(page: AppTest, stub: TrialsStub) -> None:
    at = _search(page, "55902", "lupus")
    (frame,) = [d.value for d in at.dataframe if "record" in d.value.columns]
    point = Geocoder().geocode("55902").point
    expected = rank_trials(
        matching(search_params(TrialQuery(condition="lupus"), point)),
        point,
        get_router("estimate"),
        place_precision="zip",
    ).studies
    assert list(frame["study"]) == list(expected["nct_id"])
    assert list(frame["answer"]) == list(expected["verdict"])
    # Whole minutes as text; a study with no drive time reads "—", never "None" or 0.
    drive = expected["drive_min"].to_numpy(dtype=float)
    assert list(frame["drive (min)"]) == [f"{m:.0f}" if pd.notna(m) else "—" for m in drive]
    assert frame["drive (min)"].iloc[-1] == "—" and frame["answer"].iloc[-1] == "unknown"
    assert frame["nearest site"].iloc[-1] == "—" and frame["city"].iloc[-1] == ""
    assert frame["record"].iloc[0] == "https://clinicaltrials.gov/study/NCT07085104"
    text = " ".join(m.value for m in at.markdown)
    assert "7** studies found, **5** with a site within the limit" in text
    # A borderline study is counted among the five, and said to be only borderline.
    n_border = int((expected["verdict"] == "borderline").sum())
    assert n_border > 0
    assert f"(**{n_border}** of them only borderline: check those)" in text
    captions = " ".join(c.value for c in at.caption)
    assert "never your address or your exact location" in captions
    assert "not your place" in captions
    # What left the machine: the coarse point only.
    assert stub.searches and stub.searches[0]["filter.geo"] == "distance(44.05,-92.45,176mi)"
    # The map: the place, the sites coloured by answer (names escaped), an area per near site.
    (comp,) = at.get("component_instance")
    args = json.loads(comp.proto.json_args)
    script = args["script"]
    assert "You: 55902" in script
    tooltips = re.findall(r"bindTooltip\(\s*`<div>\s*(.*?)\s*</div>`", script, re.S)
    areas = [t for t in tooltips if t.startswith("Within 2 hours by car of")]
    assert len(areas) == 3  # the three nearest sites
    assert "Within 2 hours by car of Mayo Clinic (estimate — approximate area)" in areas
    pins = [t for t in tooltips if t not in areas and not t.startswith("You:")]
    # One pin per open site (14 with a registry point, 2 placed at their ZIP centroid), names
    # escaped.
    assert len(pins) == 16 and "Mayo Clinic" in pins and "Sanford Health" in pins
    assert "=HYPERLINK(&quot;http://example.invalid&quot;,&quot;Click&quot;)" in pins
    assert script.count("L.marker(") == 16
    assert not any(src.startswith("http") for src in args["js_links"])
    assert at.get("download_button")


def test_page_names_a_failing_service(page: AppTest) -> None:
    at = _search(page, "55902", "down")
    assert at.error
    message = at.error[0].value
    assert message.startswith("The search did not work") and "ClinicalTrials.gov" in message
    # No "Results appear here" promise under the failure.
    assert not [i.value for i in at.info if "Results appear here" in i.value]


def test_page_asks_for_a_condition_first(page: AppTest, stub: TrialsStub) -> None:
    at = _search(page, "55902", "")
    assert at.warning and "condition" in at.warning[0].value
    assert stub.searches == []
