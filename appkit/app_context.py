"""What every page works with: the sites, rule, engine and geocoder the sidebar chose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np

from appkit.engines import EngineChoice
from geo.geocode import Geocoder
from geo.routing import Router
from geo.rules import ProximityRule
from geo.settings import Settings


@dataclass(frozen=True)
class AppContext:
    """What every page needs: the sites, the rule, the engine, the geocoder and the map style."""

    settings: Settings
    sites: gpd.GeoDataFrame
    sites_label: str
    rule: ProximityRule
    engine_key: str
    engine: EngineChoice
    router: Router | None
    router_error: str
    geocoder: Geocoder

    @property
    def tiles(self) -> str:
        return self.settings.map_tiles if self.settings.map_tiles in ("osm", "none") else "osm"

    def site_points(self) -> np.ndarray[Any, Any]:
        g = self.sites.geometry
        return np.column_stack([g.x.to_numpy(), g.y.to_numpy()])


__all__ = ["AppContext"]
