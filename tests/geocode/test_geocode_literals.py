"""Coordinate literals: "lat, lon" in its common spellings, swapped pairs, bad ranges."""

from __future__ import annotations

import pytest

from geo.errors import GeocodeError
from geo.geocode import Geocoder, parse_latlon
from geo.settings import Settings
from geo.types import LonLat, Precision


@pytest.mark.parametrize(
    "text",
    [
        "44.0225, -92.4668",
        "44.0225,-92.4668",
        "44.0225 -92.4668",
        "  44.0225 ,  -92.4668  ",
        "(44.0225, -92.4668)",
        "44.0225; -92.4668",
        "44.0225° N, 92.4668° W",
        "44.0225N 92.4668W",
        "N44.0225 W92.4668",
        "92.4668° W, 44.0225° N",  # hemisphere letters decide the order
        "44.0225°, -92.4668°",
    ],
)
def test_latlon_spellings_give_the_same_point(text: str) -> None:
    assert parse_latlon(text) == LonLat(-92.4668, 44.0225)


def test_degrees_minutes_seconds() -> None:
    point = parse_latlon("44°01′21″N 92°28′00.5″W")
    assert point is not None
    assert point.lat == pytest.approx(44 + 1 / 60 + 21 / 3600)
    assert point.lon == pytest.approx(-(92 + 28 / 60 + 0.5 / 3600))
    ascii_point = parse_latlon("44°01'21\"N, 92°28'00.5\"W")
    assert ascii_point == point


@pytest.mark.parametrize(
    "text",
    ["55902", "200 First St SW", "Rochester, MN", "44 92", "12345 6789", "1 2nd St", "", "N W"],
)
def test_not_coordinates(text: str) -> None:
    assert parse_latlon(text) is None


def test_swapped_pair_is_read_as_lon_lat_when_latitude_impossible() -> None:
    result = Geocoder(Settings()).geocode("-92.46, 44.02")
    assert result.point == LonLat(-92.46, 44.02)
    assert result.precision is Precision.COORDINATES
    assert result.source == "coordinates"
    assert "read as longitude, latitude" in result.note
    assert "-92.46 cannot be a latitude" in result.note


def test_swapped_pair_outside_us_but_inside_when_swapped() -> None:
    # Hershey, PA written lon-first: as written it would be at 76.65°S (Antarctica).
    result = Geocoder(Settings()).geocode("-76.65, 40.26")
    assert result.point == LonLat(-76.65, 40.26)
    assert "outside the United States" in result.note


def test_correct_order_has_no_note_and_is_not_swapped() -> None:
    result = Geocoder(Settings()).geocode("44.0225, -92.4668")
    assert result.point == LonLat(-92.4668, 44.0225)
    assert result.note == ""
    assert result.matched == "44.0225, -92.4668"
    assert not result.is_approximate


def test_non_us_point_is_kept_as_written() -> None:
    # Both orders valid, neither in the US: no guessing.
    assert parse_latlon("48.8566, 2.3522") == LonLat(2.3522, 48.8566)


def test_guam_written_lon_first_is_swapped() -> None:
    assert parse_latlon("144.75, 13.47") == LonLat(144.75, 13.47)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("95, 200", "95, 200"), ("-91.5, 181", "-91.5, 181"), ("100.0, -200.0", "100, -200")],
)
def test_out_of_range_is_a_clear_error(text: str, shown: str) -> None:
    with pytest.raises(GeocodeError) as info:
        Geocoder(Settings()).geocode(text)
    message = str(info.value)
    assert message.startswith(f"coordinates out of range: {shown}")
    assert "latitude must be within -90..90" in message


def test_out_of_range_with_hemispheres() -> None:
    with pytest.raises(GeocodeError, match="out of range"):
        parse_latlon("95 N, 92 W")


def test_two_latitudes_is_an_error() -> None:
    with pytest.raises(GeocodeError, match="both values are latitudes"):
        parse_latlon("44 N, 92 S")


def test_minutes_above_59_is_an_error() -> None:
    with pytest.raises(GeocodeError, match="below 60"):
        parse_latlon("44°75′N 92°28′W")
