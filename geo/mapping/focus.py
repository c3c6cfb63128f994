"""Where a national map looks: the lower 48 by default, Alaska, Hawaii, Puerto Rico or one state.

A map fitted to every site of a national set zooms out to the Pacific as soon as one site is in
Hawaii or Puerto Rico, and the mainland becomes a small shape. :func:`map_focus` frames a named
region or state instead and says, in a note drawn on the map, which sites are outside the view and
how to see them; the numbers beside the map still cover every site.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo.errors import ValidationError
from geo.mapping.base import Bounds

LOWER_48 = "Lower 48 states"
ALL_SITES = "All sites"

FOCUS_REGIONS: dict[str, Bounds | None] = {
    LOWER_48: (-125.0, 24.0, -66.5, 49.5),
    "Alaska": (-170.0, 51.0, -129.0, 71.5),
    "Hawaii": (-160.5, 18.5, -154.5, 22.5),
    "Puerto Rico": (-67.5, 17.8, -65.2, 18.6),
    ALL_SITES: None,
}
"""Named framings, (min lon, min lat, max lon, max lat) in degrees; ``None``: fit every site."""

MAX_STATE_SPAN_DEG = 100.0
"""A state outline wider than this crosses the antimeridian (the Aleutians): use its region box."""


@dataclass(frozen=True)
class MapFocus:
    """What a map shows: a named area, its view, which sites fall inside it, and a note.

    Attributes
    ----------
    name
        The focus as chosen (a :data:`FOCUS_REGIONS` key or a state name).
    bounds
        The view (min lon, min lat, max lon, max lat) in degrees; ``None`` fits the map's contents.
    inside
        One flag per site (in the order given): the site lies in the focus area.
    note
        Plain text for the map: sites left out of the view and how to see them ("" if none).
    """

    name: str
    bounds: Bounds | None
    inside: npt.NDArray[np.bool_]
    note: str

    @property
    def n_outside(self) -> int:
        """Sites not in the view."""
        return int((~self.inside).sum())


def focus_choices(states: gpd.GeoDataFrame | None = None) -> list[str]:
    """The regions of :data:`FOCUS_REGIONS`, then the state names of ``states`` (alphabetical)."""
    names = list(FOCUS_REGIONS)
    if states is not None and "name" in states:
        extra = sorted({str(n) for n in states["name"].dropna()} - set(names))
        names += extra
    return names


def _site_xy(sites: gpd.GeoDataFrame) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    geoms = sites.geometry
    located = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    xy = np.full((len(sites), 2), np.nan)
    if located.any():
        xy[located] = shapely.get_coordinates(shapely.centroid(geoms.to_numpy()[located]))
    return xy, located


def map_focus(
    sites: gpd.GeoDataFrame,
    focus: str = LOWER_48,
    *,
    states: gpd.GeoDataFrame | None = None,
) -> MapFocus:
    """Frame a map on a region or state and say which sites are left out of it.

    Parameters
    ----------
    sites
        The study sites (EPSG:4326 points; rows without a point count as outside).
    focus
        A key of :data:`FOCUS_REGIONS` (``"Lower 48 states"``, ``"Alaska"``, ``"Hawaii"``,
        ``"Puerto Rico"``, ``"All sites"``) or a state's name as in ``states["name"]``.
    states
        State outlines (``name`` column, EPSG:4326), needed for a state focus.

    Returns
    -------
    MapFocus
        A region frames the sites inside it (the whole region when none is); a state frames its
        outline; ``"All sites"`` fits every site.

    Raises
    ------
    ValidationError
        An unknown focus name.
    """
    xy, located = _site_xy(sites)
    n = len(sites)
    if focus == ALL_SITES:
        note = "" if located.all() else f"{int((~located).sum()):,} site(s) have no location."
        return MapFocus(focus, None, located.copy(), note)
    inside = np.zeros(n, dtype=bool)
    x, y = xy[located, 0], xy[located, 1]
    box = FOCUS_REGIONS.get(focus)
    bounds: Bounds | None
    if focus in FOCUS_REGIONS and box is not None:
        inside[located] = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        bounds = _bounds_xy(xy[inside]) or box  # the sites inside, else the empty region
    else:
        area = _state_area(focus, states)
        inside[located] = shapely.contains_xy(area, x, y)
        x0, y0, x1, y1 = area.bounds
        # The whole state; one across the antimeridian (the Aleutians) frames its sites.
        bounds = (x0, y0, x1, y1) if x1 - x0 <= MAX_STATE_SPAN_DEG else _bounds_xy(xy[inside])
    out = n - int(inside.sum())
    if not inside.any():
        note = f"No study site in {focus}; the map shows the area. Numbers cover every site."
    elif out:
        note = (
            f"{out:,} of {n:,} site(s) are outside this view ({focus}): choose another map "
            "focus to see them. Numbers cover every site."
        )
    else:
        note = ""
    return MapFocus(focus, bounds, inside, note)


def _state_area(name: str, states: gpd.GeoDataFrame | None) -> shapely.Geometry:
    if states is None or "name" not in states:
        raise ValidationError(
            f"unknown map focus {name!r}; choose one of: {', '.join(FOCUS_REGIONS)}"
        )
    hit = states[states["name"].astype(str) == name]
    if len(hit) == 0:
        raise ValidationError(
            f"unknown map focus {name!r}: neither a region ({', '.join(FOCUS_REGIONS)}) "
            "nor a state name"
        )
    return shapely.union_all(hit.geometry.to_numpy())


def _bounds_xy(xy: npt.NDArray[np.float64]) -> Bounds | None:
    if len(xy) == 0:
        return None
    lo = xy.min(axis=0)
    hi = xy.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
