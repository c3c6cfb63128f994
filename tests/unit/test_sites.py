"""Site sets: built-ins, user files, and one clear error naming every bad row."""

from pathlib import Path

import pytest

from geo.errors import SiteFileError, UnknownSiteSetError
from sites import SCHEMA_COLUMNS, builtin_site_sets, load_site_set, read_site_file

DATA = Path(__file__).resolve().parents[1] / "data" / "sites"


def test_builtin_sets_load_with_schema_and_counts():
    assert {"resolution", "nci-centers", "hospitals"} <= set(builtin_site_sets())
    res = load_site_set("resolution")
    assert list(res.columns[: len(SCHEMA_COLUMNS)]) == SCHEMA_COLUMNS
    assert res.crs.to_epsg() == 4326
    mayo = res.iloc[0]
    assert mayo["site_id"] == "RES-MAYO-RST" and mayo["city"] == "Rochester"
    assert (round(mayo.geometry.x, 4), round(mayo.geometry.y, 4)) == (-92.4663, 44.0241)
    assert len(load_site_set("nci-centers")) == 68
    hospitals = load_site_set("hospitals")
    assert len(hospitals) == 8013
    assert {"type", "beds"} <= set(hospitals.columns)  # extra columns kept
    assert hospitals["zip"].str.len().eq(5).all()  # leading zeros kept


def test_user_csv_with_common_column_names_and_extras():
    sites = read_site_file(DATA / "good.csv")
    assert list(sites["site_id"]) == ["X1", "X2"]
    assert list(sites["status"]) == ["recruiting", "active"]
    assert "pi" in sites.columns and "Latitude" not in sites.columns
    assert sites.geometry.iloc[1].x == pytest.approx(-83.017)


def test_geojson_sites():
    sites = read_site_file(DATA / "good.geojson")
    assert list(sites["name"]) == ["Geo One", "Geo Two"]
    assert sites.geometry.iloc[0].y == pytest.approx(44.02412)


def _problems(name):
    with pytest.raises(SiteFileError) as err:
        read_site_file(DATA / name)
    return err.value


def test_empty_file():
    assert "is empty" in str(_problems("empty.csv"))


def test_missing_columns():
    msg = str(_problems("missing_columns.csv"))
    assert "missing columns" in msg and "lat/lon" in msg and "site_id, name, notes" in msg


def test_unparseable_coordinates_name_row_and_column():
    err = _problems("unparseable.csv")
    assert err.problems == (
        "row 2 (line 3): column 'lat' value 'forty' is not a number",
        "row 3 (line 4): column 'lon' value '' is not a number",
    )


def test_out_of_range_and_swapped_detected():
    err = _problems("out_of_range.csv")
    assert len(err.problems) == 2
    assert err.problems[0] == "row 2 (line 3): coordinates out of range (lat 144.0, lon -93.0)"
    assert "row 3" in err.problems[1] and "out of range" in err.problems[1]
    swapped = _problems("swapped.csv")
    assert swapped.problems == (
        "row 2 (line 3): latitude -93.2 is out of range; latitude and longitude look swapped",
        "row 3 (line 4): lat -71.06, lon 42.36 looks like longitude and latitude swapped "
        "(US sites have lon < 0)",
    )


def test_duplicate_ids():
    err = _problems("duplicate_ids.csv")
    assert err.problems == ("duplicate site_id 'A' in rows 1, 3",)


def test_non_point_geojson():
    err = _problems("line.geojson")
    assert "feature 1: geometry is 'LineString'" in err.problems[0]


def test_unknown_set_name():
    with pytest.raises(UnknownSiteSetError, match="no site set called 'nope'"):
        load_site_set("nope")


def test_address_only_sites_need_a_geocoder(tmp_path):
    f = tmp_path / "addr.csv"
    f.write_text("site_id,name,address\nA,Alpha,200 First St SW Rochester MN 55905\n")
    err = _problems_at(f)
    assert "geocoding was not enabled" in err.problems[0]


def _problems_at(path):
    with pytest.raises(SiteFileError) as err:
        read_site_file(path)
    return err.value


def test_uploaded_file_object(tmp_path):
    import io

    data = (DATA / "good.csv").read_bytes()
    sites = read_site_file(io.BytesIO(data), filename="upload.csv")
    assert len(sites) == 2
