"""Load, validate and list site sets.

Schema of every site GeoDataFrame (EPSG:4326), in this order, then any extra input columns kept:

==============  ==============================================================
site_id         unique id (text)
name            what a coordinator calls the site
institution     the organisation (may equal name)
address         street address
city, state     city and two-letter state (US) or region
zip             postal code (text, leading zeros kept)
country         country name
status          e.g. ``recruiting``, ``active``, ``open`` (lower case)
geometry        Point(lon, lat)
==============  ==============================================================

Built-in sets live in ``data/sites`` and ``data/facilities`` (sources in ``data/README.md``).
User files: CSV with lat/lon columns under common names (or an address column to geocode), or
GeoJSON with Point features. Validation collects every problem and raises one
:class:`~geo.errors.SiteFileError` naming rows and columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import SiteFileError, UnknownSiteSetError, ValidationError
from geo.places import PointGeocoder, as_text_source, detect_columns, locate_row, read_table
from geo.settings import Settings, get_settings
from geo.types import FloatArray

SCHEMA_COLUMNS = [
    "site_id",
    "name",
    "institution",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "status",
]


@dataclass(frozen=True)
class SiteSet:
    """A built-in site set."""

    name: str
    title: str
    path: str
    """Path relative to the data directory."""
    source: str
    licence: str
    rename: tuple[tuple[str, str], ...] = ()
    """Input column → schema column."""
    defaults: tuple[tuple[str, str], ...] = ()
    """Schema columns filled with a constant when absent."""


BUILTIN: dict[str, SiteSet] = {
    s.name: s
    for s in (
        SiteSet(
            name="resolution",
            title="RESOLUTION trial (ALLO-329, NCT07085104): sites known from public pages",
            path="sites/resolution.csv",
            source="Mayo Clinic trial page cls-20589941; full list: ClinicalTrials.gov NCT07085104",
            licence="facts",
        ),
        SiteSet(
            name="nci-centers",
            title="NCI-designated cancer centres that see patients (68, flagship hospital points)",
            path="sites/nci_cancer_centers.csv",
            source="cancer.gov list; points from HIFLD Hospitals (US DHS)",
            licence="public domain / facts",
            rename=(
                ("anchor_facility", "institution"),
                ("anchor_address", "address"),
                ("anchor_zip", "zip"),
            ),
            defaults=(("country", "United States"), ("status", "open")),
        ),
        SiteSet(
            name="hospitals",
            title="US hospitals (HIFLD, 8,013): candidate sites for planners",
            path="facilities/hifld_hospitals.csv",
            source="HIFLD Hospitals (US DHS), source dates mostly 2021",
            licence="public domain",
            rename=(("id", "site_id"),),
            defaults=(("country", "United States"),),
        ),
        SiteSet(
            name="demo",
            title=(
                "Demo: three hospitals on the shipped OpenStreetMap extracts "
                "(Hershey and Harrisburg PA, Columbus OH)"
            ),
            path="sites/demo.csv",
            source="hospital addresses; points checked against the shipped OSM extracts",
            licence="facts",
        ),
    )
}


def builtin_site_sets(settings: Settings | None = None) -> dict[str, SiteSet]:
    """Built-in site sets whose data file is present."""
    s = settings or get_settings()
    return {k: v for k, v in BUILTIN.items() if (s.data_dir / v.path).exists()}


def load_site_set(
    name_or_path: str | Path,
    geocoder: PointGeocoder | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """A built-in set by name (``resolution``, ``nci-centers``, ``hospitals``, ``demo``) or path."""
    s = settings or get_settings()
    key = str(name_or_path)
    if key in BUILTIN:
        spec = BUILTIN[key]
        path = s.data_dir / spec.path
        if not path.exists():
            raise UnknownSiteSetError(f"site set {key!r} has no data file at {path}")
        df = read_table(path, name=str(path))
        df = df.rename(columns=dict(spec.rename))
        for col, value in spec.defaults:
            if col not in df.columns:
                df[col] = value
        return _validated(df, geocoder, label=key)
    path = Path(key).expanduser()
    if path.exists():
        return read_site_file(path, geocoder=geocoder)
    raise UnknownSiteSetError(
        f"no site set called {key!r} and no such file; built-in sets: {', '.join(BUILTIN)}"
    )


def read_site_file(
    source: str | Path | IO[bytes] | IO[str],
    geocoder: PointGeocoder | None = None,
    filename: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's site file (CSV or GeoJSON, path or uploaded file object) and validate it."""
    name = filename or (str(source) if isinstance(source, (str, Path)) else "uploaded file")
    if name.lower().endswith((".geojson", ".json")):
        return _read_geojson(source, name, geocoder)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() not in (
        "",
        ".csv",
        ".txt",
        ".tsv",
    ):
        raise SiteFileError(f"{name}: unsupported file type; use CSV or GeoJSON")
    try:
        df = read_table(_as_text_source(source), name=name)
    except SiteFileError:
        raise
    except ValidationError as exc:
        raise SiteFileError(str(exc)) from None
    return _validated(df, geocoder, label=name)


def _as_text_source(source: str | Path | IO[bytes] | IO[str]) -> str | Path | IO[str]:
    try:
        return as_text_source(source, "file (CSV or GeoJSON expected)")
    except ValidationError as exc:
        raise SiteFileError(str(exc)) from None


def _read_geojson(
    source: str | Path | IO[bytes] | IO[str], name: str, geocoder: PointGeocoder | None
) -> gpd.GeoDataFrame:
    try:
        if isinstance(source, (str, Path)):
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        else:
            raw = source.read()
            data = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SiteFileError(f"{name} is not valid GeoJSON: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not features:
        raise SiteFileError(f"{name} has no features")
    rows, problems = [], []
    for i, feat in enumerate(features, start=1):
        props = dict(feat.get("properties") or {})
        geom = feat.get("geometry") or {}
        if geom.get("type") != "Point":
            problems.append(f"feature {i}: geometry is {geom.get('type')!r}, a Point is needed")
            continue
        coords = geom.get("coordinates") or []
        if len(coords) < 2:
            problems.append(f"feature {i}: Point has no coordinates")
            continue
        props["lon"], props["lat"] = coords[0], coords[1]
        rows.append({k: ("" if v is None else str(v)) for k, v in props.items()})
    if problems:
        raise SiteFileError(f"{name} cannot be used as a site file", problems)
    return _validated(pd.DataFrame(rows), geocoder, label=name)


def _validated(df: pd.DataFrame, geocoder: PointGeocoder | None, label: str) -> gpd.GeoDataFrame:
    """Check every row; raise one SiteFileError listing every problem; return the schema frame."""
    problems: list[str] = []
    cmap = detect_columns(df.columns)
    if not cmap.has_coordinates and not cmap.address:
        raise SiteFileError(
            f"{label}: missing columns — need lat/lon (or latitude/longitude) columns, or an "
            f"address column to geocode; found: {', '.join(df.columns)}"
        )
    if "name" not in df.columns:
        for alt in ("site_name", "facility", "site"):
            if alt in df.columns:
                df = df.rename(columns={alt: "name"})
                break
        else:
            problems.append("missing column 'name' (the site's name)")
    if "site_id" not in df.columns:
        df = df.copy()
        df["site_id"] = [f"S{i:04d}" for i in range(1, len(df) + 1)]

    lons = np.full(len(df), np.nan)
    lats = np.full(len(df), np.nan)
    needs_look = np.ones(len(df), dtype=bool)
    if cmap.has_coordinates:
        # Fast path, vectorised: rows whose coordinates parse and are in range.
        la_num = pd.to_numeric(df[cmap.lat].astype(str).str.strip(), errors="coerce").to_numpy(
            float
        )
        lo_num = pd.to_numeric(df[cmap.lon].astype(str).str.strip(), errors="coerce").to_numpy(
            float
        )
        ok = (
            np.isfinite(la_num)
            & np.isfinite(lo_num)
            & (np.abs(la_num) <= 90)
            & (np.abs(lo_num) <= 180)
            & ~((la_num <= -60) & (lo_num >= 15) & (lo_num <= 75))
        )
        lats[ok], lons[ok] = la_num[ok], lo_num[ok]
        needs_look = ~ok
    for i in np.flatnonzero(needs_look):
        row = df.iloc[i]
        us = str(row.get("country", "")).strip().lower() in ("", "us", "usa", "united states")
        located = locate_row(row, cmap, geocoder, f"row {i + 1} (line {i + 2})", us_only=us)
        if isinstance(located, str):
            problems.append(located)
        else:
            lons[i], lats[i] = located

    ids = df["site_id"].astype(str).str.strip()
    blank_ids = ids == ""
    for i in np.flatnonzero(blank_ids.to_numpy()):
        problems.append(f"row {i + 1} (line {i + 2}): empty site_id")
    dup = ids.duplicated(keep=False) & ~blank_ids
    for sid in sorted(set(ids[dup])):
        rows = ", ".join(str(i + 1) for i in np.flatnonzero((ids == sid).to_numpy()))
        problems.append(f"duplicate site_id {sid!r} in rows {rows}")
    if problems:
        raise SiteFileError(f"{label}: {len(problems)} problem(s) in the site file", problems)

    out = df.copy()
    out["site_id"] = ids
    for col in SCHEMA_COLUMNS:
        if col not in out.columns:
            out[col] = out["name"] if col == "institution" else ""
    out["status"] = out["status"].astype(str).str.strip().str.lower()
    drop = {c for c in (cmap.lat, cmap.lon) if c}
    extras = [c for c in out.columns if c not in SCHEMA_COLUMNS and c not in drop]
    gdf = gpd.GeoDataFrame(
        out[SCHEMA_COLUMNS + extras].reset_index(drop=True),
        geometry=gpd.points_from_xy(lons, lats),
        crs="EPSG:4326",
    )
    return gdf


def site_coordinates(sites: gpd.GeoDataFrame) -> FloatArray:
    """(n, 2) lon/lat array of a site frame."""
    return np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])


def filter_sites(
    sites: gpd.GeoDataFrame, predicate: Callable[[pd.DataFrame], pd.Series] | None = None
) -> gpd.GeoDataFrame:
    """Sites for which ``predicate`` holds (all when None), index reset."""
    if predicate is None:
        return sites
    return sites[predicate(sites)].reset_index(drop=True)


def describe_validation_error(exc: ValidationError) -> str:
    """The text a user sees for a site-file problem."""
    return str(exc)
