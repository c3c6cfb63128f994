"""The front door (trialreach.api): one call per workflow, answers equal to the domain's own.

Offline: the estimate engine (a hand-checkable formula) and the offline geocoder; every answer is
compared with the domain function called directly, or with the engine's own drive time.
"""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import trialreach
from geo.errors import GeocodeError, ValidationError
from geo.proximity import RESULT_COLUMNS
from geo.proximity import check as domain_check
from geo.routing.estimate import EstimateRouter
from geo.rules import get_rule
from geo.types import LonLat
from sites import load_site_set

MAYO = LonLat(-92.466293, 44.02412)


def test_import_is_light_and_versioned():
    code = (
        "import sys, trialreach; "
        "heavy = [m for m in ('pandas', 'geopandas', 'streamlit', 'shapely') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "assert callable(trialreach.check); assert 'pandas' in sys.modules; "
        "print(trialreach.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from importlib.metadata import version

    assert out.stdout.strip() == version("trialreach")
    with pytest.raises(AttributeError):
        trialreach.not_a_workflow  # noqa: B018


def test_done_when_one_call_gives_a_geodataframe_with_provenance():
    answer = trialreach.check("44.06, -92.51", sites="resolution", engine="estimate")
    assert isinstance(answer, gpd.GeoDataFrame) and answer.crs.to_epsg() == 4326
    assert len(answer) == 1
    row = answer.iloc[0]
    # Independent reference: the estimate engine's own drive time for this pair.
    expected_s = EstimateRouter().drive_times([LonLat(-92.51, 44.06)], [MAYO]).duration_s[0, 0]
    assert row["drive_min"] == pytest.approx(round(expected_s / 60, 1))
    assert row["verdict"] == "within" and row["nearest_site_id"] == "RES-MAYO-RST"
    assert row["engine"] == "estimate" and row["geocode_precision"] == "coordinates"
    assert row["margin_min"] == 30.0  # the estimate widens the 10-minute margin
    assert row.geometry.equals(shapely.Point(-92.51, 44.06))
    attrs = answer.attrs
    assert attrs["rule"] == "resolution" and attrs["max_drive_min"] == 120.0
    assert attrs["engine"] == "estimate" and attrs["is_estimate"] is True
    assert attrs["sites"] == "resolution" and attrs["geocoder"] == "offline"
    assert attrs["trialreach_version"] == trialreach.__version__
    assert attrs["estimated_rows"] == 1


def test_batch_of_texts_keeps_every_row_in_order():
    places = ["39.99, -83.0", "43215", "", "00000", "91, 200", "Seattle, WA 98101"]
    answer = trialreach.check(places, sites="demo", engine="estimate")
    assert list(answer["place"]) == places
    assert list(answer["verdict"].iloc[2:5]) == ["unknown"] * 3
    assert answer["drive_min"].iloc[2:5].isna().all()  # NaN, never 0
    assert "00000" in answer["reason"].iloc[3]
    assert answer["verdict"].iloc[5] == "outside"
    assert "address" not in answer.columns  # our helper column is not left behind


def test_frames_keep_index_and_columns_and_replace_old_results(tmp_path):
    table = pd.DataFrame(
        {"name": ["a", "b"], "lat": [40.0, 39.96], "lon": [-83.0, -83.01]}, index=[10, 20]
    )
    table["verdict"] = "within"  # an earlier run's answer must not shadow the new one
    table["drive_min"] = 0.0
    answer = trialreach.check(table, sites="demo", engine="estimate")
    assert list(answer.index) == [10, 20] and list(answer["name"]) == ["a", "b"]
    assert answer.columns.is_unique
    assert set(answer.attrs["replaced_columns"]) == {"verdict", "drive_min"}
    sites = load_site_set("demo")
    direct = domain_check(
        [(-83.0, 40.0), (-83.01, 39.96)], sites, get_rule("resolution"), EstimateRouter()
    )
    np.testing.assert_allclose(answer["drive_min"].to_numpy(), direct["drive_min"].to_numpy())
    assert list(answer["nearest_site_id"]) == list(direct["nearest_site_id"])

    path = tmp_path / "places.csv"
    table.drop(columns=["verdict", "drive_min"]).to_csv(path, index=False)
    from_file = trialreach.check(str(path), sites="demo", engine="estimate")
    np.testing.assert_allclose(from_file["drive_min"], direct["drive_min"])
    with pytest.raises(ValidationError, match="no such file"):
        trialreach.check(str(tmp_path / "missing.csv"), sites="demo", engine="estimate")


def test_geodataframe_in_another_crs_and_empty_geometry():
    pts = gpd.GeoDataFrame(
        {"id": [1, 2]}, geometry=[shapely.Point(-83.0, 40.0), None], crs="EPSG:4326"
    ).to_crs(3857)
    answer = trialreach.check(pts, sites="demo", engine="estimate")
    assert answer.crs.to_epsg() == 4326
    assert answer["lon"].iloc[0] == pytest.approx(-83.0) and answer["lat"].iloc[0] == pytest.approx(
        40.0
    )
    assert answer["verdict"].iloc[1] == "unknown" and "no location" in answer["reason"].iloc[1]


def test_custom_limit_and_margin():
    answer = trialreach.check(
        "44.06, -92.51", sites="resolution", engine="estimate", max_minutes=5, margin_min=1
    )
    assert answer.attrs["max_drive_min"] == 5.0
    assert answer["verdict"].iloc[0] == "outside"  # 8.1 min > 5 min


def test_rank_sites_orders_by_routed_time_from_the_place():
    ranked = trialreach.rank_sites("43215", sites="nci-centers", engine="estimate", max_sites=5)
    assert len(ranked) == 5 and ranked.attrs["sites_routed"] == 5
    assert ranked["drive_min"].is_monotonic_increasing
    assert ranked.attrs["place_precision"] == "zip"
    everything = trialreach.rank_sites(
        "43215", sites="nci-centers", engine="estimate", max_sites=None
    )
    assert len(everything) == len(load_site_set("nci-centers"))
    # The straight-line pre-filter keeps the quickest sites.
    assert list(everything["site_id"].iloc[:5]) == list(ranked["site_id"])
    with pytest.raises(GeocodeError):
        trialreach.rank_sites("00000", sites="nci-centers", engine="estimate")


def test_coverage_and_suggest_equal_the_domain_functions():
    from geo.coverage import coverage as domain_coverage

    result = trialreach.coverage("nci-centers", engine="estimate", population="county")
    direct = domain_coverage(
        load_site_set("nci-centers"), get_rule("resolution"), EstimateRouter(), "county"
    )
    assert result.covered_population == direct.covered_population
    assert result.total_population == direct.total_population
    plan = trialreach.suggest("nci-centers", k=2, engine="estimate", population="county")
    assert len(plan.ilp.chosen) == 2 and plan.ilp.gain >= plan.greedy.gain


def test_find_lodging_on_the_demo_site(tmp_path):
    from geo.lodging import lodging_for_graph, search_lodging

    result = trialreach.find_lodging("DEMO-JAMES", sites="demo", engine="estimate")
    assert result.frame.attrs["site_id"] == "DEMO-JAMES" and result.frame.attrs["is_estimate"]
    sites = load_site_set("demo")
    row = sites[sites["site_id"] == "DEMO-JAMES"].iloc[0]
    direct = search_lodging(
        LonLat(row.geometry.x, row.geometry.y),
        lodging_for_graph("demo"),
        get_rule("resolution"),
        EstimateRouter(),
    )
    assert list(result.frame["name"]) == list(direct.frame["name"])
    with pytest.raises(ValidationError, match="choose one with --site"):
        trialreach.find_lodging(sites="demo", engine="estimate")


def test_result_columns_are_the_domain_ones():
    answer = trialreach.check("40.0, -83.0", sites="demo", engine="estimate")
    assert all(c in answer.columns for c in RESULT_COLUMNS)


def test_faces_pass_their_own_objects():
    """What the app holds (a geocode, a router, a sites frame) goes in as is, unchanged."""
    from geo.geocode import Geocoder
    from geo.settings import Settings

    sites = load_site_set("demo")
    sites.attrs["sites"] = "demo (sidebar)"
    before = dict(sites.attrs)
    point = Geocoder(Settings(geocoder="offline")).geocode("43215")
    router = EstimateRouter()
    answer = trialreach.check(point, sites=sites, engine=router)
    assert answer["precision"].iloc[0] == "zip" and answer.attrs["sites"] == "demo (sidebar)"
    direct = domain_check([point.point], sites, get_rule("resolution"), router)
    assert answer["drive_min"].iloc[0] == direct["drive_min"].iloc[0]
    ranked = trialreach.rank_sites(point, sites=sites, engine=router, max_sites=2)
    assert len(ranked) == 2 and ranked.attrs["place_precision"] == "zip"
    assert "straight_km" not in sites.columns and sites.attrs == before


def test_an_upload_goes_through_the_front_door_and_an_export_is_replaced():
    """What the app's batch and the CLI do: an open CSV in, an earlier export's answers out."""
    import io

    from trialreach.api import read_places

    upload = io.BytesIO(b"name;lat;lon\na;40.0;-83.0\nb;91;0\n")
    answer = trialreach.check(upload, name="up.csv", sites="demo", engine="estimate")
    assert list(answer["name"]) == ["a", "b"]
    assert answer["verdict"].iloc[1] == "unknown" and "out of range" in answer["reason"].iloc[1]
    assert any("separated" in n for n in answer.attrs["read_notes"])
    assert answer.attrs["partial"] is False and answer.attrs["faults"] == []
    direct = domain_check([(-83.0, 40.0)], load_site_set("demo"), get_rule("resolution"), EST)
    assert answer["drive_min"].iloc[0] == direct["drive_min"].iloc[0]
    # The app's export of that answer (row and message columns too), checked again.
    export = answer.drop(columns="geometry").assign(row=[1, 2], message=["", "bad"])
    again = trialreach.check(
        io.BytesIO(export.to_csv(index=False).encode()), sites="demo", engine="estimate"
    )
    assert {"verdict", "row", "message"} <= set(again.attrs["replaced_columns"])
    assert again.columns.is_unique and "row" not in again.columns
    assert list(again["verdict"]) == list(answer["verdict"])
    assert list(read_places(io.StringIO("lat,lon\n1,2\n")).columns) == ["lat", "lon"]


def test_geocode_one_place_as_the_faces_do():
    from trialreach.api import geocode

    zip_point = geocode("43215")
    assert zip_point.precision.value == "zip"
    exact = geocode(MAYO)
    assert exact.point == MAYO and exact.precision.value == "coordinates"
    with pytest.raises(GeocodeError):
        geocode("00000")


def test_rank_sites_judges_an_approximate_place_as_check_does():
    """A ZIP centroid 'within' with less than margin + 10 min to spare is borderline in both."""
    sites = load_site_set("demo")
    # A 25-min limit: the James is ~6 min from the ZIP centre, 19 min to spare < 10 + 10.
    opts = {"engine": "estimate", "max_minutes": 25}
    ranked = trialreach.rank_sites("43215", sites=sites, max_sites=None, **opts)
    james = ranked.set_index("site_id").loc["DEMO-JAMES"]
    assert james["verdict"] == "borderline" and "ZIP centroid" in james["reason"]
    for _, site in ranked.iterrows():
        alone = sites[sites["site_id"] == site["site_id"]]
        row = trialreach.check("43215", sites=alone, **opts).iloc[0]
        assert (site["verdict"], site["reason"]) == (row["verdict"], row["reason"])


EST = EstimateRouter()
