"""The layout of a synthetic grid (:class:`GridSpec`), its turn restrictions, and the plain
grid's hand reference (:meth:`GridSpec.dijkstra_s`). See :mod:`geo.routing.synthetic`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from geo.errors import ValidationError
from geo.geodesy import KM_PER_DEG
from geo.types import FloatArray

KM_PER_DEG_LAT = KM_PER_DEG
"""Kilometres per degree of latitude (mean earth radius)."""

SIDES: dict[str, tuple[int, int]] = {"W": (-1, 0), "E": (1, 0), "S": (0, -1), "N": (0, 1)}
"""Grid steps (column, row) towards each arm of a junction."""


@dataclass(frozen=True)
class TurnRestriction:
    """An OSM turn restriction at grid junction (``col``, ``row``) of the main grid.

    ``from_side`` is the arm the driver arrives from and ``to_side`` the arm they leave by, each
    one of ``W``, ``E``, ``S``, ``N`` (so arriving from ``W`` means driving east). ``kind`` is the
    OSM ``restriction`` value: ``no_*`` forbids this one turn, ``only_*`` forbids every other
    way out for a driver arriving from ``from_side`` (e.g. ``only_straight_on``).
    """

    col: int
    row: int
    from_side: str
    to_side: str
    kind: str = "no_left_turn"

    def __post_init__(self) -> None:
        if self.from_side not in SIDES or self.to_side not in SIDES:
            raise ValidationError("turn restriction sides must be one of W, E, S, N")
        if not (self.kind.startswith("no_") or self.kind.startswith("only_")):
            raise ValidationError(f"turn restriction kind must be no_* or only_*: {self.kind}")


@dataclass(frozen=True)
class GridSpec:
    """How a synthetic grid was laid out (everything needed to predict drive times)."""

    size_km: float = 100.0
    spacing_km: float = 1.0
    origin_lon: float = 0.05
    origin_lat: float = 0.05
    primary_every: int = 10
    speeds_kmh: dict[str, float] = field(
        default_factory=lambda: {"primary": 80.0, "residential": 40.0}
    )
    island: bool = False
    island_size_km: float = 10.0
    island_gap_km: float = 20.0
    timestamp: str = "2024-01-01T00:00:00Z"
    motorway_every: int = 0
    """A motorway every this many cells, rows and columns (0: none)."""
    motorway_speed_kmh: float = 110.0
    exit_every: int = 10
    """A motorway exit at every this many grid lines crossed."""
    link_speed_kmh: float = 60.0
    oneway_east_rows: tuple[int, ...] = ()
    oneway_west_rows: tuple[int, ...] = ()
    spur: bool = False
    restrictions: tuple[TurnRestriction, ...] = ()
    lake: tuple[int, int, int, int] | None = None
    """(col0, row0, col1, row1): grid roads strictly inside this rectangle are left out."""

    @property
    def n(self) -> int:
        """Nodes per row/column of the main grid."""
        return round(self.size_km / self.spacing_km) + 1

    @property
    def deg_lat(self) -> float:
        """Degrees of latitude per grid step."""
        return self.spacing_km / KM_PER_DEG_LAT

    @property
    def deg_lon(self) -> float:
        """Degrees of longitude per grid step (at the grid's middle latitude)."""
        mid = self.origin_lat + (self.n - 1) * self.deg_lat / 2
        return self.spacing_km / (KM_PER_DEG_LAT * math.cos(math.radians(mid)))

    @property
    def spur_col(self) -> int:
        """Grid column where the one-way spur's road in starts (a primary column)."""
        return (self.n // 2) // self.primary_every * self.primary_every

    def lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of grid coordinates (column, row), fractional allowed; shape (n, 2)."""
        c = np.atleast_1d(np.asarray(col, dtype=float))
        r = np.atleast_1d(np.asarray(row, dtype=float))
        return np.stack([self.origin_lon + c * self.deg_lon, self.origin_lat + r * self.deg_lat], 1)

    def island_lonlat(self, col: npt.ArrayLike, row: npt.ArrayLike) -> FloatArray:
        """(lon, lat) of a node of the island grid (only meaningful when ``island``)."""
        offset = (self.size_km + self.island_gap_km) / self.spacing_km
        return self.lonlat(np.asarray(col, dtype=float) + offset, row)

    def village_lonlat(self) -> FloatArray:
        """(lon, lat) of the spur's village (only meaningful when ``spur``); shape (1, 2)."""
        return self.lonlat(self.spur_col, -4)

    def lake_centre_lonlat(self) -> FloatArray:
        """(lon, lat) of the middle of the lake (only meaningful with ``lake``); shape (1, 2)."""
        if self.lake is None:
            raise ValidationError("this grid has no lake")
        c0, r0, c1, r1 = self.lake
        return self.lonlat((c0 + c1) / 2, (r0 + r1) / 2)

    def road_class(self, index: int) -> str:
        """Road class of row/column ``index`` of the main grid."""
        return "primary" if index % self.primary_every == 0 else "residential"

    def motorway_lines(self) -> list[int]:
        """Grid indices m whose motorway runs at m + 0.5 (rows and columns alike)."""
        if self.motorway_every <= 0:
            return []
        return list(range(self.motorway_every, self.n - 1, self.motorway_every))

    def dijkstra_s(self, sources: list[tuple[int, int]]) -> FloatArray:
        """Shortest drive times (s) from grid nodes ``(col, row)`` to every node (no turn costs).

        The plain grid only (primary and residential roads at nominal spacing; the optional
        features are ignored: use :meth:`RoadNetwork.reference_times_s` for them).
        Returns an array of shape (len(sources), n_rows, n_cols).
        """
        import heapq

        n = self.n
        # Seconds to cross one cell along row r (horizontal) or column c (vertical).
        row_s = [self.spacing_km / self.speeds_kmh[self.road_class(r)] * 3600.0 for r in range(n)]
        col_s = [self.spacing_km / self.speeds_kmh[self.road_class(c)] * 3600.0 for c in range(n)]
        out = np.full((len(sources), n, n), np.inf)
        for k, (c0, r0) in enumerate(sources):
            best = out[k]
            best[r0, c0] = 0.0
            heap: list[tuple[float, int, int]] = [(0.0, r0, c0)]
            while heap:
                t, r, c = heapq.heappop(heap)
                if t > best[r, c]:
                    continue
                for rr, cc, dt in (
                    (r, c - 1, row_s[r]),
                    (r, c + 1, row_s[r]),
                    (r - 1, c, col_s[c]),
                    (r + 1, c, col_s[c]),
                ):
                    if 0 <= rr < n and 0 <= cc < n and t + dt < best[rr, cc]:
                        best[rr, cc] = t + dt
                        heapq.heappush(heap, (t + dt, rr, cc))
        return out


__all__ = ["KM_PER_DEG_LAT", "SIDES", "GridSpec", "TurnRestriction"]
