"""A site's own lodging list: preferred or contracted hotels, from a CSV.

Same rules as site files (:mod:`sites.registry`): every bad row is named in one
:class:`~geo.errors.SiteFileError`, no row is dropped silently.

Columns (names matched case-insensitively; extra columns are kept):

=================  ===============================================================
name               required: what the coordinator calls the place
lat, lon           coordinates (also latitude/longitude, y/x ...), or
address            street address (with city/state/zip columns if separate), geocoded
kind               optional: one of :data:`~geo.lodging.catalogue.KINDS` (``hotel`` ...)
note               optional: e.g. "contracted rate, ask for the trial desk" (also notes/comment)
eligibility_note   optional: who may stay (also eligibility)
website, phone     optional
=================  ===============================================================

The frame has the columns of OSM lodging (:data:`geo.lodging.catalogue.LODGING_COLUMNS`) plus
``note`` and
``preferred`` (always True), so :func:`geo.lodging.find_lodging` lists these places first.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import SiteFileError, ValidationError
from geo.lodging.catalogue import KINDS, LODGING_COLUMNS
from geo.places import (
    PointGeocoder,
    as_text_source,
    detect_columns,
    is_blank,
    locate_row,
    read_table,
)

LIST_COLUMNS = [*LODGING_COLUMNS, "note", "preferred"]
"""Columns of a lodging list frame, in order, before extras and ``geometry``."""

_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "hotel", "hotel_name", "lodging", "property"),
    "kind": ("kind", "type", "lodging_type"),
    "note": ("note", "notes", "comment", "comments"),
    "eligibility_note": ("eligibility_note", "eligibility"),
    "website": ("website", "url", "web"),
    "phone": ("phone", "telephone", "tel"),
    "postcode": ("postcode", "zip", "zipcode", "zip_code", "postal_code"),
    "city": ("city",),
}


def _norm(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.strip().lower()).strip("_")


def _find(columns: list[str], field: str) -> str | None:
    by_norm = {_norm(c): c for c in columns}
    return next((by_norm[a] for a in _ALIASES[field] if a in by_norm), None)


def _as_text_source(source: str | Path | IO[bytes] | IO[str]) -> str | Path | IO[str]:
    try:
        return as_text_source(source, "lodging list (CSV expected)")
    except ValidationError as exc:
        raise SiteFileError(str(exc)) from None


_STREET_NAMES = ("address", "full_address", "street_address", "location", "place", "addr", "street")


def read_lodging_list(
    source: str | Path | IO[bytes] | IO[str],
    geocoder: PointGeocoder | None = None,
    filename: str | None = None,
) -> gpd.GeoDataFrame:
    """Read and check a CSV of preferred lodging (path or uploaded file object).

    Parameters
    ----------
    source
        Path, or a file object (bytes or text) such as a Streamlit upload.
    geocoder
        Used for rows with an address but no coordinates; without one such rows are errors.
    filename
        Name used in messages and in the ``source`` column for file objects.

    Raises
    ------
    SiteFileError
        Listing every problem: missing ``name`` column, blank names, unparseable or out-of-range
        coordinates (swapped lat/lon named as such), rows with neither coordinates nor address,
        addresses that could not be located, unknown kinds.
    """
    if filename:
        label = filename
    else:
        label = str(source) if isinstance(source, (str, Path)) else "uploaded lodging list"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise SiteFileError(f"lodging list not found: {path}")
        if path.suffix.lower() not in ("", ".csv", ".txt", ".tsv"):
            raise SiteFileError(f"{label}: unsupported file type; use a CSV file")
    try:
        df = read_table(_as_text_source(source), name=label)
    except ValidationError as exc:
        raise SiteFileError(str(exc)) from None
    cols = list(df.columns)
    cmap = detect_columns(cols)
    name_col = _find(cols, "name")
    header_problems = []
    if name_col is None:
        header_problems.append("missing column 'name' (the hotel's name)")
    if not cmap.has_coordinates and not cmap.address:
        header_problems.append(
            "missing columns: need lat/lon (or latitude/longitude) columns, or an address column "
            "to geocode"
        )
    if header_problems:
        raise SiteFileError(
            f"{label} cannot be used as a lodging list (columns found: {', '.join(cols)})",
            header_problems,
        )
    assert name_col is not None
    kind_col = _find(cols, "kind")

    n = len(df)
    problems: list[str] = []
    lons = np.full(n, np.nan)
    lats = np.full(n, np.nan)
    kinds = np.full(n, "", dtype=object)
    for i in range(n):
        row = df.iloc[i]
        where = f"row {i + 1} (line {i + 2})"
        if is_blank(row[name_col]):
            problems.append(f"{where}: empty name")
        if kind_col is not None and not is_blank(row[kind_col]):
            kind = str(row[kind_col]).strip().lower().replace(" ", "_").replace("-", "_")
            if kind not in KINDS:
                problems.append(f"{where}: kind {row[kind_col]!r} is not one of {', '.join(KINDS)}")
            kinds[i] = kind
        located = locate_row(row, cmap, geocoder, where)
        if isinstance(located, str):
            problems.append(located)
        else:
            lons[i], lats[i] = located
    if problems:
        raise SiteFileError(f"{label}: {len(problems)} problem(s) in the lodging list", problems)

    def text(field: str) -> pd.Series:
        col = _find(cols, field)
        if col is None:
            return pd.Series([""] * n, index=df.index, dtype=object)
        return df[col].astype(str).str.strip()

    address_col = next((c for c in cmap.address if _norm(c) in _STREET_NAMES), None)
    out = pd.DataFrame(
        {
            "osm_id": "",
            "kind": kinds,
            "name": df[name_col].astype(str).str.strip(),
            "address": df[address_col].astype(str).str.strip() if address_col else "",
            "city": text("city"),
            "postcode": text("postcode"),
            "website": text("website"),
            "phone": text("phone"),
            "eligibility_note": text("eligibility_note"),
            "source": f"your list ({Path(label).name})",
            "data_date": "",
            "note": text("note"),
            "preferred": True,
        },
        index=df.index,
    )
    used = {name_col, kind_col, cmap.lat, cmap.lon, address_col}
    used |= {_find(cols, f) for f in _ALIASES}
    extras = [c for c in cols if c not in used and c not in out.columns]
    frame = pd.concat([out, df[extras]], axis=1).reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4326")


__all__ = ["LIST_COLUMNS", "read_lodging_list"]
