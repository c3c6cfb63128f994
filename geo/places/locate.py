"""Rows of a table of places to points: strict for site lists (:func:`locate_row`), lenient for
a batch check (:func:`locate_places`: a row that cannot be located keeps its place and says why).
"""

from __future__ import annotations

from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import GeocodeError, ValidationError
from geo.places.columns import ColumnMap, detect_columns, is_blank, join_address, parse_number
from geo.places.coordinates import coordinate_problem, coordinate_problems
from geo.types import BoolArray, FloatArray, GeocodeResult, LonLat

__all__ = ["PLACE_COLUMNS", "PointGeocoder", "locate_places", "locate_row", "point_from_row"]


def locate_row(
    row: pd.Series,
    cmap: ColumnMap,
    geocoder: PointGeocoder | None,
    where: str,
    us_only: bool = True,
) -> tuple[float, float] | str:
    """(lon, lat) of one row of a strict table (sites, lodging lists), or the problem with it.

    Coordinates win when present; otherwise the address columns are geocoded. The message names
    the row (``where``) and the column, and says what to do.
    """
    lat_c, lon_c = cmap.lat or "", cmap.lon or ""
    if cmap.has_coordinates and not (is_blank(row[lat_c]) and is_blank(row[lon_c])):
        la, lo = parse_number(row[lat_c]), parse_number(row[lon_c])
        if la is None or lo is None:
            col = lat_c if la is None else lon_c
            return f"{where}: column {col!r} value {row[col]!r} is not a number"
        problem = coordinate_problem(la, lo, us_only=us_only)
        if problem:
            return f"{where}: {problem}"
        return (lo, la)
    addr = join_address(row, cmap.address) if cmap.address else ""
    if not addr:
        missing = "lat/lon" if cmap.has_coordinates else "the address"
        return f"{where}: no coordinates and no address ({missing} is empty)"
    if geocoder is None:
        return f"{where}: has an address but no coordinates, and geocoding was not enabled"
    try:
        result = geocoder.geocode(addr)
    except Exception as exc:  # GeocodeError or NetworkError: reported for this row
        return f"{where}: address could not be located ({exc})"
    return (result.point.lon, result.point.lat)


class PointGeocoder(Protocol):
    """What the loaders need from a geocoder (see :class:`geo.geocode.Geocoder`)."""

    def geocode(self, text: str) -> GeocodeResult:  # pragma: no cover - protocol
        raise NotImplementedError


PLACE_COLUMNS = ["place", "lon", "lat", "precision", "geocode_source", "geocode_note", "error"]


def locate_places(
    df: pd.DataFrame,
    geocoder: PointGeocoder | None,
    columns: ColumnMap | None = None,
    progress: object | None = None,
) -> gpd.GeoDataFrame:
    """Turn a table of places into points, row by row, never dropping a row.

    Returns the input columns plus ``place`` (the text used), ``lon``, ``lat``, ``precision``,
    ``geocode_source``, ``geocode_note`` and ``error`` (empty when the row is fine), with the
    input's index. Rows that cannot be located keep an empty geometry and a specific message.
    """
    cmap = columns or detect_columns(df.columns)
    if not cmap.has_coordinates and not cmap.address:
        raise ValidationError(
            "the table has neither coordinate columns (lat/lon, latitude/longitude) nor an address "
            "column (address, or street/city/state/zip); its columns are: "
            + ", ".join(map(str, df.columns))
        )
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    precision = np.full(n, "", dtype=object)
    source = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    error = np.full(n, "", dtype=object)
    text = np.full(n, "", dtype=object)
    labels = np.array([f"row {i + 1}" for i in range(n)], dtype=object)
    if cmap.address:
        text[:] = [join_address(row, cmap.address) for _, row in df[list(cmap.address)].iterrows()]
    has_coords = np.zeros(n, dtype=bool)
    if cmap.has_coordinates:
        lat_c, lon_c = cmap.lat or "", cmap.lon or ""
        lat_raw, lon_raw = df[lat_c], df[lon_c]
        lat_num, lat_blank = _numbers(lat_raw)
        lon_num, lon_blank = _numbers(lon_raw)
        has_coords = ~(lat_blank & lon_blank)
        bad_lat = has_coords & np.isnan(lat_num)
        bad_lon = has_coords & ~bad_lat & np.isnan(lon_num)
        for bad, col, raw in ((bad_lat, lat_c, lat_raw), (bad_lon, lon_c, lon_raw)):
            shown = np.array([repr(str(v)) for v in raw.to_numpy()[bad]], dtype=object)
            error[bad] = labels[bad] + f": {col} " + shown + " is not a number"
        parsed = has_coords & ~bad_lat & ~bad_lon
        problems = coordinate_problems(lat_num, lon_num)
        wrong = parsed & (problems != "")
        error[wrong] = labels[wrong] + ": " + problems[wrong]
        ok = parsed & ~wrong
        lon[ok], lat[ok] = lon_num[ok], lat_num[ok]
        precision[ok] = "coordinates"
        source[ok] = "coordinates"
        unnamed = ok & (text == "")
        text[unnamed] = [
            f"{la:.5f}, {lo:.5f}" for la, lo in zip(lat[unnamed], lon[unnamed], strict=True)
        ]
    empty = ~has_coords & (text == "")
    error[empty] = labels[empty] + ": empty — no address and no coordinates"
    to_geocode = np.flatnonzero(~has_coords & (text != ""))
    if geocoder is None:
        error[to_geocode] = labels[to_geocode] + ": has an address but no geocoder was given"
        to_geocode = to_geocode[:0]
    outcomes = _geocode_all(geocoder, [str(t) for t in text[to_geocode]], n, progress)
    for i, outcome in zip(to_geocode, outcomes, strict=True):
        if isinstance(outcome, GeocodeError):
            error[i] = f"{labels[i]}: {outcome}"
            continue
        lon[i], lat[i] = outcome.point.lon, outcome.point.lat
        precision[i] = outcome.precision.value
        source[i] = outcome.source
        note[i] = outcome.note
    out = df.copy()
    out["place"] = text
    out["lon"] = lon
    out["lat"] = lat
    out["precision"] = precision
    out["geocode_source"] = source
    out["geocode_note"] = note
    out["error"] = error
    geometry = gpd.points_from_xy(lon, lat)
    geometry[~np.isfinite(lon)] = None
    return gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326")


def _geocode_all(
    geocoder: PointGeocoder | None, texts: list[str], n: int, progress: object | None
) -> list[GeocodeResult | GeocodeError]:
    """Each text's result or error: in one call when the geocoder geocodes many at a time
    (the Census geocoder sends them in batches), else one by one.

    ``progress(done, n)`` counts the rows of the whole table (those not geocoded are done).
    """
    if geocoder is None or not texts:
        return []
    offset = n - len(texts)
    report = progress if callable(progress) else None
    many = getattr(geocoder, "geocode_many", None)
    if callable(many):
        done = None if report is None else (lambda k: report(offset + k, n))
        return list(many(texts, progress=done))
    out: list[GeocodeResult | GeocodeError] = []
    for k, t in enumerate(texts, start=1):
        try:
            out.append(geocoder.geocode(t))
        except GeocodeError as exc:
            out.append(exc)
        if report is not None:
            report(offset + k, n)
    return out


def _numbers(column: pd.Series) -> tuple[FloatArray, BoolArray]:
    """Cells as floats (NaN where not a number) and which cells are blank (see :func:`is_blank`)."""
    text = column.astype("string").fillna("").str.strip()
    blank = text.str.lower().isin(("", "nan", "none", "null")).to_numpy(dtype=bool)
    cleaned = text.str.replace("°", "", regex=False)
    numbers = pd.to_numeric(cleaned.where(~blank, ""), errors="coerce")
    values = np.array(numbers, dtype=float)
    values[blank] = np.nan
    return values, blank


def point_from_row(lon: float, lat: float) -> LonLat:
    return LonLat(lon=lon, lat=lat)
