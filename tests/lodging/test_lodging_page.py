"""The Lodging page (AppTest) and the table/export it shows, against the engine and the files."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.lodging.extract import scan_lodging
from geo.routing import get_router

from .conftest import OSM, REPO

APP = str(REPO / "app.py")
if str(REPO) not in sys.path:  # `appkit` lives next to app.py
    sys.path.insert(0, str(REPO))

CONTRACTED = (
    "name,lat,lon,note,phone\n"
    "=Trial Inn,39.9950,-83.0150,contracted rate: ask for the trial desk,+1-614-555-0100\n"
    "Lakeside Lodge,41.4993,-81.6944,,\n"  # Cleveland: about 200 km from the site
)


@pytest.fixture
def lodging_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], AppTest]:
    """The app on the Lodging page: demo sites, the estimate engine, offline map."""

    def start() -> AppTest:
        monkeypatch.setenv("TRIALREACH_ENGINE", "estimate")
        monkeypatch.setenv("TRIALREACH_MAP_TILES", "none")
        monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.sidebar.selectbox(key="site_set").set_value("demo").run()
        at.switch_page("pages/lodging.py").run()
        assert not at.exception, at.exception
        at.selectbox(key="lodging_site").set_value("DEMO-JAMES").run()
        assert not at.exception, at.exception
        return at

    return start


def _table(at: AppTest) -> pd.DataFrame:
    (frame,) = [d.value for d in at.dataframe if "Contracted" in d.value.columns]
    return frame


def test_lodging_page_lists_osm_places_with_engine_times(lodging_page) -> None:
    at = lodging_page()
    table = _table(at)
    # Every Columbus hotel of the shipped extract lies within 2 h of the James: all twelve.
    columbus = scan_lodging(OSM / "columbus.osm.pbf").frame
    assert len(table) == len(columbus) == 12
    assert not table["Contracted"].any()
    assert not table["Name"].str.contains("unnamed").any()
    assert "hotel on International Gateway (39.9996, -82.8927)" in set(table["Name"])
    assert table["Name"].is_unique
    # Drive times are the estimate engine's own, lodging -> site, nearest first.
    assert table["Drive (min)"].is_monotonic_increasing
    site = (-83.0177, 39.9936)  # not read from the page: the demo set's James
    from sites import load_site_set

    demo = load_site_set("demo").set_index("site_id")
    james = demo.loc["DEMO-JAMES"].geometry
    assert (james.x, james.y) == pytest.approx(site, abs=0.01)
    by_name = columbus.drop_duplicates("name").set_index("name")
    hyatt = by_name.loc["Hyatt Place"].geometry
    expected = get_router("estimate").drive_times([(hyatt.x, hyatt.y)], [(james.x, james.y)])
    row = table[table["Name"] == "Hyatt Place"].iloc[0]
    assert row["Drive (min)"] == pytest.approx(expected.duration_s[0, 0] / 60.0, abs=0.051)
    assert row["Address"] == "795 Yard Street, Columbus, 43212"
    assert row["Phone"] == "(614) 280-1234"  # OSM: +1-614-280-1234, shown the US way
    assert row["Website"] == "http://columbusosu.place.hyatt.com/"
    # An estimate cannot be read as routed: every row says so, and the page warns.
    assert table["Answer"].str.contains("ESTIMATE").all()
    assert any("ESTIMATES" in w.value for w in at.warning)
    # The OSM data's date (or that it has none) and its notice are shown.
    assert any("OpenStreetMap data" in c.value for c in at.caption)
    assert any("call ahead" in c.value for c in at.caption)
    assert {b.proto.label for b in at.get("download_button")} == {"Download CSV"}


def test_lodging_page_contracted_first_and_drive_limit(lodging_page) -> None:
    at = lodging_page()
    upload = at.file_uploader(key="lodging_preferred")
    upload.upload("contracted.csv", CONTRACTED.encode(), "text/csv").run()
    assert not at.exception, at.exception
    table = _table(at)
    assert list(table["Contracted"].iloc[:2]) == [True, True]
    assert not table["Contracted"].iloc[2:].any()
    first, second = table.iloc[0], table.iloc[1]
    assert first["Name"] == "=Trial Inn"  # shown as typed; the CSV export neutralises it
    assert "contracted rate" in first["Notes"]
    # The Cleveland lodge is listed although it does not comply: a contracted place must be seen.
    assert second["Name"] == "Lakeside Lodge"
    assert second["Answer"].startswith(("Outside the rule", "Borderline"))
    # A shorter drive limit keeps the contracted rows and drops OSM places beyond it.
    at.slider(key="lodging_max_min").set_value(10).run()
    short = _table(at)
    osm = short[~short["Contracted"]]
    assert short["Contracted"].sum() == 2
    assert len(osm) and (osm["Drive (min)"] <= 10).all()
    assert len(osm) < len(table) - 2
    assert any("over 10 min" in c.value for c in at.caption)


def test_lodging_export_is_formula_safe_and_keeps_provenance() -> None:
    import geopandas as gpd

    from appkit.lodging_panel import data_line, lodging_export
    from geo.export import csv_bytes

    frame = gpd.GeoDataFrame(
        {
            "osm_id": ["", "w1"],
            "kind": ["hotel", "hotel"],
            "name": ["=HYPERLINK(1)", "hotel on Front Street"],
            "preferred": [True, False],
            "drive_min": [12.04, np.nan],
            "spare_min": [107.96, np.nan],
            "verdict": ["within", "unknown"],
            "edge_warning": [False, False],
            "address": ["1 Main St", ""],
            "city": ["Columbus", ""],
            "postcode": ["", ""],
            "website": ["javascript:alert(1)", "https://x.example"],
            "phone": ["+1-614-280-1234", "+44 20 7946 0958"],
            "eligibility_note": ["", ""],
            "note": ["contracted", ""],
            "source": ["contracted.csv", "OpenStreetMap"],
            "data_date": ["", ""],
            "engine": ["estimate", "osrm"],
            "estimated": [True, False],
        },
        geometry=gpd.points_from_xy([-83.0, -83.1], [40.0, 40.1]),
        crs="EPSG:4326",
    )
    out = pd.read_csv(io.BytesIO(csv_bytes(lodging_export(frame))), keep_default_na=False)
    assert out["Name"].iloc[0] == "'=HYPERLINK(1)"  # formula-safe (geo.export)
    # A US phone reads (614) 280-1234: nothing to neutralise; a number abroad is kept as
    # given, and neutralised (it starts with "+", a formula trigger).
    assert list(out["Phone"]) == ["(614) 280-1234", "'+44 20 7946 0958"]
    assert out["Answer"].iloc[0] == "Within the rule · ESTIMATE · not a routed drive"
    assert list(out["estimated"]) == [True, False]
    assert out["Drive (min)"].iloc[1] == ""  # NaN stays empty, never 0
    assert (out["lat"].iloc[0], out["lon"].iloc[0]) == (40.0, -83.0)
    from appkit.lodging_panel import lodging_table

    assert lodging_table(frame)["Website"].iloc[0] == ""  # not a link the table would open
    assert "with no date in the file" in data_line(frame)
