"""Where extracted lodging is kept: next to a local road graph, or in the cache by checksum.

A stored file (``lodging.geojson`` with ``lodging.meta.json``) is reused while the extract
version and the source extracts' SHA-256 are unchanged; it is written to temporary names and
renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.checksums import sha256_of
from geo.errors import EngineNotAvailableError, ValidationError
from geo.lodging.catalogue import EXTRACT_VERSION, LODGING_COLUMNS
from geo.lodging.extract import LodgingExtract, empty_lodging, scan_lodging
from geo.settings import Settings, get_settings

__all__ = [
    "LODGING_FILE",
    "LODGING_META",
    "lodging_for_graph",
    "lodging_from_pbfs",
    "store_lodging_for_graph",
]

LODGING_FILE = "lodging.geojson"
LODGING_META = "lodging.meta.json"


def read_cached(folder: Path, sha: Sequence[str]) -> gpd.GeoDataFrame | None:
    meta_path, data_path = folder / LODGING_META, folder / LODGING_FILE
    if not (meta_path.is_file() and data_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        stale = meta.get("extract_version") != EXTRACT_VERSION
        if stale or list(meta.get("source_sha256", [])) != list(sha):
            return None
        if int(meta.get("rows", -1)) == 0:
            return empty_lodging()
        frame = gpd.read_file(data_path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for col in LODGING_COLUMNS:
        if col not in frame.columns:
            return None
        frame[col] = frame[col].fillna("").astype(str)
    if len(frame) != int(meta.get("rows", -1)):
        return None
    out = gpd.GeoDataFrame(frame[LODGING_COLUMNS], geometry=frame.geometry, crs="EPSG:4326")
    return out


def write_cached(folder: Path, extract: LodgingExtract, sha: Sequence[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "extract_version": EXTRACT_VERSION,
        "sources": list(extract.sources),
        "source_sha256": list(sha),
        "data_date": extract.data_date,
        "rows": len(extract.frame),
        "unnamed": extract.unnamed,
        "skipped_open_ways": extract.skipped_open_ways,
        "skipped_relations": extract.skipped_relations,
        "extracted_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "licence": "© OpenStreetMap contributors, ODbL 1.0",
    }
    # Write to temporary names, then rename: a reader never sees half a file.
    fd, tmp_name = tempfile.mkstemp(prefix=".lodging-", suffix=".geojson", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if len(extract.frame):
            tmp.unlink()
            extract.frame.to_file(tmp, driver="GeoJSON")
        else:
            tmp.write_text('{"type": "FeatureCollection", "features": []}')
        tmp.replace(folder / LODGING_FILE)
        meta_tmp = folder / f".{LODGING_META}.tmp"
        meta_tmp.write_text(json.dumps(meta, indent=1))
        meta_tmp.replace(folder / LODGING_META)
    finally:
        tmp.unlink(missing_ok=True)


def lodging_from_pbfs(
    pbfs: Sequence[str | Path],
    cache_dir: Path | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Lodging from OSM extracts, cached by the files' SHA-256.

    The cache folder is ``cache_dir`` when given, else ``<Settings.cache_dir>/lodging/<key>``
    where the key is a hash of the extracts' contents; a changed extract is read again.
    """
    paths = [Path(p).expanduser() for p in pbfs]
    for p in paths:
        if not p.is_file():
            raise ValidationError(f"OpenStreetMap extract not found: {p}")
    sha = [sha256_of(p) for p in paths]
    if cache_dir is None:
        key = hashlib.sha256("".join(sha).encode()).hexdigest()[:16]
        cache_dir = (settings or get_settings()).cache_dir / "lodging" / key
    cached = read_cached(cache_dir, sha)
    if cached is not None:
        return cached
    extract = scan_lodging(paths)
    write_cached(cache_dir, extract, sha)
    return extract.frame


def lodging_for_graph(
    graph: Any,
    pbfs: Sequence[str | Path] | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Lodging for a local road graph, stored next to it (``<graph dir>/lodging.geojson``).

    Parameters
    ----------
    graph
        A :class:`geo.routing.graph.GraphManifest`, a graph folder, or a graph name in the cache
        (``demo`` before its tiles are built: read from the shipped extracts, cached by checksum).
        A list of ``.osm.pbf`` paths is also accepted (then this is :func:`lodging_from_pbfs`).
    pbfs
        The extracts the graph was built from. When omitted they are looked up by file name in
        ``<data_dir>/osm`` (true for the ``demo`` graph); they must match the manifest's SHA-256.

    The stored file is reused while the graph's source checksums are unchanged; rebuilding a graph
    replaces its folder, and with it the lodging file.
    """
    from geo.routing.graph import (
        DEMO_GRAPH,
        GraphManifest,
        demo_extracts,
        graphs_dir,
        read_manifest,
    )

    s = settings or get_settings()
    if isinstance(graph, (list, tuple)):
        return lodging_from_pbfs(graph, settings=s)
    if isinstance(graph, GraphManifest):
        manifest = graph
    else:
        folder = Path(graph)
        if not folder.is_dir():
            folder = graphs_dir(s) / str(graph)
        if not (folder / "manifest.json").is_file():
            if str(graph) == DEMO_GRAPH:
                # The demo graph is built on first routing; its lodging needs no tiles.
                return lodging_from_pbfs(demo_extracts(s), settings=s)
            raise EngineNotAvailableError(
                f"no road graph at {graph!s}; build it with `trialreach graph build --pbf FILE "
                f"--name NAME`, or pass the extracts with --pbf"
            )
        manifest = read_manifest(folder)
    sha = list(manifest.source_sha256)
    cached = read_cached(manifest.path, sha)
    if cached is not None:
        return cached
    if pbfs is None:
        candidates = [s.data_dir / "osm" / n for n in manifest.sources]
        if not all(p.is_file() for p in candidates):
            raise EngineNotAvailableError(
                f"lodging for graph {manifest.name!r} needs the extracts it was built from "
                f"({', '.join(manifest.sources)}); pass them with --pbf"
            )
        paths = candidates
    else:
        paths = [Path(p).expanduser() for p in pbfs]
    actual = [sha256_of(p) for p in paths]
    if actual != sha:
        raise ValidationError(
            f"the extracts given ({', '.join(p.name for p in paths)}) are not the ones graph "
            f"{manifest.name!r} was built from ({', '.join(manifest.sources)}); pass those, or "
            "rebuild the graph"
        )
    extract = dated_by_graph(scan_lodging(paths), manifest)
    write_cached(manifest.path, extract, sha)
    return extract.frame


def dated_by_graph(extract: LodgingExtract, manifest: Any) -> LodgingExtract:
    """Rows whose file carries no timestamps get the graph's date (newest road edit), the best
    date of the extract; rows dated by their own file keep theirs."""
    blank = extract.frame["data_date"].astype(str) == "" if len(extract.frame) else None
    if not manifest.osm_date or blank is None or not blank.any():
        return extract
    frame = extract.frame.copy()
    frame.loc[blank.to_numpy(), "data_date"] = manifest.osm_date
    return replace(extract, frame=frame, data_date=extract.data_date or manifest.osm_date)


def store_lodging_for_graph(
    manifest: Any, extracts: Sequence[str | Path], area: BaseGeometry | None = None
) -> gpd.GeoDataFrame:
    """Extract lodging from the *full* extracts a graph was cut from and store it next to it.

    A graph built for a site set (``trialreach graph build --sites``) is made from extracts
    clipped to roads only, which drops hotels; this reads the downloaded state extracts instead,
    keeps the places inside ``area`` (the sites' reach), and stores them keyed by the graph's
    own source checksums, so :func:`lodging_for_graph` finds them.
    """
    extract = scan_lodging([Path(x) for x in extracts])
    if area is not None and len(extract.frame):
        frame = extract.frame
        inside = shapely.contains_xy(area, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
        extract = replace(extract, frame=frame[inside].reset_index(drop=True))
    extract = dated_by_graph(extract, manifest)
    write_cached(manifest.path, extract, list(manifest.source_sha256))
    return extract.frame
