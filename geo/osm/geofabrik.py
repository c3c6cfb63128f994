"""The index of Geofabrik's OpenStreetMap extracts of US states (``data/geofabrik/us_states.csv``).

One row per state, DC and territory Geofabrik publishes under ``north-america/us/``: its path on the
server and its bounds; :func:`load_extract_index` adds the state's shape from the shipped us-atlas
boundaries (``data/boundaries/states-10m.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GraphBuildError
from geo.settings import Settings, get_settings

__all__ = [
    "BOUNDARIES_FILE",
    "INDEX_COLUMNS",
    "INDEX_FILE",
    "Extract",
    "extract_from_row",
    "load_extract_index",
    "read_state_shapes",
    "state_index_from_boundaries",
]

INDEX_FILE = Path("geofabrik") / "us_states.csv"
"""The shipped index of US state extracts, relative to the data directory."""
BOUNDARIES_FILE = Path("boundaries") / "states-10m.json"
"""US state shapes (us-atlas TopoJSON), relative to the data directory."""
INDEX_COLUMNS = ("name", "fips", "slug", "geofabrik_path", "minlon", "minlat", "maxlon", "maxlat")
_GEOFABRIK_US = "north-america/us"
_NO_GEOFABRIK_EXTRACT = {"60", "66", "69"}
"""American Samoa, Guam, Northern Mariana Islands: Geofabrik has no extract of their own."""
_SLUG_EXCEPTIONS = {"78": "us-virgin-islands"}


@dataclass(frozen=True)
class Extract:
    """One downloadable extract of the index (a US state, DC or a territory)."""

    name: str
    fips: str
    slug: str
    geofabrik_path: str
    """Path below the Geofabrik root, e.g. ``north-america/us/minnesota-latest.osm.pbf``."""
    bounds: tuple[float, float, float, float]
    """Rough (min lon, min lat, max lon, max lat) of the state."""

    @property
    def filename(self) -> str:
        return self.geofabrik_path.rsplit("/", 1)[-1]

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.geofabrik_path.lstrip('/')}"


def _geofabrik_slug(fips: str, name: str) -> str:
    return _SLUG_EXCEPTIONS.get(fips, name.lower().replace(" ", "-"))


def read_state_shapes(path: Path) -> Any:
    """US state shapes (GeoDataFrame: ``fips``, ``name``, geometry in EPSG:4326) from us-atlas."""
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, layer="states")
    except Exception as exc:  # pyogrio raises several types for a missing/bad file
        raise GraphBuildError(f"cannot read the US state shapes from {path}: {exc}") from exc
    frame = frame.rename(columns={"id": "fips"})
    frame["fips"] = frame["fips"].astype(str).str.zfill(2)
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    frame["geometry"] = shapely.make_valid(frame.geometry.to_numpy())
    return frame[["fips", "name", "geometry"]]


def _west_bounds(geom: BaseGeometry) -> tuple[float, float, float, float]:
    """Bounds, with parts east of the antimeridian shifted by −360° (Alaska's far Aleutians)."""
    minx, miny, maxx, maxy = geom.bounds
    if maxx - minx <= 180.0:
        return (float(minx), float(miny), float(maxx), float(maxy))
    parts = shapely.get_parts(geom)
    b = shapely.bounds(parts)
    west = np.where(b[:, 0] > 0, b[:, 0] - 360.0, b[:, 0])
    east = np.where(b[:, 0] > 0, b[:, 2] - 360.0, b[:, 2])
    return (float(west.min()), float(b[:, 1].min()), float(east.max()), float(b[:, 3].max()))


def state_index_from_boundaries(path: Path) -> pd.DataFrame:
    """The index rows (:data:`INDEX_COLUMNS`) derived from the us-atlas state shapes.

    Every state, DC, Puerto Rico and the US Virgin Islands (Geofabrik has an extract of each under
    ``north-america/us/``); bounds rounded outwards to 0.001°. This is how
    ``data/geofabrik/us_states.csv`` was made (``data/geofabrik/make_us_states.py``).
    """
    shapes = read_state_shapes(path)
    shapes = shapes[~shapes["fips"].isin(_NO_GEOFABRIK_EXTRACT)]
    rows = []
    for fips, name, geom in zip(shapes["fips"], shapes["name"], shapes.geometry, strict=True):
        slug = _geofabrik_slug(fips, name)
        minx, miny, maxx, maxy = _west_bounds(geom)
        rows.append(
            {
                "name": name,
                "fips": fips,
                "slug": slug,
                "geofabrik_path": f"{_GEOFABRIK_US}/{slug}-latest.osm.pbf",
                "minlon": np.floor(minx * 1000) / 1000,
                "minlat": np.floor(miny * 1000) / 1000,
                "maxlon": np.ceil(maxx * 1000) / 1000,
                "maxlat": np.ceil(maxy * 1000) / 1000,
            }
        )
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).sort_values("name", ignore_index=True)


def load_extract_index(
    settings: Settings | None = None, path: Path | None = None, *, shapes: bool = True
) -> Any:
    """The index of extracts as a GeoDataFrame (EPSG:4326), one row per extract.

    The geometry is the state's shape from ``data/boundaries/states-10m.json`` where its ``fips``
    matches, else the rectangle of its bounds (also used when ``shapes`` is False).
    """
    import geopandas as gpd

    settings = settings or get_settings()
    path = path or settings.data_dir / INDEX_FILE
    try:
        frame = pd.read_csv(path, dtype={"fips": str, "slug": str, "name": str})
    except (OSError, ValueError) as exc:
        raise GraphBuildError(f"cannot read the extract index {path}: {exc}") from exc
    missing = [c for c in INDEX_COLUMNS if c not in frame.columns]
    if missing:
        raise GraphBuildError(f"the extract index {path} lacks columns: {', '.join(missing)}")
    frame["fips"] = frame["fips"].fillna("").astype(str)
    boxes = shapely.box(frame["minlon"], frame["minlat"], frame["maxlon"], frame["maxlat"])
    geoms = np.array(boxes, dtype=object)
    boundaries = settings.data_dir / BOUNDARIES_FILE
    if shapes and boundaries.is_file():
        states = read_state_shapes(boundaries).set_index("fips").geometry
        found = frame["fips"].map(states)
        has = found.notna().to_numpy()
        geoms[has] = found[has].to_numpy()
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


def extract_from_row(row: Any) -> Extract:
    return Extract(
        name=str(row["name"]),
        fips=str(row["fips"]),
        slug=str(row["slug"]),
        geofabrik_path=str(row["geofabrik_path"]),
        bounds=(
            float(row["minlon"]),
            float(row["minlat"]),
            float(row["maxlon"]),
            float(row["maxlat"]),
        ),
    )
