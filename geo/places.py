"""Tables of places (lodgings, homes, sites): which columns hold what; row-level parsing.

Shared by the site loader (strict: any bad row stops the load with every problem listed) and the
batch check (lenient: a bad row becomes an ``unknown`` row with its own message; none is dropped).
"""

from __future__ import annotations

import codecs
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import GeocodeError, ValidationError
from geo.geocode.us import US_BOXES
from geo.types import BoolArray, FloatArray, GeocodeResult, LonLat

ObjectArray = npt.NDArray[np.object_]

LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "latitude_dd", "geo_lat")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "longitude_dd", "geo_lon")
ADDRESS_NAMES = ("address", "full_address", "street_address", "location", "place", "addr")
ADDRESS_PARTS = ("address", "street", "city", "state", "zip", "zipcode", "zip_code", "postal_code")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """Which input columns hold the coordinates and/or the address text."""

    lat: str | None
    lon: str | None
    address: tuple[str, ...]
    """Columns joined with ", " to make the address text (street, city, state, zip ...)."""

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


def detect_columns(columns: Iterable[str]) -> ColumnMap:
    """Find lat/lon columns under common names, and address columns."""
    cols = list(columns)
    by_norm = {_norm(c): c for c in cols}
    lat = next((by_norm[n] for n in LAT_NAMES if n in by_norm), None)
    lon = next((by_norm[n] for n in LON_NAMES if n in by_norm), None)
    full = next((by_norm[n] for n in ADDRESS_NAMES if n in by_norm), None)
    parts = [by_norm[n] for n in ADDRESS_PARTS if n in by_norm and by_norm[n] != full]
    address: tuple[str, ...] = ()
    if full is not None:
        # A full address column plus separate city/state/zip columns: join them all.
        address = (
            full,
            *[
                p
                for p in parts
                if _norm(p) in ("city", "state", "zip", "zipcode", "zip_code", "postal_code")
            ],
        )
    elif parts:
        address = tuple(parts)
    return ColumnMap(lat=lat, lon=lon, address=address)


def parse_number(value: object) -> float | None:
    """A float from a cell ("44.02", " -92.4 ", "44,02" is rejected); None if empty/unparseable."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.floating, np.integer)):
        f = float(value)
        return None if math.isnan(f) else f
    text = str(value).strip().replace("°", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip() == "" or str(value).strip().lower() in ("nan", "none", "null")


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


def join_address(row: pd.Series, columns: Sequence[str]) -> str:
    parts = [str(row[c]).strip() for c in columns if not is_blank(row[c])]
    # "12345.0" from numeric ZIP columns
    return ", ".join(re.sub(r"^(\d{5})\.0$", r"\1", p) for p in parts)


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


DELIMITERS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
"""Field separators a table may use, and how messages name them."""


def decode_text(data: bytes, name: str = "file") -> tuple[str, str]:
    """``(text, note)``: UTF-8 (a BOM is dropped), UTF-16 with its mark, else Windows-1252.

    The note says what was assumed ("" for UTF-8).

    Parameters
    ----------
    data
        The file's bytes.
    name
        How messages name the file.

    Raises
    ------
    ValidationError
        The bytes are neither (binary data such as a spreadsheet or an image).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), f"{name}: UTF-16 text (it starts with a UTF-16 mark)"
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data[:4096]:
        raise ValidationError(
            f"{name} is not a text file (save a spreadsheet as CSV: File → Save As → CSV)"
        )
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValidationError(
            f"{name} is not UTF-8 (nor Windows-1252) text; save it as CSV UTF-8"
        ) from None
    return text, f"{name}: not UTF-8 text; read as Windows-1252"


def sniff_delimiter(text: str) -> str:
    """The field separator of a table: the candidate most frequent in its header line.

    Only separators outside double quotes count; a header with none of them is one column and
    reads as comma-separated.
    """
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def as_text_source(source: str | Path | IO[bytes] | IO[str], what: str) -> str | Path | IO[str]:
    """A path as it is, or an uploaded file object as text (UTF-8 or Windows-1252)."""
    if isinstance(source, (str, Path)):
        return source
    data = source.read()
    if isinstance(data, bytes):
        data, _ = decode_text(data, f"the uploaded {what}")
    return io.StringIO(data)


def read_table(source: object, name: str = "file") -> pd.DataFrame:
    """Read a CSV (path or file-like) as text columns; raise ValidationError if unreadable/empty.

    The separator (comma, semicolon, tab, pipe) is taken from the header line and the encoding
    is UTF-8 or, failing that, Windows-1252; what was assumed is listed in
    ``frame.attrs["read_notes"]`` (empty for a plain UTF-8 comma-separated file).

    Raises
    ------
    ValidationError
        Missing file, a folder, binary data, no rows, or text that is not a table.
    """
    notes: list[str] = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ValidationError(f"{name}: no such file (check the path and the file name)")
        if path.is_dir():
            raise ValidationError(f"{name} is a folder, not a file")
        text, note = decode_text(path.read_bytes(), name)
    else:
        data = source.read()  # type: ignore[attr-defined]
        if isinstance(data, bytes):
            text, note = decode_text(data, name)
        else:
            text, note = str(data), ""
    if note:
        notes.append(note)
    delimiter = sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"{name}: {DELIMITERS[delimiter]}-separated; read as such")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{name} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{name} is not a readable CSV: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ValidationError(f"{name} has a header but no rows")
    table: pd.DataFrame = df
    table.attrs["read_notes"] = tuple(notes)
    return table


def without_columns(table: pd.DataFrame, names: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """``table`` without the columns named in ``names``, and the names it dropped (in order).

    Used to drop the result columns of an earlier run from a results file checked again, so an
    old verdict can neither sit next to the new one nor shadow it.
    """
    wanted = set(names)
    dropped = [str(c) for c in table.columns if c in wanted]
    return table.drop(columns=dropped), dropped


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
