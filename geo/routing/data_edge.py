"""The data-edge rule: where a local road graph's data ends, and which answers it may cut short.

A local graph only knows roads inside its *covered area* (:attr:`GraphManifest.covered_area`).
Points outside it get no drive time (NaN, never a verdict) and an edge flag. Inside it, an answer
may still be cut short by the end of the data: a quicker road, or a road at all, may exist
outside. The rule, shared by every local engine (Valhalla, OSRM):

* a matrix cell (origin *o*, destination *d*) is flagged when
  ``(edge_distance(o) + edge_distance(d)) / edge_speed < time`` — a drive that leaves the data and
  comes back could, at ``edge_speed_kmh`` (default 120 km/h, faster than US highway limits), be
  quicker than the time found. Unreachable cells (NaN) are always flagged, because the missing
  road may lie outside the data. ``edge_distance`` is the straight-line distance (m) to the
  boundary of the covered area (0 outside it).
* an isochrone polygon is flagged when it comes within ``edge_margin_km`` (default 3 km) of the
  boundary of the covered area (:meth:`DataEdge.touches_edge`): it may be too small.

The message for all of them is :data:`EDGE_MESSAGE`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geo.routing.base import Points, as_lonlat_array
from geo.types import BoolArray, FloatArray

EDGE_MESSAGE = "road data ends here; the result may be too short"
DEFAULT_EDGE_SPEED_KMH = 120.0
"""Speed of the data-edge rule (km/h): no road in the data should be faster."""
DEFAULT_EDGE_MARGIN_KM = 3.0
"""An isochrone closer than this to the data boundary is flagged (km)."""


class DataEdge:
    """The data-edge rule over one covered area (see the module docstring).

    Parameters
    ----------
    area
        (Multi)polygon in lon/lat where the road data is (a graph's ``covered_area``).
    edge_speed_kmh
        Speed used by the rule (km/h).
    edge_margin_km
        Distance from the boundary within which an isochrone is flagged (km).
    """

    def __init__(
        self,
        area: BaseGeometry,
        *,
        edge_speed_kmh: float = DEFAULT_EDGE_SPEED_KMH,
        edge_margin_km: float = DEFAULT_EDGE_MARGIN_KM,
    ) -> None:
        if not edge_speed_kmh > 0:
            raise ValueError(f"edge_speed_kmh must be positive, got {edge_speed_kmh}")
        self.area = area
        self.edge_speed_kmh = float(edge_speed_kmh)
        self.edge_margin_km = float(edge_margin_km)
        shapely.prepare(area)
        self.parts: list[BaseGeometry] = list(shapely.get_parts(area))
        for part in self.parts:
            shapely.prepare(part)
        c = area.centroid if not area.is_empty else shapely.Point(0.0, 0.0)
        self._to_m = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +units=m +ellps=WGS84",
            always_xy=True,
        )
        area_m = self.project(area)
        self._boundary_m = area_m.boundary
        self._interior_m = area_m.buffer(-self.edge_margin_km * 1000.0)
        shapely.prepare(self._boundary_m)
        shapely.prepare(self._interior_m)

    def project(self, geom: BaseGeometry) -> BaseGeometry:
        """``geom`` (lon/lat) in metres, azimuthal equidistant around the area's centre."""

        def fwd(xy: FloatArray) -> FloatArray:
            x, y = self._to_m.transform(xy[:, 0], xy[:, 1])
            return np.stack([x, y], axis=1)

        return shapely.transform(geom, fwd)

    def covers(self, points: Points) -> BoolArray:
        """True where a point lies inside the covered area (NaN → False)."""
        p = as_lonlat_array(points)
        ok = np.isfinite(p).all(axis=1)
        out = np.zeros(len(p), dtype=bool)
        if ok.any():
            out[ok] = shapely.contains_xy(self.area, p[ok, 0], p[ok, 1])
        return out

    def edge_distance_m(self, points: Points) -> FloatArray:
        """Straight-line distance (m) from each point to the data boundary; 0 outside the data."""
        p = as_lonlat_array(points)
        inside = self.covers(p)
        out = np.zeros(len(p), dtype=float)
        if inside.any():
            x, y = self._to_m.transform(p[inside, 0], p[inside, 1])
            out[inside] = shapely.distance(self._boundary_m, shapely.points(x, y))
        return out

    def edge_flags(
        self, origin_edge_m: FloatArray, dest_edge_m: FloatArray, duration_s: FloatArray
    ) -> BoolArray:
        """The rule for a matrix of ``duration_s`` (s); NaN times are always flagged.

        Parameters
        ----------
        origin_edge_m, dest_edge_m
            :meth:`edge_distance_m` of the origins (rows) and destinations (columns), metres.
        duration_s
            (n origins, m destinations) drive times in seconds, NaN where unknown.
        """
        o = np.asarray(origin_edge_m, dtype=float)
        d = np.asarray(dest_edge_m, dtype=float)
        detour_s = (o[:, None] + d[None, :]) / (self.edge_speed_kmh / 3.6)
        t = np.asarray(duration_s, dtype=float)
        t = np.where(np.isfinite(t), t, np.inf)
        return np.asarray(detour_s < t, dtype=bool)

    def part_of(self, points: Points) -> npt.NDArray[np.int64]:
        """Index of the part of the covered area holding each point (-1: none)."""
        p = as_lonlat_array(points)
        out = np.full(len(p), -1, dtype=np.int64)
        ok = np.isfinite(p).all(axis=1)
        for k, part in enumerate(self.parts):
            hit = ok & (out < 0)
            if hit.any():
                hit[hit] = shapely.contains_xy(part, p[hit, 0], p[hit, 1])
                out[hit] = k
        return out

    def touches_edge(self, geoms: Sequence[BaseGeometry]) -> BoolArray:
        """True for each non-empty lon/lat geometry within ``edge_margin_km`` of the boundary."""
        if not geoms:
            return np.zeros(0, dtype=bool)
        projected = np.array([self.project(g) for g in geoms], dtype=object)
        empty = shapely.is_empty(projected)
        inside = shapely.contains(self._interior_m, projected)
        return np.asarray(~inside & ~empty, dtype=bool)


__all__ = ["DEFAULT_EDGE_MARGIN_KM", "DEFAULT_EDGE_SPEED_KMH", "EDGE_MESSAGE", "DataEdge"]


class EdgeQueries:
    """The data-edge questions of a local engine, answered by its :class:`DataEdge`.

    Mixed in before :class:`~geo.routing.base.Router` by the engines over one road graph
    (Valhalla, OSRM), which set ``self.edge``.
    """

    edge: DataEdge

    def covers(self, points: Points) -> BoolArray:
        """True where a point lies inside the graph's covered area (NaN → False)."""
        return self.edge.covers(points)

    def edge_distance_m(self, points: Points) -> FloatArray:
        """Straight-line distance (m) from each point to the data boundary; 0 outside the data."""
        return self.edge.edge_distance_m(points)

    def edge_flags(
        self, origin_edge_m: FloatArray, dest_edge_m: FloatArray, duration_s: FloatArray
    ) -> BoolArray:
        """The data-edge rule for a matrix of seconds; NaN times are flagged."""
        return self.edge.edge_flags(origin_edge_m, dest_edge_m, duration_s)

    def part_of(self, points: Points) -> npt.NDArray[np.int64]:
        """Index of the part of the covered area holding each point (-1: none)."""
        return self.edge.part_of(points)

    def touches_edge(self, geoms: Sequence[BaseGeometry]) -> BoolArray:
        """True for each lon/lat geometry within ``edge_margin_km`` of the data boundary."""
        return self.edge.touches_edge(geoms)
