"""A site's own lodging list: loaded strictly, every bad row named, none dropped."""

from __future__ import annotations

import io

import pytest

from geo.errors import GeocodeError, SiteFileError
from geo.types import GeocodeResult, LonLat, Precision
from sites.lodging_lists import LIST_COLUMNS, read_lodging_list

from .conftest import DATA


class FakeGeocoder:
    """Knows one address; everything else fails like the real geocoder does."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def geocode(self, text: str) -> GeocodeResult:
        self.asked.append(text)
        if text.startswith("200 1st St SW"):
            return GeocodeResult(LonLat(-92.4663, 44.0241), Precision.ADDRESS, source="fake")
        raise GeocodeError("no match for this address")


def test_good_list_with_common_column_names():
    frame = read_lodging_list(DATA / "hotels_good.csv")
    assert list(frame.columns[: len(LIST_COLUMNS)]) == LIST_COLUMNS
    assert list(frame["name"]) == ["Kahler Grand Hotel", "Residence Inn Rochester"]
    assert list(frame["kind"]) == ["hotel", "apartment"]
    assert frame["preferred"].all()
    assert frame["note"].iloc[0] == "contracted rate, ask for the trial desk"
    assert frame["phone"].iloc[0] == "+1-507-280-6200"
    assert frame["source"].iloc[0] == "your list (hotels_good.csv)"
    assert "contact_person" in frame.columns  # extra columns kept
    assert (frame.geometry.iloc[0].x, frame.geometry.iloc[0].y) == (-92.4647, 44.0224)
    assert frame.crs.to_epsg() == 4326


def test_every_bad_row_is_named_in_one_error():
    with pytest.raises(SiteFileError) as info:
        read_lodging_list(DATA / "hotels_bad.csv")
    problems = info.value.problems
    assert problems == (
        "row 2 (line 3): empty name",
        "row 3 (line 4): column 'lat' value '44.0x' is not a number",
        "row 4 (line 5): latitude -92.46 is out of range; latitude and longitude look swapped",
        "row 5 (line 6): no coordinates and no address (lat/lon is empty)",
        "row 6 (line 7): has an address but no coordinates, and geocoding was not enabled",
        "row 7 (line 8): kind 'castle' is not one of hotel, motel, guest_house, hostel, "
        "apartment, chalet, hospitality_house",
    )
    assert "6 problem(s) in the lodging list" in str(info.value)


def test_addresses_are_geocoded_when_a_geocoder_is_given():
    text = (
        "name,address,lat,lon\n"
        'Mayo Guest House,"200 1st St SW, Rochester, MN 55905",,\n'
        "Coordinates Inn,,44.02,-92.46\n"
    )
    gc = FakeGeocoder()
    frame = read_lodging_list(io.BytesIO(text.encode()), geocoder=gc, filename="upload.csv")
    assert frame.geometry.iloc[0].x == pytest.approx(-92.4663)
    assert frame["address"].iloc[0] == "200 1st St SW, Rochester, MN 55905"
    assert frame["source"].iloc[0] == "your list (upload.csv)"
    assert gc.asked == ["200 1st St SW, Rochester, MN 55905"]  # the row with coordinates is not
    bad = "name,address\nLost Inn,1 Nowhere Rd\n"
    with pytest.raises(SiteFileError, match=r"row 1 \(line 2\): address could not be located"):
        read_lodging_list(io.StringIO(bad), geocoder=gc)


def test_header_problems():
    with pytest.raises(SiteFileError) as info:
        read_lodging_list(DATA / "hotels_no_name.csv")
    assert info.value.problems == ("missing column 'name' (the hotel's name)",)
    with pytest.raises(SiteFileError, match="need lat/lon"):
        read_lodging_list(io.StringIO("name,stars\nA,3\n"))
    with pytest.raises(SiteFileError, match="has a header but no rows"):
        read_lodging_list(io.StringIO("name,lat,lon\n"))
    with pytest.raises(SiteFileError, match="not UTF-8"):
        # 0x81 and 0x8D are neither UTF-8 nor Windows-1252 (which is read, with a note)
        read_lodging_list(io.BytesIO(b"name,lat,lon\n\x81\x8d,1,2\n"))
    with pytest.raises(SiteFileError, match="not found"):
        read_lodging_list(DATA / "nope.csv")
