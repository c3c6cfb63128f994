"""Coordinates in a batch get the checks a single typed place gets: bad ones are `unknown`.

Reference: the boxes around the United States (geo.geocode.us.US_BOXES) and the ranges
-90..90 / -180..180, evaluated here independently of geo.places.
"""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.places import coordinate_problems, locate_places
from geo.proximity import check
from geo.routing import get_router
from geo.rules import get_rule
from sites import load_site_set

SITES = load_site_set("demo")  # includes OSU James, Columbus OH
RULE = get_rule("resolution")
ROUTER = get_router("estimate")

_US_BOXES = (  # lat_min, lat_max, lon_min, lon_max (a copy: the test's own reference)
    (24.0, 50.0, -125.0, -66.0),
    (51.0, 72.0, -180.0, -129.0),
    (51.0, 53.5, 172.0, 180.0),
    (18.5, 22.5, -161.0, -154.5),
    (17.5, 18.8, -68.0, -64.5),
    (13.0, 21.0, 144.0, 146.5),
    (-15.0, -14.0, -171.5, -168.0),
)


def _in_us(lon: float, lat: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _US_BOXES)


def _expected_bad(lat: float, lon: float) -> bool:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return True
    if abs(lat) > 90 or abs(lon) > 180:
        return True
    return not _in_us(lon, lat) and _in_us(lat, lon)


def test_swapped_us_pair_is_unknown_not_antarctica() -> None:
    """The issue's case: Columbus, OH with its columns swapped gave 'outside, 12,900 min'."""
    table = pd.DataFrame({"lat": ["-83.0", "39.99"], "lon": ["39.99", "-83.0"]})
    located = locate_places(table, geocoder=None)
    out = check(located, SITES, RULE, ROUTER)
    assert list(out["verdict"]) == ["unknown", "within"]
    assert "look swapped" in out["reason"].iloc[0]
    assert out["drive_min"].isna().iloc[0]  # NaN, never a number for a refused row


def test_latitude_91_is_out_of_range_not_swapped() -> None:
    problems = coordinate_problems([91.0, -92.46], [-83.0, 44.02])
    assert problems[0] == "coordinates out of range (lat 91.0, lon -83.0)"
    assert "look swapped" in problems[1]  # read the other way round: lat 44.02, lon -92.46


COORD = st.one_of(
    st.floats(min_value=-200, max_value=200),
    st.sampled_from([math.nan, math.inf, -math.inf, 91.0, -90.0, 0.0, 180.0, -180.0]),
    st.floats(min_value=24, max_value=50),
    st.floats(min_value=-125, max_value=-66),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(COORD, COORD), min_size=1, max_size=12))
def test_every_bad_pair_is_unknown_with_its_own_reason(pairs: list[tuple[float, float]]) -> None:
    table = pd.DataFrame(
        {"lat": [repr(a) for a, _ in pairs], "lon": [repr(b) for _, b in pairs], "k": "x"}
    )
    located = locate_places(table, geocoder=None)
    out = check(located, SITES, RULE, ROUTER)
    assert len(out) == len(pairs)  # rows in = rows out, in order
    assert list(out.index) == list(table.index)
    for i, (lat, lon) in enumerate(pairs):
        reason = str(out["reason"].iloc[i])
        if _expected_bad(lat, lon):
            assert out["verdict"].iloc[i] == "unknown", (lat, lon)
            assert reason.startswith(f"row {i + 1}: "), reason
        else:
            assert "out of range" not in reason and "swapped" not in reason


def test_typed_latitude_91_is_out_of_range_not_swapped() -> None:
    """The single-place reader: "91, -83" used to be read as lon 91, lat -83 (Antarctica)."""
    import pytest

    from geo.errors import GeocodeError
    from geo.geocode import parse_latlon

    with pytest.raises(GeocodeError, match="out of range: 91, -83"):
        parse_latlon("91, -83")
    assert parse_latlon("-83.0, 39.99") is not None  # Columbus lon-first: still read, with a note
