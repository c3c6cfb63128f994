"""Coordinate literals: ``"44.0225, -92.4668"``, ``"44.0225° N, 92.4668° W"``, DMS.

A pair written the wrong way round is read as ``lon, lat`` only when that is unambiguous for a
U.S. product (the order as written is impossible, or lies outside the United States while the
swapped order lies inside); the note returned with the point says so. Out-of-range pairs raise
:class:`~geo.errors.GeocodeError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo.errors import GeocodeError
from geo.geocode.us import in_us
from geo.types import LonLat

__all__ = ["format_degrees", "parse_latlon", "parse_literal"]

_NUM = r"\d+(?:\.\d*)?|\.\d+"
_COORD = (
    rf"(?P<pre{{i}}>[NSEW])?\s*(?P<sign{{i}}>[-+−–])?\s*"
    rf"(?P<deg{{i}}>{_NUM})\s*(?P<dmark{{i}}>°|º|˚|\s?deg(?:rees)?\b)?\s*"
    rf"(?:(?P<min{{i}}>{_NUM})\s*['′’]\s*)?"
    rf"(?:(?P<sec{{i}}>{_NUM})\s*(?:\"|″|”|''|′′)\s*)?"
    rf"(?P<post{{i}}>[NSEW](?![A-Za-z]))?"
)
_LITERAL = re.compile(
    r"^\s*[(\[]?\s*"
    + _COORD.format(i=1)
    + r"\s*(?P<sep>[,;/]|\s)\s*"
    + _COORD.format(i=2)
    + r"\s*[)\]]?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Part:
    value: float
    axis: str | None  # "lat", "lon" or None (no hemisphere letter)
    marked: bool  # had a decimal point, degree sign or hemisphere letter


def _part(m: re.Match[str], i: int) -> _Part | None:
    pre, post = m.group(f"pre{i}"), m.group(f"post{i}")
    if pre and post:
        return None
    hemi = (pre or post or "").upper()
    deg = float(m.group(f"deg{i}"))
    minutes = float(m.group(f"min{i}") or 0.0)
    seconds = float(m.group(f"sec{i}") or 0.0)
    if minutes >= 60 or seconds >= 60:
        raise GeocodeError(
            "coordinates: minutes and seconds must be below 60 (write degrees as 44°01′21″ "
            "or as decimal degrees like 44.0225)"
        )
    value = deg + minutes / 60.0 + seconds / 3600.0
    if m.group(f"sign{i}") in ("-", "−", "–") or hemi in ("S", "W"):
        value = -value
    axis = {"N": "lat", "S": "lat", "E": "lon", "W": "lon"}.get(hemi)
    marked = bool(hemi or m.group(f"dmark{i}") or "." in m.group(f"deg{i}") or m.group(f"min{i}"))
    return _Part(value, axis, marked)


def format_degrees(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def parse_literal(text: str) -> tuple[LonLat, str] | None:
    """``(point, note)`` for a coordinate literal, ``None`` when the text is not one."""
    m = _LITERAL.match(text)
    if m is None:
        return None
    a, b = _part(m, 1), _part(m, 2)
    if a is None or b is None:
        return None
    # "44 92" could be anything (house number and street, ZIP fragments): only a comma-like
    # separator or a decimal point / degree sign / hemisphere letter makes it coordinates.
    if m.group("sep").isspace() and not (a.marked or b.marked):
        return None
    note = ""
    if a.axis or b.axis:
        if a.axis and b.axis and a.axis == b.axis:
            kind = "latitudes (N/S)" if a.axis == "lat" else "longitudes (E/W)"
            raise GeocodeError(f"coordinates: both values are {kind}; give one of each")
        first_is_lat = a.axis == "lat" or b.axis == "lon"
        lat, lon = (a.value, b.value) if first_is_lat else (b.value, a.value)
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise GeocodeError(_range_message(lat, lon))
        return LonLat(lon, lat), note
    x, y = a.value, b.value
    as_written = abs(x) <= 90.0 and abs(y) <= 180.0
    swapped = abs(y) <= 90.0 and abs(x) <= 180.0
    # Read the other way round only when that lands in the United States: "91, -83" is a
    # latitude out of range, not a swapped pair (swapped it would be in Antarctica).
    if not as_written and not (swapped and in_us(x, y)):
        raise GeocodeError(_range_message(x, y))
    if as_written and (not swapped or in_us(y, x) or not in_us(x, y)):
        return LonLat(y, x), note
    if not as_written:
        note = (
            f"read as longitude, latitude: {format_degrees(x)} cannot be a latitude "
            "(write latitude first: 44.0225, -92.4668)"
        )
    else:
        note = (
            "read as longitude, latitude: written as latitude, longitude the point would lie "
            "outside the United States (write latitude first: 44.0225, -92.4668)"
        )
    return LonLat(x, y), note


def _range_message(lat: float, lon: float) -> str:
    return (
        f"coordinates out of range: {format_degrees(lat)}, {format_degrees(lon)} (latitude must "
        "be within -90..90 and longitude within -180..180; write latitude first, "
        "e.g. 44.0225, -92.4668)"
    )


def parse_latlon(text: str) -> LonLat | None:
    """The point written in ``text`` as ``"lat, lon"``, or ``None`` if the text is not coordinates.

    Accepts ``"44.0225, -92.4668"``, ``"44.0225 -92.4668"``, ``"(44.0225, -92.4668)"``,
    ``"44.0225° N, 92.4668° W"`` and degrees-minutes-seconds (``44°01′21″N 92°28′00″W``).
    A pair given as ``lon, lat`` is swapped back when that is unambiguous (see module docs).

    Raises
    ------
    GeocodeError
        The text is a pair of coordinates but out of range (or two latitudes).
    """
    parsed = parse_literal(text)
    return None if parsed is None else parsed[0]
