"""The answer of a lodging search: the ranked places and what was left out, with its counts.

:func:`geo.lodging.search.search_lodging` fills it; both faces read it (the app's table and
summary line, the CLI's export).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from geo.lodging.catalogue import LODGING_COLUMNS
from geo.rules import ProximityRule
from geo.types import EngineInfo, LonLat

__all__ = ["RESULT_COLUMNS", "LodgingSearch"]

RESULT_COLUMNS = [
    *LODGING_COLUMNS[:3],
    "preferred",
    "drive_min",
    "spare_min",
    "verdict",
    "edge_warning",
    "straight_km",
    *LODGING_COLUMNS[3:],
    "note",
    "engine",
    "estimated",
    "engine_data_date",
]
"""Columns of :func:`find_lodging`'s answer, in order, before ``geometry``. ``engine`` and
``estimated`` are per row (the ``auto`` engine may route some rows and estimate others)."""


@dataclass(frozen=True)
class LodgingSearch:
    """The answer of :func:`search_lodging`: candidates and what was left out.

    ``frame`` has :data:`RESULT_COLUMNS` + geometry, preferred rows first, then by drive time.
    OSM candidates are ``within`` or ``borderline`` only; the user's preferred places are always
    listed, whatever their verdict (a contracted hotel that does not comply must be seen).
    """

    frame: gpd.GeoDataFrame
    site: LonLat
    rule: ProximityRule
    engine: EngineInfo
    considered: int
    """OSM places of the requested kinds."""
    beyond_reach: int
    """Left out before routing: farther in a straight line than the rule's minutes at
    :data:`PRESCREEN_KMH`."""
    outside: int
    """Routed, and the drive takes longer than the rule allows."""
    no_route: int
    """Routed, but no drive time came back (off the road data, unreachable)."""
    truncated: int
    """Qualifying places not listed because of ``limit``."""
    duplicates_of_preferred: int = 0
    """OSM places dropped because they are the same place as a preferred one."""
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def shown(self) -> int:
        return len(self.frame)

    @property
    def counts(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return {
            "considered": self.considered,
            "beyond_reach": self.beyond_reach,
            "outside": self.outside,
            "no_route": self.no_route,
            "truncated": self.truncated,
            "duplicates_of_preferred": self.duplicates_of_preferred,
            "shown": self.shown,
        }

    def summary(self) -> str:
        """One line: how many places qualify and what was left out."""
        listed = int((~self.frame["preferred"].astype(bool)).sum()) if len(self.frame) else 0
        parts = [f"{listed} OpenStreetMap place(s) listed of {self.considered} considered"]
        if self.truncated:
            parts.append(f"{self.truncated} more within the rule not shown (limit)")
        parts.append(f"{self.outside} outside the rule")
        if self.beyond_reach:
            parts.append(f"{self.beyond_reach} too far away to qualify (straight line)")
        if self.no_route:
            parts.append(f"{self.no_route} without a route")
        return "; ".join(parts)
