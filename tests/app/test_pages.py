"""AppTest: every page driven like a user would, with the answers checked against geo itself."""

from __future__ import annotations

import html
import io
import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.geocode import Geocoder
from geo.proximity import rank_sites
from geo.routing import get_router
from geo.rules import get_rule
from sites import load_site_set


def _card(at: AppTest) -> str:
    cards = [m.value for m in at.markdown if 'data-testid="verdict-card"' in m.value]
    assert len(cards) == 1, [m.value[:80] for m in at.markdown]
    return cards[0]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The one st.dataframe on the page that has ``column``."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def _check(at: AppTest, address: str) -> AppTest:
    at.text_input(key="address").set_value(address)
    at.button(key="check").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_coordinator_card_says_the_zip_caveat_once(app) -> None:
    # 55010 (Castle Rock, MN) is an estimated 82 min from Mayo: within for an exact point, but
    # the ZIP centroid's 10 min could eat the spare the estimate's margin needs: borderline.
    at = _check(app(), "55010")
    card = _card(at)
    assert "BORDERLINE" in card
    lines = re.findall(r"<li>(.*?)</li>", card)
    why = "Why: the place is a ZIP centroid; the exact locations could change the drive by"
    assert why in card
    # Said once: the Location line names the centroid and the caveat; no "Note: ZIP centroid
    # of 55010" line, no second "check the exact address" in the reason.
    assert card.count("check the exact address") == 1
    (location,) = [line for line in lines if line.startswith("Location:")]
    assert location == (
        "Location: ZIP code centroid (55010 Castle Rock, MN): could be off by several km; "
        "check the exact address"
    )
    assert not [line for line in lines if line.startswith(("Note:", "Found as:"))], lines
    assert sum("centroid" in line for line in lines) == 2  # why it is borderline; what it is


def test_coordinator_check_within(app) -> None:
    at = _check(app(), "55902")  # Rochester MN ZIP; the RESOLUTION site is Mayo Clinic there
    card = _card(at)
    assert "WITHIN THE RULE" in card
    assert "Mayo Clinic (Rochester)" in card
    assert "ZIP code centroid (55902 Rochester, MN): could be off by several km" in card
    metrics = _metrics(at)
    assert metrics["Nearest site"] == "Mayo Clinic (Rochester)"
    assert metrics["Location precision"] == "zip"
    # This app fixture runs the estimate: the card and the metric say so, not just the engine.
    assert 'data-testid="estimate-badge"' in card and "ESTIMATE" in card
    # The engine that answered is named once, at the end of the headline ("· estimate ..."),
    # not again in an "Answered by" line.
    answered = rank_sites(
        Geocoder().geocode("55902").point,
        load_site_set("resolution"),
        get_router("estimate"),
        get_rule("resolution"),
    ).iloc[0]["engine"]
    assert answered and f"to spare · {html.escape(answered)}</div>" in card, card
    assert "Answered by" not in card
    drive = metrics["Drive time (ESTIMATE)"]
    assert drive.endswith("min") and "h" not in drive
    # The map component got the site and the lodging (escaped) in its script.
    (comp,) = at.get("component_instance")
    script = json.loads(comp.proto.json_args)["script"]
    assert "Mayo Clinic (Rochester)" in script
    assert "Lodging: 55902" in script
    assert not any(src.startswith("http") for src in json.loads(comp.proto.json_args)["js_links"])
    # A printable record is offered.
    assert at.get("download_button")


def test_coordinator_unknown_says_its_reason_once(app) -> None:
    """A place off the demo graph's roads (Cleveland): the headline is the reason; no "Why"
    line repeats it, and the engine is named in its own line (the headline has none)."""
    at = app(engine="osrm")
    at.sidebar.selectbox(key="site_set").set_value("demo").run()
    card = _card(_check(at, "41.5, -81.7"))
    assert "UNKNOWN — outside the road data of graph" in card
    assert card.count("outside the road data") == 1, card
    lines = re.findall(r"<li>(.*?)</li>", card)
    assert not [line for line in lines if line.startswith("Why:")], lines
    assert len([line for line in lines if line.startswith("Answered by: ")]) == 1, lines


def test_coordinator_outside_with_specific_numbers(app) -> None:
    at = _check(app(), "43215")  # Columbus OH: far from Rochester MN
    assert "OUTSIDE THE RULE" in _card(at)
    metrics = _metrics(at)
    expected = rank_sites(
        Geocoder().geocode("43215").point,
        load_site_set("resolution"),
        get_router("estimate"),
        get_rule("resolution"),
    ).iloc[0]
    hours = int(round(expected["drive_min"]) // 60)
    assert metrics["Drive time (ESTIMATE)"].startswith(f"{hours} h")
    assert "Over the limit by" in metrics


def test_coordinator_unlocatable_address_says_so(app) -> None:
    at = _check(app(), "00000")
    assert at.error, "an unknown ZIP must give an error"
    assert at.error[0].value.startswith("Could not locate that place")
    assert not [m for m in at.markdown if "verdict-card" in m.value]


def test_switching_rule_changes_the_answer(app) -> None:
    at = _check(app(), "44.9778, -93.2650")  # Minneapolis: ~1.5 h from Rochester by estimate
    first = _card(at)
    assert "WITHIN THE RULE" in first or "BORDERLINE" in first
    at.sidebar.selectbox(key="rule_preset").set_value("custom").run()
    at.sidebar.number_input(key="rule_minutes").set_value(60).run()
    assert not at.exception
    assert "OUTSIDE THE RULE" in _card(at)
    assert "Over the limit by" in _metrics(at)


def test_switching_site_set_and_engine_changes_the_answer(app) -> None:
    at = app()
    at.sidebar.selectbox(key="site_set").set_value("demo").run()
    _check(at, "39.99, -83.00")  # Columbus, next to the OSU James
    card = _card(at)
    assert "OSU Arthur G. James Cancer Hospital" in card
    assert "estimate" in card.lower()
    assert at.sidebar.warning  # estimate is labelled approximate in the sidebar
    options = at.sidebar.selectbox(key="engine").options
    assert any("Valhalla" in o for o in options)


@pytest.mark.engine
def test_local_engine_gives_routed_answer_on_demo(app) -> None:
    at = app(engine="auto")  # the app's default: local graphs where they cover, else estimate
    assert at.sidebar.selectbox(key="engine").value == "auto"
    assert at.sidebar.selectbox(key="site_set").value == "demo"
    _check(at, "39.99, -83.00")
    card = _card(at)
    # The demo graph has OSRM data: auto answers with OSRM, the verdict engine (docs/engine.md).
    assert "osrm" in card and "OSM extract demo" in card
    assert "WITHIN THE RULE" in card
    assert 'data-testid="estimate-badge"' not in card  # routed: no estimate badge
    drive = _metrics(at)
    label = next(k for k in drive if k.startswith("Drive time"))
    assert "ESTIMATE" not in label
    assert drive[label].endswith("min") and "h" not in drive[label]
    at.sidebar.selectbox(key="engine").set_value("estimate").run()
    assert "estimate" in _card(at)
    # Far from the demo roads, the automatic engine answers with the estimate, and says so.
    at.sidebar.selectbox(key="engine").set_value("auto").run()
    _check(at, "44.0225, -92.4668")
    assert "estimate" in _card(at)
    assert 'data-testid="estimate-badge"' in _card(at)  # auto fell back: the badge says so
    at.sidebar.selectbox(key="engine").set_value("valhalla:demo").run()
    _check(at, "39.99, -83.00")
    assert "valhalla" in _card(at)
    # A place the chosen graph has no roads for: the app says so, as the CLI and the API do.
    _check(at, "44.0225, -92.4668")
    card = _card(at)
    assert "UNKNOWN" in card and "outside the road data of graph &#x27;demo&#x27;" in card
    assert "road data ends near here" not in card


BATCH = """name,address,lat,lon
Hampton Inn,"Rochester, MN 55902",,
By coordinates,,44.0225,-92.4668
Nothing,,,
Bad number,,forty,-92.4
Unknown zip,00000,,
Swapped,,-92.4668,44.0225
Columbus,43215,,
"""


def test_batch_upload_keeps_every_row_with_a_message(app) -> None:
    at = app()
    at.file_uploader(key="batch_file").upload("lodgings.csv", BATCH.encode(), "text/csv").run()
    assert not at.exception, at.exception
    table = _frame(at, "message")
    assert len(table) == 7
    assert list(table["row"]) == [1, 2, 3, 4, 5, 6, 7]
    verdict = dict(zip(table["row"], table["verdict"], strict=True))
    message = dict(zip(table["row"], table["message"], strict=True))
    assert verdict[1] in ("within", "borderline") and verdict[2] == "within"
    assert verdict[7] == "outside"
    for row in (3, 4, 5, 6):
        assert verdict[row] == "unknown"
    assert "empty" in message[3]
    assert "'forty' is not a number" in message[4]
    assert "00000" in message[5]
    assert "swapped" in message[6]
    # No drive time: the cell says "—" (Streamlit would print "None" for a missing number).
    for row in (3, 4, 5, 6):
        assert table.loc[table["row"] == row, ["drive_min", "spare_min"]].values.tolist() == [
            ["—", "—"]
        ]
        assert table.loc[table["row"] == row, "answer"].item() == "—"
    assert not table.isna().any().any()
    drive = dict(zip(table["row"], table["drive_min"], strict=True))
    assert drive[7] == str(round(float(drive[7])))  # whole minutes, as text
    warning = "\n".join(w.value for w in at.warning)
    assert "4 row(s) without a verdict" in warning
    keys = {b.key for b in at.get("download_button")}
    assert {"dl_csv", "dl_geojson"} <= keys
    # Every located row is answered by the estimate here, and marked so in its own column.
    answer = dict(zip(table["row"], table["answer"], strict=True))
    assert all(answer[r] == "ESTIMATE · not routed" for r in (1, 2, 7))
    assert "3 row(s) are answered by the estimate" in warning
    # The located rows are on a map (one component: no single-check map on this run).
    (comp,) = at.get("component_instance")
    script = json.loads(comp.proto.json_args)["script"]
    assert "Row 2: 44.02250, -92.46680" in script and "(ESTIMATE)" in script
    # The verdict filter narrows the table and the map.
    at.multiselect(key="batch_filter").set_value(["outside"]).run()
    narrowed = _frame(at, "message")
    assert list(narrowed["row"]) == [7]
    (comp,) = at.get("component_instance")
    script = json.loads(comp.proto.json_args)["script"]
    assert "Row 7: 43215" in script and "Row 2: " not in script


def test_batch_unreadable_file_is_an_error(app) -> None:
    at = app()
    at.file_uploader(key="batch_file").upload("empty.csv", b"", "text/csv").run()
    assert at.error and "cannot be checked" in at.error[0].value


def test_patient_page_ranks_sites(app) -> None:
    at = app()
    at.sidebar.selectbox(key="site_set").set_value("nci-centers").run()
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    at.text_input(key="place").set_value("55902")
    at.button(key="find").click().run()
    assert not at.exception, at.exception
    table = _frame(at, "Road distance (km)")
    assert table["Drive (min)"].is_monotonic_increasing
    assert "Mayo Clinic" in table["Site"].iloc[0]
    assert table["Answer"].iloc[0] in ("Within the rule", "Borderline")
    assert table["Answer"].iloc[-1] == "Outside the rule"
    assert (table["Routed or estimate"] == "ESTIMATE · not routed").all()  # estimate fixture
    # The nearest site's time is the engine's own drive from the ZIP centroid (through
    # api.rank_sites, not a copy on the page).
    sites = load_site_set("nci-centers")
    mayo = sites[sites["name"] == table["Site"].iloc[0]].geometry.iloc[0]
    zip_point = Geocoder().geocode("55902").point
    expected_s = get_router("estimate").drive_times([zip_point], [(mayo.x, mayo.y)]).duration_s
    assert table["Drive (min)"].iloc[0] == pytest.approx(expected_s[0, 0] / 60.0, abs=0.051)
    chips = [m.value for m in at.markdown if "-badge[" in m.value]
    assert chips[0].startswith(":green-badge[Within the rule]") or "orange-badge" in chips[0]
    assert "Mayo Clinic" in chips[0]
    assert at.success and "Mayo Clinic" in at.success[0].value


def test_patient_page_borderline_is_not_a_yes(app) -> None:
    # 55010: borderline for the coordinator (test_coordinator_card_says_the_zip_caveat_once);
    # the patient is told it is close to the limit, not shown a green "yes".
    at = app()
    at.switch_page("pages/patient.py").run()
    at.text_input(key="place").set_value("55010")
    at.button(key="find").click().run()
    assert not at.exception, at.exception
    table = _frame(at, "Road distance (km)")
    assert table["Answer"].iloc[0] == "Borderline"
    assert not at.success
    (warning,) = [w.value for w in at.warning if "nearest site" in w.value]
    assert "close to the 2 h 00 min the trial allows, so not certain" in warning
    assert "Mayo Clinic" in warning
    shown = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert "Why not certain: the place is a ZIP centroid" in shown
    # The location's caveat once (the card's Location line), not again from the note.
    assert shown.count("check the exact address") == 1, shown


def test_patient_page_unknown_place(app) -> None:
    at = app()
    at.switch_page("pages/patient.py").run()
    at.text_input(key="place").set_value("Nowhereville, ZZ")
    at.button(key="find").click().run()
    assert at.error and at.error[0].value.startswith("We could not find that place")


def _map_script(at: AppTest) -> str:
    """The HTML/JS of the one map component on the page."""
    (comp,) = at.get("component_instance")
    return str(json.loads(comp.proto.json_args)["script"])


@pytest.mark.engine
def test_patient_map_marks_where_the_road_data_ends(
    app, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph of the Harrisburg extract alone: from a place near Harrisburg the sites' 2-hour
    areas are cut by the end of that small extract, and the patient map draws the amber "Road
    data ends here" dashes and their legend line; the estimate draws none."""
    from pathlib import Path

    from geo.mapping.edge import EDGE_LABEL
    from geo.mapping.text import esc
    from geo.routing.graph import build_graph
    from geo.settings import Settings

    root = Path(__file__).resolve().parents[2]
    cache = tmp_path / "cache"
    built = build_graph(
        [root / "data" / "osm" / "harrisburg.osm.pbf"], "hbg", Settings(cache_dir=cache)
    )
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(cache))
    at = app(engine="valhalla:hbg")
    at.sidebar.selectbox(key="site_set").set_value("demo").run()
    at.switch_page("pages/patient.py").run()
    at.text_input(key="place").set_value("40.2700, -76.8500")
    at.button(key="find").click().run()
    assert not at.exception, at.exception
    script = _map_script(at)
    assert esc(EDGE_LABEL) in script  # the dashes' tooltip
    assert "where the road data ends (area cut short)" in script  # their legend line
    assert built.covered_area.bounds[2] < -76.7  # the extract ends a few km east of the place
    at.sidebar.selectbox(key="engine").set_value("estimate").run()
    assert not at.exception, at.exception
    script = _map_script(at)
    assert "Road data ends here" not in script


def test_planner_map_focus_frames_the_lower_48_and_names_the_rest(app) -> None:
    """The focus menu lists the regions, then the states; the lower 48 (the default) leaves out
    the sites in Alaska, Hawaii and Puerto Rico and says how many; Hawaii frames Hawaii."""
    from appkit.state import cached_boundaries
    from geo.mapping import FOCUS_REGIONS
    from geo.settings import get_settings

    at = app()
    at.sidebar.selectbox(key="site_set").set_value("nci-centers").run()
    at.switch_page("pages/planner.py").run()
    at.button(key="run_coverage").click().run()
    assert not at.exception, at.exception
    menu = at.selectbox(key="planner_focus")
    states = cached_boundaries(str(get_settings().data_dir))[1]
    assert menu.options[: len(FOCUS_REGIONS)] == list(FOCUS_REGIONS)
    assert menu.options[len(FOCUS_REGIONS) :] == sorted(set(states["name"]) - set(FOCUS_REGIONS))
    assert menu.value == "Lower 48 states"
    sites = load_site_set("nci-centers")
    away = int(sites["state"].isin(["AK", "HI", "PR"]).sum())  # by address, not by coordinates
    assert away >= 1
    note = f"{away:,} of {len(sites):,} site(s) are outside this view (Lower 48 states)"
    assert any(note in c.value for c in at.caption), [c.value for c in at.caption]
    assert note in _map_script(at)  # drawn on the map too
    fit = re.search(
        r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]",
        _map_script(at),
    )
    assert fit is not None
    lat0, lon0, lat1, lon1 = (float(v) for v in fit.groups())
    mainland = sites[~sites["state"].isin(["AK", "HI", "PR"])].geometry
    x0, x1, y0, y1 = mainland.x.min(), mainland.x.max(), mainland.y.min(), mainland.y.max()
    pad_x, pad_y = 0.08 * (x1 - x0) / 2, 0.08 * (y1 - y0) / 2  # base_map's 8% margin
    assert lon0 == pytest.approx(x0 - pad_x) and lon1 == pytest.approx(x1 + pad_x)
    assert lat0 == pytest.approx(y0 - pad_y) and lat1 == pytest.approx(y1 + pad_y)
    menu.set_value("Hawaii").run()
    assert not at.exception, at.exception
    fit = re.search(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\]", _map_script(at))
    assert fit is not None and float(fit.group(2)) < -150.0  # Honolulu's longitude, not Ohio's
    note = f"{len(sites) - away:,} of {len(sites):,} site(s) are outside this view (Hawaii)"
    assert any(note in c.value for c in at.caption), [c.value for c in at.caption]


def test_planner_page_coverage_matches_geo(app) -> None:
    from geo.coverage import coverage

    at = app()
    at.sidebar.selectbox(key="site_set").set_value("nci-centers").run()
    at.switch_page("pages/planner.py").run()
    at.button(key="run_coverage").click().run()
    assert not at.exception, at.exception
    expected = coverage(
        load_site_set("nci-centers"), get_rule("resolution"), get_router("estimate"), "county"
    )
    metrics = _metrics(at)
    assert metrics["People within the rule"] == f"{expected.covered_population:,.0f}"
    assert metrics["Share covered"] == f"{expected.share_covered:.1%}"
    assert metrics["People in all"] == f"{expected.total_population:,.0f}"
    bands = _frame(at, "band")
    assert bands["population"].sum() == pytest.approx(expected.total_population)
    (comp,) = at.get("component_instance")
    script = json.loads(comp.proto.json_args)["script"]
    assert "within" in script and "outside" in script  # units shaded by coverage status
    assert not any("Map framings" in m.value for m in at.markdown)  # no stray module text
    # The estimate engine: all of the population is answered by estimate, said beside the headline.
    assert metrics["Answered by ESTIMATE"] == "100.0%"
    # Gaps download: every unit not within the rule, people summing to the uncovered total.
    gaps_people = expected.outside_population + expected.unknown_population
    assert any(f"({gaps_people:,.0f} people)" in c.value for c in at.caption)
    assert {b.proto.label for b in at.get("download_button")} >= {
        "Gaps (CSV)",
        "Gaps (GeoJSON)",
        "Gaps (GeoPackage)",
    }
    # Framed on the lower 48 by default: Hawaii's centre is not in the view's bounds.
    bounds = json.loads(comp.proto.json_args)["script"]
    assert "fitBounds" in bounds
    fit = bounds[bounds.index("fitBounds") : bounds.index("fitBounds") + 200]
    lons = [float(v) for v in re.findall(r"-1\d\d\.\d+|-\d\d\.\d+", fit)]
    assert lons and min(lons) > -130.0, fit  # not reaching Hawaii (-157.8)


def test_uploaded_site_file_replaces_the_sites(app) -> None:
    at = app()
    at.sidebar.radio(key="site_source").set_value("Upload a file").run()
    sites = "site_id,name,lat,lon\nS1,<b>Clinic</b> & Co,44.02,-92.47\n"
    at.sidebar.file_uploader(key="site_file").upload("mine.csv", sites.encode(), "text/csv").run()
    assert not at.exception, at.exception
    _check(at, "55902")
    card = _card(at)
    assert "&lt;b&gt;Clinic&lt;/b&gt; &amp; Co" in card  # escaped in the card's HTML
    assert "<b>Clinic</b>" not in card


def test_bad_site_file_lists_the_problems(app) -> None:
    at = app()
    at.sidebar.radio(key="site_source").set_value("Upload a file").run()
    bad = "site_id,name,lat,lon\nS1,A,444,-92\nS1,B,44,-92\n"
    at.sidebar.file_uploader(key="site_file").upload("bad.csv", bad.encode(), "text/csv").run()
    text = "\n".join(e.value for e in at.sidebar.error)
    assert "cannot be used" in text
    assert "row" in text.lower()


def test_batch_exports_parse() -> None:
    from appkit.batch import run_batch, to_csv_bytes, to_geojson_bytes

    result = run_batch(
        io.StringIO(BATCH),
        "lodgings.csv",
        load_site_set("resolution"),
        get_rule("resolution"),
        get_router("estimate"),
        Geocoder(),
    )
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(result)))
    assert len(csv) == 7 and "message" in csv and "verdict" in csv
    gj = json.loads(to_geojson_bytes(result))
    assert len(gj["features"]) == 7
    assert gj["features"][2]["geometry"] is None
    assert gj["features"][1]["geometry"]["coordinates"] == pytest.approx([-92.4668, 44.0225])


def test_geocoder_choice_states_the_privacy_consequence(app) -> None:
    at = app()
    choice = at.sidebar.radio(key="geocoder_mode")
    assert choice.value == "offline"
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert "Addresses are located on this computer" in sidebar
    choice.set_value("census").run()
    assert not at.exception, at.exception
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    # The sidebar's own privacy line follows the choice (the geocoder in use, not the setting).
    assert "Addresses are located on this computer" not in sidebar
    assert "Census" in sidebar


def test_page_scripts_have_no_stray_strings() -> None:
    """Streamlit's "magic" writes a bare string statement of a page script onto the page (an
    attribute docstring once showed up under the coordinator's map): only docstrings allowed."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    stray = []
    for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0])
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
        }
        stray += [
            f"{path.name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and id(node) not in docstrings
        ]
    assert not stray, stray


def test_every_download_leaves_the_page_as_it_is() -> None:
    """Every download button passes ``on_click="ignore"``: a click downloads the file the page
    shows and does not rerun the page (a rerun rebuilds the file, so a slow browser could ask
    for the replaced one and get nothing: CI lost the printable record's download so)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    calls = []
    for path in [*(root / "pages").glob("*.py"), *(root / "appkit").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "download_button":
                ignore = [
                    k
                    for k in node.keywords
                    if k.arg == "on_click" and getattr(k.value, "value", None) == "ignore"
                ]
                calls.append((f"{path.name}:{node.lineno}", bool(ignore)))
    assert len(calls) >= 11
    assert [where for where, ok in calls if not ok] == []
