"""Which columns of a table of places hold what, and reading one cell: names, numbers, blanks.

Coordinate columns are found under common names (lat/latitude/y …), address text under
``address``/``location`` … or as parts (street, city, state, zip) joined into one line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ADDRESS_NAMES",
    "ADDRESS_PARTS",
    "LAT_NAMES",
    "LON_NAMES",
    "ColumnMap",
    "detect_columns",
    "is_blank",
    "join_address",
    "parse_number",
]

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


def join_address(row: pd.Series, columns: Sequence[str]) -> str:
    parts = [str(row[c]).strip() for c in columns if not is_blank(row[c])]
    # "12345.0" from numeric ZIP columns
    return ", ".join(re.sub(r"^(\d{5})\.0$", r"\1", p) for p in parts)
