"""Checks of latitude/longitude pairs read from a table: range, and swapped columns, vectorised."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geo.geocode.us import US_BOXES
from geo.types import BoolArray, FloatArray

__all__ = ["ObjectArray", "coordinate_problem", "coordinate_problems", "in_us_many"]

ObjectArray = npt.NDArray[np.object_]


def in_us_many(lon: FloatArray, lat: FloatArray) -> BoolArray:
    """Which points lie in the boxes around the United States and its territories.

    Parameters
    ----------
    lon, lat
        Coordinates in degrees (EPSG:4326); NaN is never inside.

    Returns
    -------
    numpy.ndarray
        Boolean, one per point.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    inside = np.zeros(lon.shape, dtype=bool)
    for lat_min, lat_max, lon_min, lon_max in US_BOXES:  # seven boxes, not rows
        inside |= (lat >= lat_min) & (lat <= lat_max) & (lon >= lon_min) & (lon <= lon_max)
    return inside


def coordinate_problems(lat: FloatArray, lon: FloatArray) -> ObjectArray:
    """Why each lat/lon pair cannot be used as written ("" when it can), vectorised.

    The same checks as a single typed place (:mod:`geo.geocode.literals`): a value that is not a
    finite number, a latitude outside -90..90 or a longitude outside -180..180 is out of range
    (called *swapped* only when the swapped pair lies in the United States), and an in-range pair
    that lies outside the United States while the swapped pair lies inside it is reported as
    swapped. A batch never swaps silently: the row's columns say which is which.

    Parameters
    ----------
    lat, lon
        Degrees as read from the table (NaN or inf allowed).

    Returns
    -------
    numpy.ndarray
        Object array of messages, "" where the pair is fine.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    finite = np.isfinite(lat) & np.isfinite(lon)
    in_range = finite & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    swapped_in_us = finite & in_us_many(lat, lon)
    here_in_us = in_us_many(lon, lat)
    out = np.full(lat.shape, "", dtype=object)
    lat_s = lat.astype(str).astype(object)
    lon_s = lon.astype(str).astype(object)
    not_finite = ~finite
    out[not_finite] = (
        ("coordinates are not finite numbers (lat " + lat_s[not_finite] + ", lon ")
        + lon_s[not_finite]
        + ")"
    )
    bad_range = finite & ~in_range
    swap_hint = bad_range & swapped_in_us & (np.abs(lat) > 90)
    out[swap_hint] = (
        "latitude " + lat_s[swap_hint] + (" is out of range; latitude and longitude look swapped")
    )
    other = bad_range & ~swap_hint
    out[other] = "coordinates out of range (lat " + lat_s[other] + ", lon " + lon_s[other] + ")"
    looks_swapped = in_range & ~here_in_us & swapped_in_us
    out[looks_swapped] = (
        "lat "
        + lat_s[looks_swapped]
        + ", lon "
        + lon_s[looks_swapped]
        + (
            " lies outside the United States, but read the other way round it lies inside:"
            " latitude and longitude look swapped"
        )
    )
    return out


def coordinate_problem(lat: float, lon: float, us_only: bool = False) -> str | None:
    """Why a lat/lon pair is wrong, or None if it is fine. Detects likely swapped columns.

    See :func:`coordinate_problems`; ``us_only`` (site tables) also flags a U.S.-looking pair
    with a positive longitude.
    """
    problem = str(coordinate_problems(np.array([lat]), np.array([lon]))[0])
    in_range = abs(lat) <= 90 and abs(lon) <= 180
    if us_only and in_range and _looks_swapped_us(lat, lon):
        return (
            f"lat {lat}, lon {lon} looks like longitude and latitude swapped "
            "(US sites have lon < 0)"
        )
    return problem or None


def _looks_swapped_us(lat: float, lon: float) -> bool:
    return -180 <= lat <= -60 and 15 <= lon <= 75
