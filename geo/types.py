"""Shared result types. Units live in field names; coordinates are (lon, lat) in EPSG:4326."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from shapely.geometry import LineString

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True)
class LonLat:
    """A point as longitude, latitude in degrees (EPSG:4326)."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (-180.0 <= self.lon <= 180.0) or not (-90.0 <= self.lat <= 90.0):
            from geo.errors import ValidationError

            raise ValidationError(
                f"coordinates out of range: lon={self.lon}, lat={self.lat} "
                "(lon must be within -180..180 and lat within -90..90)"
            )

    def as_tuple(self) -> tuple[float, float]:
        return (self.lon, self.lat)


class Verdict(StrEnum):
    """The answer for one place against a proximity rule."""

    WITHIN = "within"
    BORDERLINE = "borderline"
    OUTSIDE = "outside"
    UNKNOWN = "unknown"


class Precision(StrEnum):
    """How exactly a geocoded point stands for the place that was typed."""

    COORDINATES = "coordinates"
    ADDRESS = "address"
    ZIP = "zip"
    CITY = "city"

    @property
    def is_approximate(self) -> bool:
        return self in (Precision.ZIP, Precision.CITY)

    @property
    def meaning(self) -> str:
        return PRECISION_MEANING[self]


PRECISION_MEANING: dict[Precision, str] = {
    Precision.COORDINATES: "coordinates as given: exact",
    Precision.ADDRESS: "street address matched: usually within a few hundred metres",
    Precision.ZIP: "ZIP code centroid: could be off by several km; check the exact address",
    Precision.CITY: "city centroid: could be off by 10 km or more; check the exact address",
}


@dataclass(frozen=True)
class GeocodeResult:
    """A point for a piece of text, with how it was found and how exact it is."""

    point: LonLat
    precision: Precision
    source: str
    matched: str = ""
    note: str = ""

    @property
    def is_approximate(self) -> bool:
        return self.precision.is_approximate

    def location_note(self) -> str:
        """What the geocoder's note adds to :meth:`location_lines`' first line.

        For an approximate point that line already names the centroid and its caveat, so the
        note's own "ZIP centroid of 55010" and "check the exact address" are left out; what
        remains (e.g. "U.S. Census Geocoder found no match") is kept. Else the whole note.
        """
        if not self.is_approximate:
            return self.note
        parts = str(self.note or "").replace(CHECK_ADDRESS, "").split("; ")
        return "; ".join(part for part in parts if part and "centroid of" not in part)

    def location_lines(self, *, source: bool = False) -> list[str]:
        """Lines saying what this point is, its caveat said once ("" for a line with nothing).

        An exact point: its precision, what it was found as, the geocoder's note. An
        approximate one (ZIP or city centroid): one line naming the centroid and its caveat
        ("could be off by several km; check the exact address"), then :meth:`location_note`.
        ``source`` adds the geocoder where it says more than the precision does.
        """
        meaning = PRECISION_MEANING[self.precision]
        if self.is_approximate:
            what, caveat = meaning.split(": ", 1)
            found = f" ({self.matched})" if self.matched else ""
            first = f"Location: {what}{found}: {caveat}"
        else:
            first = f"Location: {self.precision.value} — {meaning}"
        if source and self.source != self.precision.value:
            first += f" (source: {self.source})"
        note = self.location_note()
        return [
            first,
            f"Found as: {self.matched}" if self.matched and not self.is_approximate else "",
            f"Note: {note}" if note else "",
        ]


CHECK_ADDRESS = " — check the exact address"
"""How the geocoder's notes and the verdict's reasons end for an approximate place."""


def reason_beside_location(reason: str, precision: Precision) -> str:
    """A verdict's reason as said next to a Location line (:meth:`GeocodeResult.location_lines`).

    For an approximate place that line already says "check the exact address", so the reason
    does not say it again. Where no Location line stands beside it (a batch CSV row), the reason
    is kept whole.
    """
    return reason.replace(CHECK_ADDRESS, "") if Precision(precision).is_approximate else reason


@dataclass(frozen=True)
class EngineInfo:
    """What produced a drive time: the engine, its road data, and whether it is an estimate."""

    name: str
    data: str
    is_estimate: bool = False
    data_date: str = ""
    error_fraction: float = 0.0
    """Typical relative error of an estimated drive time (0 for a routing engine; for ``auto``,
    the error of the rows its fallback estimates), for trips as long as the 2-hour limit."""
    error_curve: tuple[tuple[float, float], ...] = ()
    """Where the error differs for shorter trips: ``(up_to_min, fraction)`` pairs in increasing
    order; :meth:`error_at` takes the first pair that reaches the limit, else
    ``error_fraction``."""

    def error_at(self, limit_min: float) -> float:
        """The estimate's relative error at trips of ``limit_min`` minutes."""
        for up_to_min, fraction in self.error_curve:
            if limit_min <= up_to_min:
                return float(fraction)
        return float(self.error_fraction)

    @property
    def label(self) -> str:
        """Short provenance for a table cell or a status line."""
        if self.is_estimate:
            return "estimate"
        return f"{self.name} · {self.data}" if self.data else self.name


@dataclass(frozen=True)
class EngineLimits:
    """What one request to an engine may ask for. ``None`` means no limit."""

    max_isochrone_min: float | None = None
    max_isochrone_contours: int | None = None
    max_isochrone_locations: int | None = None
    max_matrix_pairs: int | None = None
    max_matrix_locations: int | None = None


@dataclass(frozen=True)
class DriveTimeMatrix:
    """Drive times from origins (rows) to destinations (columns).

    ``duration_s`` holds seconds, NaN where there is no route or no answer (never 0 for that).
    ``edge_warning`` is True where the answer may run into the edge of the road data (the true
    time could be longer or shorter); ``None`` when the engine has no such notion.
    """

    duration_s: FloatArray
    distance_m: FloatArray
    engine: EngineInfo
    edge_warning: BoolArray | None = None
    labels: StrArray | None = None
    """Per cell: the label of the engine that answered it, where engines differ by cell (the
    ``auto`` engine); ``None`` when ``engine`` answered every cell."""
    estimated: BoolArray | None = None
    """Per cell: True where the time is an estimate (verdicts widen the margin there);
    ``None`` when every cell is as ``engine.is_estimate`` says."""
    notes: StrArray | None = None
    """Per cell: why the cell was answered the way it was, e.g. ``"openrouteservice failed
    (HTTP 500 after 3 tries); estimated instead"``; empty string for nothing to say."""

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.duration_s.shape
        return int(rows), int(cols)

    def cell_labels(self) -> StrArray:
        """The engine label of every cell."""
        if self.labels is not None:
            return self.labels
        return np.full(self.duration_s.shape, self.engine.label, dtype=object).astype(str)

    def cell_estimated(self) -> BoolArray:
        """Whether each cell is an estimate."""
        if self.estimated is not None:
            return self.estimated
        return np.full(self.duration_s.shape, self.engine.is_estimate, dtype=bool)

    def cell_notes(self) -> StrArray:
        """The note of every cell (empty string where there is none)."""
        if self.notes is not None:
            return self.notes
        return np.full(self.duration_s.shape, "", dtype=object).astype(str)


@dataclass(frozen=True)
class Route:
    """One drive from an origin to a destination, with its line for a map."""

    duration_s: float
    distance_m: float
    geometry: LineString
    engine: EngineInfo
    notes: tuple[str, ...] = field(default_factory=tuple)
