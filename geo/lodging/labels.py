"""Labels for lodging OpenStreetMap gives no name: its kind and street ("hotel on Front St").

A tagged hotel without a ``name`` is still a place a coordinator can find, if the label says
where it is. In order:

1. its own ``addr:street`` → ``"hotel at 12 Main Street"`` (with the house number) or
   ``"hotel on Main Street"``;
2. the nearest named road (``highway`` ways for cars, not footways or paths) within
   :data:`ON_STREET_M` → ``"hotel on Chocolate Avenue"``, within :data:`NEAR_STREET_M` →
   ``"hotel near Chocolate Avenue"``;
3. otherwise its coordinates → ``"hotel at 40.2853, -76.6502"``.

Where two or more of the places would get the same street label (four unnamed hotels "on
International Gateway" at the Columbus airport), each of them adds its coordinates →
``"hotel on International Gateway (40.0003, -82.8942)"``, so a coordinator can tell them apart
in the table and find each one on a map.

Distances are measured on a local equirectangular projection about the places' mean latitude
(metres; a few per cent off over a state, which does not matter at 100 m).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.lodging.catalogue import KIND_LABELS

__all__ = ["NEAR_STREET_M", "NOT_ROADS", "ON_STREET_M", "named_roads", "unnamed_labels"]

ON_STREET_M = 100.0
"""A place this close to a named road (metres) is labelled "on" it."""
NEAR_STREET_M = 400.0
"""A place this close to a named road (metres) is labelled "near" it; farther, by coordinates."""

NOT_ROADS = frozenset(
    {
        "footway",
        "path",
        "cycleway",
        "steps",
        "bridleway",
        "pedestrian",
        "corridor",
        "platform",
        "proposed",
        "construction",
        "elevator",
        "bus_stop",
        "raceway",
    }
)
"""``highway`` values that are not roads a visitor drives to (never used for a label)."""

_M_PER_DEG = 111_320.0


def named_roads(paths: Sequence[Path]) -> tuple[Any, np.ndarray[Any, np.dtype[np.object_]]]:
    """Named car roads of OSM files as (lon/lat LineStrings, names)."""
    import osmium

    lines: list[Any] = []
    names: list[str] = []
    for path in paths:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            name = (obj.tags.get("name") or "").strip()
            if not name or obj.tags.get("highway", "") in NOT_ROADS:
                continue
            try:
                coords = [(n.location.lon, n.location.lat) for n in obj.nodes]
            except osmium.InvalidLocationError:
                continue
            if len(coords) >= 2:
                lines.append(coords)
                names.append(name)
    if not lines:
        return np.array([], dtype=object), np.asarray(names, dtype=object)
    sizes = np.fromiter((len(c) for c in lines), dtype=int, count=len(lines))
    flat = np.asarray([xy for c in lines for xy in c], dtype=float)
    geoms = shapely.linestrings(flat, indices=np.repeat(np.arange(len(lines)), sizes))
    return geoms, np.asarray(names, dtype=object)


def unnamed_labels(
    kinds: Sequence[str],
    xy: np.ndarray[Any, Any],
    streets: Sequence[str],
    addresses: Sequence[str],
    roads: Any,
    road_names: np.ndarray[Any, Any],
) -> list[str]:
    """Labels for unnamed places (see the module docstring).

    Parameters
    ----------
    kinds
        Each place's lodging kind (``hotel`` ...).
    xy
        (n, 2) lon/lat degrees of the places.
    streets, addresses
        Each place's ``addr:street`` and formatted address ("" when absent).
    roads, road_names
        Named roads (:func:`named_roads`).
    """
    n = len(kinds)
    road_of = np.full(n, -1)
    dist_m = np.full(n, np.inf)
    if n and len(road_names):
        lat0 = float(np.nanmean(xy[:, 1]))
        scale = np.array([_M_PER_DEG * np.cos(np.radians(lat0)), _M_PER_DEG])
        projected = shapely.transform(roads, lambda c: c * scale)
        tree = shapely.STRtree(projected)
        pts = shapely.points(xy * scale)
        (idx_pt, idx_road), dist = tree.query_nearest(
            pts, max_distance=NEAR_STREET_M, return_distance=True, all_matches=False
        )
        road_of[idx_pt] = idx_road
        dist_m[idx_pt] = dist
    kind = np.asarray([KIND_LABELS.get(k, k) for k in kinds], dtype=object)
    street = np.asarray(streets, dtype=object)
    address = np.asarray(addresses, dtype=object)
    nearest = (
        road_names[np.maximum(road_of, 0)] if len(road_names) else np.full(n, "", dtype=object)
    )
    lat = np.char.mod("%.4f", xy[:, 1]) if n else np.array([], dtype=str)
    lon = np.char.mod("%.4f", xy[:, 0]) if n else np.array([], dtype=str)
    numbered = (address != "") & (street != "") & (address != street)
    labels = np.select(
        [numbered, street != "", (road_of >= 0) & (dist_m <= ON_STREET_M), road_of >= 0],
        [
            kind + " at " + address,
            kind + " on " + street,
            kind + " on " + nearest,
            kind + " near " + nearest,
        ],
        default=kind + " at " + lat.astype(object) + ", " + lon.astype(object),
    )
    by_coordinates = ~(numbered | (street != "") | (road_of >= 0))
    shared = pd.Series(labels).duplicated(keep=False).to_numpy() & ~by_coordinates
    labels = np.where(
        shared, labels + " (" + lat.astype(object) + ", " + lon.astype(object) + ")", labels
    )
    return [str(x) for x in labels]
