"""The command line as a coordinator uses it (offline: estimate engine, offline geocoder)."""

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from trialreach.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


def test_single_address_reads_at_a_glance():
    res = run("check", "44.0225, -92.4668", "--engine", "estimate")
    assert res.exit_code == 0, res.output
    assert "WITHIN — 0 min to Mayo Clinic (Rochester), 2 h 00 min to spare · estimate" in res.output
    assert "coordinates as given: exact" in res.output
    assert "margin 30 min" in res.output  # the estimate widens the 10-minute margin


def test_zip_check_says_its_caveat_once():
    """55010 (Castle Rock, MN): borderline because of the ZIP centroid. The Location line names
    the centroid and says "check the exact address"; the reason and no geocoder note repeat it
    (as on the app's card)."""
    res = run("check", "55010", "--engine", "estimate")
    assert res.exit_code == 0, res.output
    assert "BORDERLINE —" in res.output
    assert res.output.count("check the exact address") == 1, res.output
    assert "Location: ZIP code centroid (55010 Castle Rock, MN): could be off by several km" in (
        res.output
    )
    assert "Why: the place is a ZIP centroid; the exact locations could change the drive" in (
        res.output
    )
    assert "Note:" not in res.output


def test_single_zip_check_json():
    res = run("check", "Hampton Inn, Rochester MN 55902", "--engine", "estimate", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["verdict"] == "within"
    assert data["nearest_site_id"] == "RES-MAYO-RST"
    assert data["geocode_precision"] == "zip"
    assert data["engine"] == "estimate"
    assert 0 < data["drive_min"] < 15


def test_far_place_is_outside_with_time_over():
    res = run("check", "Seattle, WA 98101", "--engine", "estimate")
    assert res.exit_code == 0
    assert "OUTSIDE —" in res.output and "over the limit" in res.output


def test_unlocatable_place_is_a_clear_error_not_a_traceback():
    res = run("check", "00000", "--engine", "estimate")
    assert res.exit_code == 2
    assert "ZIP 00000 is not a known US ZIP code" in res.output


def test_batch_keeps_every_row_and_names_every_problem(tmp_path):
    out = tmp_path / "results.csv"
    res = run("check", str(DATA / "places_mixed.csv"), "--engine", "estimate", "-o", str(out))
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(table) == 7
    assert list(table["name"]) == [
        "Hotel exact",
        "Hotel by ZIP",
        "Empty row",
        "Unknown ZIP",
        "Out of range",
        "Unparseable",
        "Far away",
    ]
    assert list(table["verdict"]) == [
        "within",
        "within",
        "unknown",
        "unknown",
        "unknown",
        "unknown",
        "outside",
    ]
    reasons = list(table["reason"])
    assert reasons[2] == "row 3: empty — no address and no coordinates"
    assert "00000" in reasons[3]
    assert reasons[4] == "row 5: coordinates out of range (lat 144.0, lon -92.4)"
    assert reasons[5] == "row 6: lat 'forty-four' is not a number"
    assert "7 places: 2 within, 0 borderline, 1 outside, 4 unknown" in res.output


def test_batch_where_nothing_can_be_checked_exits_1(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("address\n\n00000\n")
    res = run("check", str(bad), "--engine", "estimate")
    assert res.exit_code == 1


def test_rule_and_custom_minutes_change_the_answer():
    # ~1 h 25 min from Minneapolis by the estimate: within for 120 min, outside for 60.
    base = run("check", "44.9778, -93.2650", "--engine", "estimate", "--json")
    strict = run(
        "check", "44.9778, -93.2650", "--engine", "estimate", "--max-minutes", "60", "--json"
    )
    assert json.loads(base.output)["verdict"] in ("within", "borderline")
    assert json.loads(strict.output)["verdict"] == "outside"


def test_sites_list_and_show():
    listing = run("sites", "list")
    assert listing.exit_code == 0
    assert "nci-centers" in listing.output and "68" in listing.output
    shown = run("sites", "show", "resolution", "--json")
    data = json.loads(shown.output)
    assert data["features"][0]["properties"]["site_id"] == "RES-MAYO-RST"


def test_bad_site_file_is_reported_by_row(tmp_path):
    res = run(
        "check",
        "44.0, -92.4",
        "--sites",
        str(DATA / "sites" / "duplicate_ids.csv"),
        "--engine",
        "estimate",
    )
    assert res.exit_code == 2
    assert "duplicate site_id 'A' in rows 1, 3" in res.output
