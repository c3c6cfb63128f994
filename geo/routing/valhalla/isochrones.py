"""Valhalla isochrones: polygons per contour around a point, kept in memory, and on disk for
public points (sites) only.

``denoise`` is 0: every reachable pocket is kept (e.g. a town beyond a highway exit), so a point
outside the polygons really is beyond the contour. An isochrone within ``edge_margin_km`` of the
data boundary is flagged (:mod:`geo.routing.data_edge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import OutsideDataError
from geo.routing.base import Points, as_lonlat_array, empty_isochrones
from geo.routing.data_edge import EDGE_MESSAGE
from geo.routing.keys import canonical_key
from geo.routing.valhalla.core import ValhallaCore
from geo.routing.valhalla.wire import location
from geo.types import FloatArray

ISOCHRONE_EXTRA_COLUMNS = ["touches_data_edge", "error"]
ISOCHRONE_CACHE_SIZE = 256
"""Isochrone answers kept in memory per router (oldest dropped first)."""


class IsochroneMaker(ValhallaCore):
    """Isochrone polygons with a memory and a disk cache (see the module docstring)."""

    _iso_cache: dict[tuple[Any, ...], dict[float, BaseGeometry]]

    def _iso_keys(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool,
        generalize_m: float | None,
    ) -> tuple[tuple[Any, ...], str]:
        """Memory key and disk key of one isochrone request."""
        key = (
            round(float(point[0]), 6),
            round(float(point[1]), 6),
            tuple(float(m) for m in contours),
            reverse,
            generalize_m,
        )
        disk_key = canonical_key(
            "valhalla-isochrone",
            self.info,
            {
                "graph": [self.graph.name, list(self.graph.source_sha256), self.graph.built_at],
                "request": list(key),
            },
        )
        return key, disk_key

    def _stored_polygons(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool = False,
        generalize_m: float | None = None,
        persist: bool = False,
    ) -> dict[float, BaseGeometry] | None:
        """Polygons of an isochrone request already answered (memory, or disk with
        ``persist``); None when it would have to be computed."""
        key, disk_key = self._iso_keys(point, contours, reverse, generalize_m)
        cached = self._iso_cache.get(key)
        if cached is not None:
            return dict(cached)
        if persist:
            stored = self._disk.get_json("valhalla-isochrones", disk_key)
            if stored is not None:
                out_disk = {
                    float(m): shapely.from_wkb(bytes.fromhex(wkb)) for m, wkb in stored.items()
                }
                self._remember(key, out_disk)
                return dict(out_disk)
        return None

    def _isochrone_polygons(
        self,
        point: FloatArray,
        contours: Sequence[float],
        reverse: bool = False,
        generalize_m: float | None = None,
        persist: bool = False,
    ) -> dict[float, BaseGeometry]:
        """Polygons per contour (minutes) around one point; answers are kept in memory.

        ``denoise`` is 0: every reachable pocket is kept (e.g. a town beyond a highway exit),
        so a point outside the polygons really is beyond the contour. With ``persist`` the
        answer is also kept on disk (keyed by the graph's data and the request): use it only for
        public points such as sites, never for a patient's place.
        """
        known = self._stored_polygons(point, contours, reverse, generalize_m, persist)
        if known is not None:
            return known
        key, disk_key = self._iso_keys(point, contours, reverse, generalize_m)
        req: dict[str, Any] = {
            "locations": [location(point, self.max_snap_m)],
            "costing": "auto",
            "contours": [{"time": float(m)} for m in contours],
            "polygons": True,
            "denoise": 0.0,
            "reverse": reverse,
        }
        if generalize_m is not None:
            req["generalize"] = float(generalize_m)
        res = self._call("isochrone", req)
        out: dict[float, BaseGeometry] = {float(m): shapely.Polygon() for m in contours}
        asked = np.array([float(m) for m in contours])
        for feat in (res or {}).get("features", []):
            # Valhalla echoes the contour; match it to the one asked (float formatting aside).
            minutes = float(asked[np.argmin(np.abs(asked - float(feat["properties"]["contour"])))])
            geom = shapely.geometry.shape(feat["geometry"])
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            out[minutes] = geom
        self._remember(key, out)
        if persist:
            self._disk.put_json(
                "valhalla-isochrones",
                disk_key,
                {str(m): shapely.to_wkb(g, hex=True) for m, g in out.items()},
            )
        return dict(out)

    def _remember(self, key: tuple[Any, ...], polys: dict[float, BaseGeometry]) -> None:
        if len(self._iso_cache) >= ISOCHRONE_CACHE_SIZE:
            self._iso_cache.pop(next(iter(self._iso_cache)))
        self._iso_cache[key] = polys

    def isochrones(
        self, points: Points, minutes: Sequence[float], *, reverse: bool = False
    ) -> gpd.GeoDataFrame:
        """Areas reachable within each of ``minutes`` from each point (``reverse``: to it).

        Columns: ``point_index``, ``minutes``, ``engine``, ``approximate`` (False),
        ``touches_data_edge`` (the polygon may be cut short by the end of the road data),
        ``error`` ("" or why a point has no polygon) and ``geometry``. A point outside the
        data keeps its rows, with an empty polygon, ``touches_data_edge=True`` and an error.
        """
        pts = as_lonlat_array(points)
        contours = self.check_isochrone_request(minutes, len(pts))
        if len(pts) == 0:
            frame = empty_isochrones()
            frame["touches_data_edge"] = np.zeros(0, dtype=bool)
            frame["error"] = np.zeros(0, dtype=str)
            return frame
        covered = self.covers(pts)
        rows_idx: list[int] = []
        rows_min: list[float] = []
        geoms: list[BaseGeometry] = []
        errors: list[str] = []
        for i, p in enumerate(pts):
            polys: dict[float, BaseGeometry] = {}
            error = ""
            if not covered[i]:
                error = (
                    f"outside the road data of graph {self.graph.name!r}: {EDGE_MESSAGE}; "
                    "build a graph that covers this point"
                )
            else:
                try:
                    polys = self._isochrone_polygons(p, contours, reverse)
                except OutsideDataError as exc:
                    error = str(exc)
            for m in contours:
                rows_idx.append(i)
                rows_min.append(m)
                geoms.append(polys.get(m, shapely.Polygon()))
                errors.append(error)
        edge = self.touches_edge(geoms) | np.array([bool(e) for e in errors])
        return gpd.GeoDataFrame(
            {
                "point_index": np.array(rows_idx, dtype=np.int64),
                "minutes": np.array(rows_min, dtype=float),
                "engine": self.info.label,
                "approximate": False,
                "touches_data_edge": edge,
                "error": errors,
            },
            geometry=geoms,
            crs="EPSG:4326",
        )


__all__ = ["ISOCHRONE_CACHE_SIZE", "ISOCHRONE_EXTRA_COLUMNS", "IsochroneMaker"]
