"""An offline vector basemap: main roads and place names from the local OpenStreetMap extracts.

When no tile server can be reached (offline, a locked-down network) a map of state and county
lines does not show where a hotel, a site and a drive-time area are relative to anything. The
extracts the road graphs are built from (``data/osm/*.osm.pbf``) already hold the main roads
and the names of towns, so this module reads them once with pyosmium, simplifies the lines
(:data:`SIMPLIFY_DEG`) and caches the result next to the other caches as GeoJSON-ready
GeoParquet, keyed by the extract's name, size and modification time.

Which extracts: :func:`answering_basemap` draws those the answering engine's road graphs were
built from (``router.graphs()`` → ``GraphManifest.sources``, found by name in ``<data>/osm`` and
``<cache>/downloads``), so the roads on the map are the roads the answer was routed on; a place
outside every graph gets the state and county lines and a note saying so (geo.mapping).

Two layers come back, each a GeoDataFrame in EPSG:4326 with ``attrs["basemap"]`` naming its
kind (``"roads"`` or ``"places"``), which :func:`geo.mapping.base_map` draws as thin grey lines
and small labels:

* roads: ``name``, ``ref``, ``rank`` (0 motorway … 4 tertiary) and line geometry;
* places: ``name``, ``place`` (city, town, village, suburb) and point geometry.

Data: © OpenStreetMap contributors, ODbL (the same extracts as the road graphs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ValidationError
from geo.settings import Settings, get_settings

ROAD_RANKS: dict[str, int] = {
    "motorway": 0,
    "motorway_link": 0,
    "trunk": 1,
    "trunk_link": 1,
    "primary": 2,
    "primary_link": 2,
    "secondary": 3,
    "secondary_link": 3,
    "tertiary": 4,
}
"""OSM ``highway`` values drawn, with their rank (0 = most important)."""

PLACE_KINDS = ("city", "town", "village", "suburb")
"""OSM ``place`` values labelled."""

SIMPLIFY_DEG = 0.0005
"""Douglas-Peucker tolerance in degrees (~50 m): invisible at city zoom, a fraction of the size."""

MAX_ROAD_VERTICES = 400_000
"""A bound on what one map may carry: beyond it the least important ranks are dropped."""

CACHE_VERSION = "1"


def _read_pbf(path: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Main roads and named places of one extract (pyosmium streams it; no Python geometry ops)."""
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise ValidationError(
            "pyosmium is needed to read OSM extracts (pip install osmium)"
        ) from exc

    names: list[str] = []
    refs: list[str] = []
    ranks: list[int] = []
    coords: list[np.ndarray] = []
    p_names: list[str] = []
    p_kinds: list[str] = []
    p_xy: list[tuple[float, float]] = []
    try:
        fp = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway", "place"))
        )
        for obj in fp:
            tags = obj.tags
            if isinstance(obj, osmium.osm.Way):
                rank = ROAD_RANKS.get(str(tags.get("highway", "")), -1)
                if rank < 0:
                    continue
                xy = np.array(
                    [(n.lon, n.lat) for n in obj.nodes if n.location.valid()], dtype=np.float64
                )
                if len(xy) < 2:
                    continue
                names.append(str(tags.get("name", "")))
                refs.append(str(tags.get("ref", "")))
                ranks.append(rank)
                coords.append(xy)
            elif isinstance(obj, osmium.osm.Node):
                kind = str(tags.get("place", ""))
                name = str(tags.get("name", ""))
                if kind in PLACE_KINDS and name and obj.location.valid():
                    p_names.append(name)
                    p_kinds.append(kind)
                    p_xy.append((obj.location.lon, obj.location.lat))
    except (OSError, RuntimeError) as exc:
        raise ValidationError(f"{path.name}: cannot read this OSM extract ({exc})") from exc

    if coords:
        counts = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
        lines = shapely.linestrings(
            np.concatenate(coords), indices=np.repeat(np.arange(len(coords)), counts)
        )
    else:
        lines = np.array([], dtype=object)
    roads = gpd.GeoDataFrame(
        {"name": names, "ref": refs, "rank": np.asarray(ranks, dtype=np.int8)},
        geometry=shapely.simplify(lines, SIMPLIFY_DEG, preserve_topology=False),
        crs="EPSG:4326",
    )
    xy_arr = np.asarray(p_xy, dtype=float).reshape(-1, 2)
    places = gpd.GeoDataFrame(
        {"name": p_names, "place": p_kinds},
        geometry=shapely.points(xy_arr) if len(xy_arr) else np.array([], dtype=object),
        crs="EPSG:4326",
    )
    return roads, places


def _key(paths: list[Path]) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_basemap(
    osm_dir: Path, cache_dir: Path | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads and places of every ``*.osm.pbf`` in ``osm_dir`` (cached in ``cache_dir``).

    Parameters
    ----------
    osm_dir
        Folder of OpenStreetMap extracts (``data/osm``).
    cache_dir
        Where the simplified layers are kept (``<cache>/basemap``); ``None`` does not cache.

    Returns
    -------
    roads, places
        Two GeoDataFrames (EPSG:4326) tagged ``attrs["basemap"]``; empty when there is no extract.
    """
    paths = sorted(osm_dir.glob("*.osm.pbf")) if osm_dir.is_dir() else []
    return load_basemap_files(paths, cache_dir)


def extract_search_dirs(settings: Settings | None = None) -> tuple[Path, ...]:
    """Where a graph's source extracts may be: ``<data>/osm`` (shipped), ``<cache>/downloads``."""
    from geo.osm.download import downloads_dir

    s = settings or get_settings()
    return (s.data_dir / "osm", downloads_dir(s))


def find_extracts(
    sources: Iterable[str], search_dirs: Sequence[Path]
) -> tuple[list[Path], list[str]]:
    """The extract files named ``sources`` (a graph's ``GraphManifest.sources``), found by name.

    Returns
    -------
    found, missing
        The first file of each name in ``search_dirs`` (in that order), and the names not found.
    """
    found: list[Path] = []
    missing: list[str] = []
    for name in dict.fromkeys(sources):
        if Path(name).name != name or not name:
            missing.append(name)  # a bare file name only: never a path out of the folders
            continue
        hit = next((d / name for d in search_dirs if (d / name).is_file()), None)
        if hit is None:
            missing.append(name)
        else:
            found.append(hit)
    return found, missing


def graph_basemap(
    graph_sources: Sequence[Sequence[str]],
    search_dirs: Sequence[Path],
    cache_dir: Path | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads and places of the extracts the answering road graph(s) were built from.

    Parameters
    ----------
    graph_sources
        For each graph that answered (``router.graphs()``), its source extract names
        (``GraphManifest.sources``).
    search_dirs
        Folders to find the extracts in (:func:`extract_search_dirs`).
    cache_dir
        Where the simplified layers are kept; ``None`` does not cache.

    Returns
    -------
    roads, places
        As :func:`load_basemap`; ``roads.attrs["basemap_sources"]`` names the extracts drawn and
        ``roads.attrs["basemap_missing"]`` those not found (their roads are not drawn).
    """
    names = [n for sources in graph_sources for n in sources]
    paths, missing = find_extracts(names, search_dirs)
    roads, places = load_basemap_files(paths, cache_dir)
    roads.attrs["basemap_missing"] = tuple(missing)
    return roads, places


def answering_basemap(
    graph_sources: Sequence[Sequence[str]], settings: Settings | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The basemap for maps of an engine's answers: the extracts of the graphs it answers from.

    Parameters
    ----------
    graph_sources
        ``[g.sources for g in router.graphs()]``. Empty (the estimate, openrouteservice): the
        shipped extracts in ``<data>/osm`` are drawn, as orientation only.
    settings
        Where to look for extracts and cache the layers (default: the current settings).

    Returns
    -------
    roads, places
        As :func:`graph_basemap`. Maps drawn with them show roads only where these extracts
        reach; elsewhere :func:`geo.mapping.base_map` says that no local road data is drawn.
    """
    s = settings or get_settings()
    if not any(graph_sources):
        return load_basemap(s.data_dir / "osm", s.cache_dir)
    return graph_basemap(graph_sources, extract_search_dirs(s), s.cache_dir)


def load_basemap_files(
    paths: Sequence[Path], cache_dir: Path | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads and places of the given extract files (cached in ``cache_dir/basemap``)."""
    paths = sorted(paths)
    cached: tuple[Path, Path] | None = None
    if cache_dir is not None and paths:
        key = _key(paths)
        folder = cache_dir / "basemap"
        cached = (folder / f"roads-{key}.parquet", folder / f"places-{key}.parquet")
        if cached[0].exists() and cached[1].exists():
            roads = gpd.read_parquet(cached[0])
            places = gpd.read_parquet(cached[1])
            return _tag(roads, places, paths)
    parts = [_read_pbf(p) for p in paths]
    if parts:
        roads = gpd.GeoDataFrame(pd.concat([r for r, _ in parts], ignore_index=True))
        places = gpd.GeoDataFrame(pd.concat([p for _, p in parts], ignore_index=True))
        places = places.drop_duplicates(subset=["name", "place"]).reset_index(drop=True)
    else:
        roads = gpd.GeoDataFrame({"name": [], "ref": [], "rank": []}, geometry=[], crs="EPSG:4326")
        places = gpd.GeoDataFrame({"name": [], "place": []}, geometry=[], crs="EPSG:4326")
    roads = _bounded(roads)
    if cached is not None:
        cached[0].parent.mkdir(parents=True, exist_ok=True)
        roads.to_parquet(cached[0])
        places.to_parquet(cached[1])
    return _tag(roads, places, paths)


def _bounded(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop the least important ranks until the vertex count is within :data:`MAX_ROAD_VERTICES`."""
    if len(roads) == 0:
        return roads
    n = shapely.get_num_coordinates(roads.geometry.to_numpy())
    rank = roads["rank"].to_numpy()
    for cut in range(4, 0, -1):
        if int(n[rank <= cut].sum()) <= MAX_ROAD_VERTICES:
            return roads[rank <= cut].reset_index(drop=True)
    return roads[rank == 0].reset_index(drop=True)


def _tag(
    roads: gpd.GeoDataFrame, places: gpd.GeoDataFrame, paths: Sequence[Path]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    roads.attrs["basemap"] = "roads"
    places.attrs["basemap"] = "places"
    roads.attrs["basemap_sources"] = tuple(p.name for p in paths)
    places.attrs["basemap_sources"] = roads.attrs["basemap_sources"]
    return roads, places


__all__ = [
    "PLACE_KINDS",
    "ROAD_RANKS",
    "SIMPLIFY_DEG",
    "answering_basemap",
    "extract_search_dirs",
    "find_extracts",
    "graph_basemap",
    "load_basemap",
    "load_basemap_files",
]
