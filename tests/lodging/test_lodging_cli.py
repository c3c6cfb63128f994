"""`trialreach lodging` through the real command-line app."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trialreach.cli import app

from .conftest import DATA, OSM

runner = CliRunner()


@pytest.fixture(scope="module")
def _cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lodging-cli-cache")


@pytest.fixture(autouse=True)
def _private_cache(_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(_cache))
    monkeypatch.setenv("COLUMNS", "200")


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["lodging", *args])


def test_demo_site_lists_columbus_hotels(tmp_path: Path):
    out = tmp_path / "lodging.csv"
    res = _run("--sites", "demo", "--site", "DEMO-JAMES", "--engine", "estimate", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "Hyatt Place" in res.output
    assert "OpenStreetMap lodging data is incomplete and varies by area" in res.output
    assert "Engine: estimate" in res.output
    table = pd.read_csv(out, dtype={"postcode": str}, keep_default_na=False)
    # The 12 Columbus hotels qualify; the 4 Harrisburg ones are ~560 km away.
    assert len(table) == 12
    assert "12 OpenStreetMap place(s) listed of 16 considered" in res.output
    assert table["name"].iloc[0] == "Hyatt Place"  # 2.2 km from the James
    assert table["drive_min"].is_monotonic_increasing
    assert set(table["verdict"]) == {"within"}
    assert {"lon", "lat", "spare_min", "engine", "eligibility_note"} <= set(table.columns)
    assert table.loc[0, "postcode"] == "43212"


def test_kinds_filter_and_json(tmp_path: Path):
    res = _run(
        "--sites",
        "demo",
        "--site",
        "demo-hbg-community",
        "-e",
        "estimate",
        "--kinds",
        "hotel",
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["site_id"] == "DEMO-HBG-COMMUNITY"
    assert sorted(r["name"] for r in doc["lodging"]) == [
        "Double Tree",
        "Hampton Inn",
        "La Quinta",
        "sleep",
    ]
    assert doc["counts"]["beyond_reach"] == 12
    none = _run("--sites", "demo", "--site", "DEMO-JAMES", "-e", "estimate", "--kinds", "motel")
    assert none.exit_code == 0 and "none found" in none.output


def test_preferred_list_is_shown_first(tmp_path: Path):
    pref = tmp_path / "ours.csv"
    pref.write_text("name,lat,lon,note\nOur Contract Hotel,39.9990,-83.0150,trial rate\n")
    out = tmp_path / "l.csv"
    res = _run(
        "--sites",
        "demo",
        "--site",
        "DEMO-JAMES",
        "-e",
        "estimate",
        "--preferred",
        str(pref),
        "-o",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert "Our Contract Hotel ★ your list" in res.output
    table = pd.read_csv(out, keep_default_na=False)
    assert table["name"].iloc[0] == "Our Contract Hotel" and bool(table["preferred"].iloc[0])
    assert len(table) == 13


def test_resolution_site_needs_an_extract(tmp_path: Path):
    res = _run("--sites", "resolution", "--site", "RES-MAYO-RST", "--kinds", "hotel,apartment")
    assert res.exit_code == 2
    assert "no OpenStreetMap lodging for this site" in res.output and "--pbf" in res.output
    # With the wrong extract the command says the data does not cover the site.
    res = _run(
        "--sites",
        "resolution",
        "--site",
        "RES-MAYO-RST",
        "-e",
        "estimate",
        "--pbf",
        str(OSM / "columbus.osm.pbf"),
    )
    assert res.exit_code == 0, res.output
    assert "none of the OpenStreetMap lodging read lies near this site" in res.output


def test_resolution_with_a_preferred_list_only(tmp_path: Path):
    pref = tmp_path / "mayo.csv"
    pref.write_text("name,lat,lon\nKahler Grand Hotel,44.0224,-92.4647\n")
    res = _run(
        "--sites",
        "resolution",
        "--site",
        "RES-MAYO-RST",
        "-e",
        "estimate",
        "--preferred",
        str(pref),
    )
    assert res.exit_code == 0, res.output
    assert "Kahler Grand Hotel" in res.output and "within" in res.output


def test_user_errors_are_messages_not_tracebacks(tmp_path: Path):
    res = _run("--sites", "demo", "-e", "estimate")
    assert res.exit_code == 2 and "choose one with --site" in res.output
    res = _run("--sites", "demo", "--site", "NOPE", "-e", "estimate")
    assert res.exit_code == 2 and "no site 'NOPE'" in res.output
    res = _run("--sites", "demo", "--site", "DEMO-JAMES", "-e", "estimate", "--kinds", "castle")
    assert res.exit_code == 2 and "unknown lodging kind" in res.output
    res = _run(
        "--sites",
        "demo",
        "--site",
        "DEMO-JAMES",
        "-e",
        "estimate",
        "--preferred",
        str(DATA / "hotels_bad.csv"),
    )
    assert res.exit_code == 2 and "row 4 (line 5)" in res.output
    assert "Traceback" not in res.output


def test_tiny_xml_extract_via_pbf_option(tmp_path: Path):
    pref_site = tmp_path / "site.csv"
    pref_site.write_text("site_id,name,lat,lon\nT1,Test Hospital,40.01,-80.01\n")
    res = _run("--sites", str(pref_site), "-e", "estimate", "--pbf", str(DATA / "tiny.osm"))
    assert res.exit_code == 0, res.output
    assert "Tiny Inn" in res.output and "motel at 40.0505, -80.0495" in res.output
    assert "Hope Lodge Testville" in res.output and "would not qualify" in res.output
