"""Lodging read from OpenStreetMap extracts with pyosmium (the rule: :mod:`geo.lodging`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ValidationError
from geo.lodging.catalogue import (
    LODGING_COLUMNS,
    SOURCE_OSM,
    classify,
    eligibility_note,
)
from geo.lodging.labels import named_roads, unnamed_labels

__all__ = ["LodgingExtract", "empty_lodging", "extract_lodging", "scan_lodging"]


def _address(tags: dict[str, str]) -> str:
    if tags.get("addr:full"):
        return tags["addr:full"].strip()
    street = tags.get("addr:street", "").strip() or tags.get("addr:place", "").strip()
    number = tags.get("addr:housenumber", "").strip()
    line = f"{number} {street}".strip() if street else ""
    unit = tags.get("addr:unit", "").strip()
    return f"{line}, unit {unit}" if line and unit else line


def _first(tags: dict[str, str], *keys: str) -> str:
    return next((tags[k].strip() for k in keys if tags.get(k, "").strip()), "")


@dataclass(frozen=True)
class LodgingExtract:
    """Lodging read from OSM extracts, with what was left out and why."""

    frame: gpd.GeoDataFrame
    """Columns :data:`LODGING_COLUMNS` + geometry (Point, EPSG:4326)."""
    sources: tuple[str, ...]
    data_date: str
    """Newest OSM timestamp among the features read for lodging (ISO date; a lower bound of the
    extract's date), "" when the file has no timestamps. Each row's ``data_date`` is that of
    its own file. :func:`lodging_for_graph` uses the
    graph's date instead."""
    unnamed: int
    """Features kept although they have no name, labelled by kind and street
    (:mod:`geo.lodging.labels`: "hotel on Front Street")."""
    skipped_open_ways: int
    """Ways with lodging tags that are not closed rings (no building outline): left out."""
    skipped_relations: int
    """Relations with lodging tags (multipolygons): left out."""
    skipped_no_location: int = 0
    """Ways whose nodes are missing from the extract (cut at its edge): left out."""
    duplicates: int = 0
    """Features present in more than one extract, kept once."""

    @property
    def counts(self) -> dict[str, int]:
        """Rows per kind."""
        return {k: int(v) for k, v in self.frame["kind"].value_counts().items()}


def empty_lodging() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series([], dtype=object) for c in LODGING_COLUMNS}, geometry=[], crs="EPSG:4326"
    )


_EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)  # files without metadata report 1970


def scan_lodging(pbf_paths: Sequence[str | Path] | str | Path) -> LodgingExtract:
    """Read lodging from one or more OSM files (``.osm.pbf``, or ``.osm`` XML).

    Parameters
    ----------
    pbf_paths
        A path or a list of paths. pyosmium reads PBF and XML alike (Valhalla reads only PBF).

    Returns
    -------
    LodgingExtract
        The frame (see :data:`LODGING_COLUMNS`) and counts of what was left out.
    """
    import osmium

    paths = (
        [Path(pbf_paths)] if isinstance(pbf_paths, (str, Path)) else [Path(p) for p in pbf_paths]
    )
    if not paths:
        raise ValidationError("give at least one OpenStreetMap extract to read lodging from")
    records: list[dict[str, Any]] = []
    xy: list[tuple[float, float]] = []
    file_of_row: list[int] = []
    file_newest: list[datetime | None] = []
    unnamed = open_ways = relations = no_location = 0
    seen: set[str] = set()
    unnamed_streets: dict[int, str] = {}  # row -> its addr:street, for the label
    duplicates = 0
    keys = ("tourism", "name", "operator", "brand", "amenity", "official_name")
    for file_index, path in enumerate(paths):
        file_newest.append(None)
        if not path.is_file():
            raise ValidationError(f"OpenStreetMap extract not found: {path}")
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter(*keys))
        )
        try:
            for obj in processor:
                if isinstance(obj, osmium.osm.Relation):
                    if classify({t.k: t.v for t in obj.tags}) is not None:
                        relations += 1
                    continue
                if not isinstance(obj, (osmium.osm.Node, osmium.osm.Way)):
                    continue
                tags = {t.k: t.v for t in obj.tags}
                kind = classify(tags)
                if kind is None:
                    continue
                if isinstance(obj, osmium.osm.Node):
                    loc = obj.location
                    if not loc.valid():
                        no_location += 1
                        continue
                    point = (loc.lon, loc.lat)
                    osm_id = f"n{obj.id}"
                else:
                    if not obj.is_closed():
                        open_ways += 1
                        continue
                    try:
                        ring = [(n.location.lon, n.location.lat) for n in obj.nodes]
                    except osmium.InvalidLocationError:
                        no_location += 1
                        continue
                    if len(ring) < 4:
                        open_ways += 1
                        continue
                    c = shapely.Polygon(ring).centroid
                    if c.is_empty:  # degenerate ring (all nodes on a line)
                        c = shapely.LineString(ring).centroid
                    point = (float(c.x), float(c.y))
                    osm_id = f"w{obj.id}"
                if osm_id in seen:
                    duplicates += 1
                    continue
                seen.add(osm_id)
                stamp = obj.timestamp
                last = file_newest[file_index]
                if stamp is not None and stamp > _EPOCH_FLOOR and (last is None or stamp > last):
                    file_newest[file_index] = stamp
                name = tags.get("name", "").strip()
                if not name:
                    unnamed += 1
                    unnamed_streets[len(records)] = _first(tags, "addr:street", "addr:place")
                records.append(
                    {
                        "osm_id": osm_id,
                        "kind": kind,
                        "name": name,
                        "address": _address(tags),
                        "city": _first(tags, "addr:city"),
                        "postcode": _first(tags, "addr:postcode"),
                        "website": _first(tags, "website", "contact:website", "url"),
                        "phone": _first(tags, "phone", "contact:phone"),
                        "eligibility_note": eligibility_note(
                            " ".join(tags.get(k, "") for k in ("name", "operator", "brand")), kind
                        ),
                        "source": SOURCE_OSM,
                    }
                )
                xy.append(point)
                file_of_row.append(file_index)
        except RuntimeError as exc:
            raise ValidationError(
                f"cannot read {path.name} as an OpenStreetMap file: {exc}"
            ) from None
    dates = [d.date().isoformat() if d else "" for d in file_newest]
    date = max(dates)
    if not records:
        frame = empty_lodging()
    else:
        df = pd.DataFrame.from_records(records)
        df["data_date"] = np.asarray(dates, dtype=object)[np.asarray(file_of_row, dtype=int)]
        # OSM stores 7 decimals; centroids are rounded to the same so a cached copy is identical.
        arr = np.round(np.asarray(xy, dtype=float), 7)
        if unnamed_streets:
            rows = np.fromiter(unnamed_streets, dtype=int)
            roads, road_names = named_roads(paths)
            df.loc[rows, "name"] = unnamed_labels(
                df["kind"].to_numpy()[rows].tolist(),
                arr[rows],
                list(unnamed_streets.values()),
                df["address"].to_numpy()[rows].tolist(),
                roads,
                road_names,
            )
        frame = gpd.GeoDataFrame(
            df[LODGING_COLUMNS], geometry=gpd.points_from_xy(arr[:, 0], arr[:, 1]), crs="EPSG:4326"
        )
    return LodgingExtract(
        frame=frame,
        sources=tuple(p.name for p in paths),
        data_date=date,
        unnamed=unnamed,
        skipped_open_ways=open_ways,
        skipped_relations=relations,
        skipped_no_location=no_location,
        duplicates=duplicates,
    )


def extract_lodging(pbf_path: str | Path | Sequence[str | Path]) -> gpd.GeoDataFrame:
    """Lodging points from OSM extract(s): columns :data:`LODGING_COLUMNS` + geometry.

    See the module docstring for the rule. Use :func:`scan_lodging` for the counts of what was
    left out.
    """
    return scan_lodging(pbf_path).frame
