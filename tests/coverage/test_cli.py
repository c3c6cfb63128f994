"""`trialreach coverage` and `trialreach suggest` through the real typer app."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from typer.testing import CliRunner

from trialreach.cli import app

runner = CliRunner()


def test_coverage_county_table_and_gaps(tmp_path: Path) -> None:
    gaps = tmp_path / "gaps.geojson"
    bands = tmp_path / "bands.csv"
    result = runner.invoke(
        app,
        [
            "coverage",
            "--sites",
            "nci-centers",
            "--rule",
            "resolution",
            "--population",
            "county",
            "--engine",
            "estimate",
            "-o",
            str(gaps),
            "--bands-csv",
            str(bands),
            "--top",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("≤ 1 h", "1–2 h", "2–5 h", "> 5 h", "unknown", "334,735,155", "estimate"):
        assert text in out
    assert "Top 4 states by uncovered population" in out
    assert "LA" in out  # Louisiana: no NCI centre within 2 hours (4th after TX, FL, CA)
    frame = gpd.read_file(gaps)
    table = pd.read_csv(bands)
    covered = table.loc[table["band"].isin(["≤ 1 h", "1–2 h"]), "population"].sum()
    # Every county not within 2 h is in the file; with the covered ones they add up to everyone.
    assert frame["population"].sum() + covered == 334_735_155
    assert (frame["duration_min"] > 120).all()
    assert f"Wrote {len(frame):,} uncovered units" in out


def test_coverage_json_with_user_population(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        "name,lat,lon,population,state\n"
        "near Columbus,40.0,-83.0,1000,OH\n"
        "middle of Nevada,39.0,-117.0,250,NV\n"
    )
    result = runner.invoke(
        app,
        [
            "coverage",
            "--population",
            str(people),
            "--engine",
            "estimate",
            "--json",
            "-o",
            str(tmp_path / "gaps.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total_population"] == 1250 and doc["covered_population"] == 1000
    assert doc["is_estimate"] is True
    gaps = pd.read_csv(tmp_path / "gaps.csv")
    assert gaps["name"].tolist() == ["middle of Nevada"]
    assert {"lon", "lat", "duration_min", "nearest_site_name"} <= set(gaps.columns)


def test_coverage_bad_population_is_a_clear_error() -> None:
    result = runner.invoke(app, ["coverage", "--population", "tracts", "--engine", "estimate"])
    assert result.exit_code == 2
    assert "zcta" in result.output and "Traceback" not in result.output


def test_suggest_prints_ilp_and_greedy(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen.csv"
    result = runner.invoke(
        app,
        [
            "suggest",
            "--sites",
            "nci-centers",
            "--k",
            "3",
            "--population",
            "county",
            "--engine",
            "estimate",
            "--min-beds",
            "200",
            "-o",
            str(chosen),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "exact ILP, optimal" in result.output and "greedy" in result.output.lower()
    assert "places already covered were not asked" in result.output
    table = pd.read_csv(chosen, dtype={"site_id": str})
    assert table["rank"].tolist() == [1, 2, 3]
    assert (table["gain_population"] > 1_000_000).all()
    assert table["gain_population"].is_monotonic_decreasing
    assert (table["beds"].astype(float) >= 200).all()


def test_suggest_json_green_field(tmp_path: Path) -> None:
    cands = tmp_path / "cands.csv"
    cands.write_text("site_id,name,lat,lon\nc1,Columbus,39.96,-83.0\nc2,Reno,39.53,-119.81\n")
    result = runner.invoke(
        app,
        [
            "suggest",
            "--sites",
            "none",
            "--candidates",
            str(cands),
            "--k",
            "1",
            "--population",
            "county",
            "--engine",
            "estimate",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["baseline_covered_population"] == 0
    assert [s["site_id"] for s in doc["ilp"]["sites"]] == ["c1"]  # Ohio beats northern Nevada
    # Columbus's 2-hour reach (estimate: ~124 km straight since the OSRM calibration) > 4 M.
    assert doc["ilp"]["gain_population"] == doc["greedy"]["gain_population"] > 4_000_000
    # Green field: nothing covered, so nothing skipped; 3,221 counties × 2 candidates possible,
    # only the pairs within the estimate's 2-hour radius asked, with no engine call (estimate).
    assert doc["units_skipped"] == 0 and doc["engine_calls"] == 0
    assert doc["pairs_possible"] == 3221 * 2 > doc["pairs_asked"] > 0


def test_coverage_on_a_local_dask_cluster() -> None:
    result = runner.invoke(
        app,
        [
            "coverage",
            "--population",
            "county",
            "--engine",
            "estimate",
            "--dask",
            "local",
            "--workers",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total_population"] == 334_735_155
    from geo.coverage import coverage
    from geo.routing import get_router
    from geo.rules import get_rule
    from sites import load_site_set

    local = coverage(
        load_site_set("nci-centers"), get_rule("resolution"), get_router("estimate"), "county"
    )
    assert doc["covered_population"] == local.covered_population  # the same as the local run
    assert [b["population"] for b in doc["bands"]] == local.bands["population"].tolist()
