"""Which extracts a site set needs: the possible reach of every site, and the states it touches.

The reach of a site in ``minutes`` is a geodesic circle of radius ``minutes × speed_kmh``
(130 km/h by default: no car averages more, so 120 min → 260 km). The states of the index that
touch the union of those circles are the extracts needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import GraphBuildError, ValidationError
from geo.osm.geofabrik import Extract, extract_from_row, load_extract_index
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, reach_bound_m
from geo.settings import Settings, get_settings

__all__ = [
    "DEFAULT_REACH_SPEED_KMH",
    "SITE_TOLERANCE_KM",
    "ExtractPlan",
    "describe_plan",
    "plan_extracts",
    "reach_circles",
    "reach_radius_km",
]

FloatArray = npt.NDArray[np.float64]

DEFAULT_REACH_SPEED_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""Upper bound of the average speed of a drive, used for the straight-line reach (km/h)."""
SITE_TOLERANCE_KM = 10.0
"""A site this close to an indexed state (coast, simplified border) still counts as inside."""


@dataclass(frozen=True)
class ExtractPlan:
    """Which extracts cover the possible reach of every site."""

    extracts: tuple[Extract, ...]
    area: BaseGeometry
    """Union of the sites' reach circles (lon/lat)."""
    minutes: float
    radius_km: float
    site_count: int
    outside_index_km2: float
    """Part of the reach that no indexed state covers (sea, Canada, Mexico) in km²."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.extracts)


def reach_radius_km(minutes: float, speed_kmh: float = DEFAULT_REACH_SPEED_KMH) -> float:
    """Straight-line distance no drive of ``minutes`` can exceed at ``speed_kmh`` (km)."""
    if minutes <= 0 or speed_kmh <= 0:
        raise ValidationError("minutes and speed_kmh must be positive")
    return reach_bound_m(float(minutes) * 60.0, float(speed_kmh)) / 1000.0


def reach_circles(lonlat: FloatArray, radius_km: float, n_vertices: int = 96) -> FloatArray:
    """Geodesic circles (WGS84) of ``radius_km`` around each (lon, lat): shapely polygons."""
    from pyproj import Geod

    pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return np.empty(0, dtype=object)
    az = np.linspace(0.0, 360.0, n_vertices, endpoint=False)
    lon0 = np.repeat(pts[:, 0], n_vertices)
    lat0 = np.repeat(pts[:, 1], n_vertices)
    azs = np.tile(az, len(pts))
    lon, lat, _ = Geod(ellps="WGS84").fwd(lon0, lat0, azs, np.full(azs.shape, radius_km * 1000.0))
    lon = np.asarray(lon).reshape(len(pts), n_vertices)
    lat = np.asarray(lat).reshape(len(pts), n_vertices)
    # A circle across the antimeridian (western Aleutians) stays west of it: lon in (-540, 0].
    lon = np.where(
        (lon.max(axis=1, keepdims=True) - lon.min(axis=1, keepdims=True) > 180.0) & (lon > 0),
        lon - 360.0,
        lon,
    )
    rings = np.stack([lon, lat], axis=2)
    return np.asarray(shapely.polygons(rings), dtype=object)


def _site_lonlat(sites: Any) -> tuple[FloatArray, list[str]]:
    """(lon, lat) of each site and a label for messages, from a GeoDataFrame or an array."""
    if hasattr(sites, "geometry"):
        geoms = sites.geometry.to_numpy()
        if len(geoms) and not bool(np.all(shapely.get_type_id(geoms) == 0)):
            geoms = shapely.centroid(geoms)
        xy = shapely.get_coordinates(geoms) if len(geoms) else np.zeros((0, 2))
        if len(xy) != len(geoms):
            raise ValidationError("every site needs a location (some sites have none)")
        labels = pd.Series(sites.index.astype(str), index=sites.index)
        for col in ("site_id", "name"):  # the name wins where there is one
            if col in sites.columns:
                text = sites[col].astype("string").str.strip()
                labels = text.where(text.fillna("") != "", labels)
        return np.asarray(xy, dtype=float), [str(v) for v in labels]
    arr = np.asarray(sites, dtype=float).reshape(-1, 2)
    return arr, [f"site {i + 1}" for i in range(len(arr))]


def plan_extracts(
    sites: Any,
    minutes: float = 120.0,
    settings: Settings | None = None,
    *,
    index: Any = None,
    speed_kmh: float = DEFAULT_REACH_SPEED_KMH,
) -> ExtractPlan:
    """The extracts that hold every road a drive of ``minutes`` from any site could use.

    Parameters
    ----------
    sites
        GeoDataFrame of site points (EPSG:4326) or an (n, 2) array of (lon, lat).
    minutes
        Longest drive (min); with ``speed_kmh`` it gives the reach radius.
    index
        Index GeoDataFrame (default :func:`load_extract_index`).

    Raises
    ------
    GraphBuildError
        No sites, or a site outside every state of the index (with what to do instead).
    """
    settings = settings or get_settings()
    lonlat, labels = _site_lonlat(sites)
    if len(lonlat) == 0:
        raise GraphBuildError("the site set is empty: there is nothing to build a graph for")
    if not np.isfinite(lonlat).all():
        raise GraphBuildError("some sites have no valid coordinates; fix the site file first")
    index = load_extract_index(settings) if index is None else index
    geoms = index.geometry.to_numpy()
    radius_km = reach_radius_km(minutes, speed_kmh)
    circles = reach_circles(lonlat, radius_km)
    area = shapely.union_all(circles)

    # Every site must lie in (or within a few km of) an indexed state.
    tol = reach_circles(lonlat, SITE_TOLERANCE_KM, n_vertices=24)
    tree = shapely.STRtree(geoms)
    hit_site, _ = tree.query(tol, predicate="intersects")
    outside = sorted(set(range(len(lonlat))) - set(hit_site.tolist()))
    if outside:
        names = ", ".join(
            f"{labels[i]} ({lonlat[i, 1]:.4f}, {lonlat[i, 0]:.4f})" for i in outside[:5]
        )
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        raise GraphBuildError(
            f"{len(outside)} site(s) lie outside the US states the Geofabrik index covers: "
            f"{names}{more}. Download an OpenStreetMap extract that covers them (e.g. from "
            "https://download.geofabrik.de) and build with `trialreach graph build --pbf FILE`, "
            "or leave those sites out of the set."
        )
    hits = np.unique(tree.query(area, predicate="intersects"))
    chosen = index.iloc[np.sort(hits)].sort_values("name")
    extracts = tuple(extract_from_row(r) for _, r in chosen.iterrows())
    uncovered = shapely.difference(area, shapely.union_all(geoms[hits]))
    return ExtractPlan(
        extracts=extracts,
        area=area,
        minutes=float(minutes),
        radius_km=radius_km,
        site_count=len(lonlat),
        outside_index_km2=_area_km2(uncovered),
    )


def _area_km2(geom: BaseGeometry) -> float:
    if geom.is_empty:
        return 0.0
    from pyproj import Geod

    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(float(area)) / 1e6


def describe_plan(plan: ExtractPlan) -> str:
    """One paragraph on what a plan downloads, for the CLI."""
    text = (
        f"{plan.site_count} site(s); a {plan.minutes:.0f}-minute drive stays within "
        f"{plan.radius_km:.0f} km; extracts needed: {', '.join(plan.names)}"
    )
    if plan.outside_index_km2 > 1.0:
        text += (
            f". About {plan.outside_index_km2:,.0f} km² of that reach lies outside every extract "
            "of the index (sea, Canada, Mexico): roads there are not included"
        )
    return text
