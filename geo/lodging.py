"""Lodging near a study site: OpenStreetMap hotels and hospitality houses, ranked by drive time.

Coordinators arranging a 35-day stay look for places to put a patient and a caregiver. This
module

* extracts lodging from OpenStreetMap extracts with pyosmium (:func:`extract_lodging`), and keeps
  it next to a local road graph (:func:`lodging_for_graph`) or in the cache
  (:func:`lodging_from_pbfs`);
* ranks candidates by the drive *from the lodging to the site* under a proximity rule
  (:func:`find_lodging`, :func:`search_lodging`).

What counts as lodging (extraction rule, version :data:`EXTRACT_VERSION`)
--------------------------------------------------------------------------
Nodes and **closed** ways (the centroid of the ring is used) that carry either

1. ``tourism`` = ``hotel``, ``motel``, ``guest_house``, ``hostel``, ``apartment`` or ``chalet``
   → ``kind`` is that value; or
2. a *hospitality house* for patients and families → ``kind = "hospitality_house"``, when

   * the ``name`` (or ``operator``/``brand``) contains one of :data:`HOSPITALITY_NAMES`
     ("Hope Lodge", "Ronald McDonald House", "Fisher House", "Hospitality House",
     "Family House", "Patient House", "Healing House", "Hospital Lodge"), and the feature
     is not a road, shop, office or food place; or
   * ``amenity=social_facility`` with ``social_facility:for`` naming patients or their
     families (:data:`SOCIAL_FACILITY_FOR`: ``patient``, ``patients``, ``ill``, ``family``,
     ``families``).

   Rule 2 wins over rule 1: a Hope Lodge tagged ``tourism=guest_house`` is a hospitality house,
   because who may stay there matters.

Not extracted, but counted in :class:`LodgingExtract`: open (unclosed) ways with such tags, and
relations (multipolygon hotels are rare; resolving their rings needs a sorted file and a
second pass). Features without a name are **kept** as ``"(unnamed hotel)"`` etc. — a tagged
hotel building is still a hotel a coordinator can look up — and counted in ``unnamed``.

Eligibility notes
-----------------
Some houses restrict who may stay (:data:`ELIGIBILITY`): American Cancer Society Hope Lodges
serve people in cancer treatment, Ronald McDonald Houses families of children in treatment,
Fisher Houses military and veteran families. The note is shown; it never filters and never
guesses about a person. For a rule whose patients are known not to belong to the group
(:data:`RULE_POPULATIONS`, e.g. RESOLUTION: lupus, myositis, systemic sclerosis), the note
says so.

OpenStreetMap lodging data is incomplete and varies by area (:data:`OSM_NOTICE`): show that line
wherever candidates are shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import EngineNotAvailableError, ValidationError
from geo.geodesy import haversine_km
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, Router
from geo.rules import ProximityRule
from geo.settings import Settings, get_settings
from geo.types import EngineInfo, LonLat, Verdict

EXTRACT_VERSION = 1
"""Bumped when the extraction rule changes; cached extracts of another version are redone."""

TOURISM_KINDS = ("hotel", "motel", "guest_house", "hostel", "apartment", "chalet")
HOSPITALITY_KIND = "hospitality_house"
KINDS = (*TOURISM_KINDS, HOSPITALITY_KIND)
"""Every ``kind`` a lodging row can have."""

KIND_LABELS: dict[str, str] = {
    "hotel": "hotel",
    "motel": "motel",
    "guest_house": "guest house",
    "hostel": "hostel",
    "apartment": "apartment",
    "chalet": "chalet",
    HOSPITALITY_KIND: "hospitality house",
}

HOSPITALITY_NAMES = (
    "hope lodge",
    "ronald mcdonald house",
    "fisher house",
    "hospitality house",
    "family house",
    "patient house",
    "healing house",
    "hospital lodge",
)
"""Name fragments (case-insensitive, spaces/punctuation ignored) of patient/family houses."""

SOCIAL_FACILITY_FOR = frozenset({"patient", "patients", "ill", "family", "families"})
"""``social_facility:for`` values that make an ``amenity=social_facility`` a hospitality house."""

_NOT_LODGING_KEYS = ("highway", "railway", "shop", "office", "craft", "public_transport")
_NOT_LODGING_AMENITIES = frozenset(
    {
        "restaurant",
        "cafe",
        "fast_food",
        "bar",
        "pub",
        "parking",
        "fuel",
        "bank",
        "pharmacy",
        "place_of_worship",
        "school",
        "clinic",
        "doctors",
        "hospital",
        "dentist",
    }
)

OSM_NOTICE = "OpenStreetMap lodging data is incomplete and varies by area"
"""Show this wherever OSM lodging is listed."""

SOURCE_OSM = "OpenStreetMap"

LODGING_COLUMNS = [
    "osm_id",
    "kind",
    "name",
    "address",
    "city",
    "postcode",
    "website",
    "phone",
    "eligibility_note",
    "source",
    "data_date",
]
"""Columns of an extracted lodging frame, in order, before ``geometry``."""

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

PRESCREEN_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""Upper bound of an average road speed: a place farther than the rule's minutes at this speed
(straight line) cannot be reached in time and is not routed."""


@dataclass(frozen=True)
class Eligibility:
    """Who may stay at a kind of house, matched by name fragments."""

    names: tuple[str, ...]
    group: str
    """Short key of who is served (``cancer``, ``children``, ``military``)."""
    note: str


ELIGIBILITY: tuple[Eligibility, ...] = (
    Eligibility(
        names=("hope lodge",),
        group="cancer",
        note=(
            "American Cancer Society Hope Lodge: free lodging for people in cancer treatment and "
            "a caregiver only; stays are arranged by referral — ask the lodge"
        ),
    ),
    Eligibility(
        names=("ronald mcdonald house",),
        group="children",
        note=(
            "Ronald McDonald House: for families of children (usually under 18–21) in treatment "
            "nearby; ask the house about eligibility"
        ),
    ),
    Eligibility(
        names=("fisher house",),
        group="military",
        note=(
            "Fisher House: for families of military members and veterans treated at a "
            "military or VA medical centre; ask the house about eligibility"
        ),
    ),
)

GENERIC_HOSPITALITY_NOTE = (
    "hospitality house: usually for patients of nearby hospitals and their families; "
    "ask about eligibility, referral and availability"
)


@dataclass(frozen=True)
class RulePopulation:
    """Whom a trial rule enrols, to say where a house's restriction excludes them."""

    description: str
    not_in_groups: tuple[str, ...]


RULE_POPULATIONS: dict[str, RulePopulation] = {
    "resolution": RulePopulation(
        description="RESOLUTION patients have lupus, myositis or systemic sclerosis, not cancer",
        not_in_groups=("cancer",),
    ),
}
"""Rule name → the patients it enrols (only where it is published and relevant to a house)."""


# --- extraction ---------------------------------------------------------------------------------
def _squash(text: str) -> str:
    """Lower case, letters and digits only (so 'Ronald McDonald-House' matches)."""
    return re.sub(r"[^a-z0-9]+", "", text.casefold())


_HOSPITALITY_SQUASHED = tuple(_squash(n) for n in HOSPITALITY_NAMES)


def is_hospitality_name(text: str) -> bool:
    """Whether ``text`` names a patient/family hospitality house (see :data:`HOSPITALITY_NAMES`)."""
    s = _squash(text)
    return bool(s) and any(n in s for n in _HOSPITALITY_SQUASHED)


def eligibility_note(name: str, kind: str) -> str:
    """The eligibility note for a place (empty for ordinary lodging)."""
    s = _squash(name)
    for e in ELIGIBILITY:
        if any(_squash(n) in s for n in e.names):
            return e.note
    return GENERIC_HOSPITALITY_NOTE if kind == HOSPITALITY_KIND else ""


def eligibility_group(name: str) -> str:
    """``cancer``/``children``/``military`` when the name shows a restricted house, else ""."""
    s = _squash(name)
    return next((e.group for e in ELIGIBILITY if any(_squash(n) in s for n in e.names)), "")


def classify(tags: dict[str, str]) -> str | None:
    """The lodging ``kind`` of an OSM feature's tags, or None when it is not lodging."""
    name_text = " ".join(tags.get(k, "") for k in ("name", "operator", "brand", "official_name"))
    amenity = tags.get("amenity", "")
    if amenity == "social_facility":
        targets = {v.strip().lower() for v in tags.get("social_facility:for", "").split(";")}
        if targets & SOCIAL_FACILITY_FOR:
            return HOSPITALITY_KIND
    if is_hospitality_name(name_text):
        excluded = any(k in tags for k in _NOT_LODGING_KEYS) or amenity in _NOT_LODGING_AMENITIES
        if not excluded:
            return HOSPITALITY_KIND
    tourism = tags.get("tourism", "")
    if tourism in TOURISM_KINDS:
        return tourism
    return None


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
    """Features kept although they have no name (named ``(unnamed <kind>)``)."""
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
                    name = f"(unnamed {KIND_LABELS[kind]})"
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


# --- caches -------------------------------------------------------------------------------------
LODGING_FILE = "lodging.geojson"
LODGING_META = "lodging.meta.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_cached(folder: Path, sha: Sequence[str]) -> gpd.GeoDataFrame | None:
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


def _write_cached(folder: Path, extract: LodgingExtract, sha: Sequence[str]) -> None:
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
    sha = [_sha256(p) for p in paths]
    if cache_dir is None:
        key = hashlib.sha256("".join(sha).encode()).hexdigest()[:16]
        cache_dir = (settings or get_settings()).cache_dir / "lodging" / key
    cached = _read_cached(cache_dir, sha)
    if cached is not None:
        return cached
    extract = scan_lodging(paths)
    _write_cached(cache_dir, extract, sha)
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
    cached = _read_cached(manifest.path, sha)
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
    actual = [_sha256(p) for p in paths]
    if actual != sha:
        raise ValidationError(
            f"the extracts given ({', '.join(p.name for p in paths)}) are not the ones graph "
            f"{manifest.name!r} was built from ({', '.join(manifest.sources)}); pass those, or "
            "rebuild the graph"
        )
    extract = _dated_by_graph(scan_lodging(paths), manifest)
    _write_cached(manifest.path, extract, sha)
    return extract.frame


def _dated_by_graph(extract: LodgingExtract, manifest: Any) -> LodgingExtract:
    """Lodging features carry no timestamps: the graph's date (newest road edit) is the best
    date of the extract."""
    if not manifest.osm_date or extract.data_date:
        return extract
    frame = extract.frame.copy()
    frame["data_date"] = manifest.osm_date
    return replace(extract, frame=frame, data_date=manifest.osm_date)


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
    extract = _dated_by_graph(extract, manifest)
    _write_cached(manifest.path, extract, list(manifest.source_sha256))
    return extract.frame


# --- ranking ------------------------------------------------------------------------------------
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


def _kinds(kinds: Iterable[str] | str | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    items = [kinds] if isinstance(kinds, str) else list(kinds)
    parts = [k for i in items for k in str(i).split(",")]
    wanted = [k.strip().lower().replace(" ", "_").replace("-", "_") for k in parts if k.strip()]
    bad = [k for k in wanted if k not in KINDS]
    if bad:
        raise ValidationError(
            f"unknown lodging kind(s): {', '.join(bad)}; choose from {', '.join(KINDS)}"
        )
    return tuple(dict.fromkeys(wanted)) or KINDS


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    geoms = frame.geometry
    xy = np.full((len(frame), 2), np.nan)
    ok = ~(geoms.isna().to_numpy() | geoms.is_empty.to_numpy())
    if ok.any():
        xy[ok, 0] = geoms[ok].x.to_numpy()
        xy[ok, 1] = geoms[ok].y.to_numpy()
    return xy


def _route(router: Router, xy: np.ndarray[Any, Any], site: LonLat) -> _Routed:
    """Drive seconds from each lodging (rows) to the site, with per-row provenance.

    NaN where unknown. ``auto`` may answer some rows from a graph and others with the
    estimate: each row carries its own engine label and estimate flag (its verdict then uses
    the estimate's margin).
    """
    n = len(xy)
    seconds = np.full(n, np.nan)
    edge = np.zeros(n, dtype=bool)
    estimated = np.full(n, router.info.is_estimate)
    labels = np.full(n, router.info.label, dtype=object)
    engine = router.info
    finite = np.isfinite(xy).all(axis=1) if n else np.zeros(0, dtype=bool)
    if finite.any():
        matrix = router.drive_times(xy[finite], [site])
        seconds[finite] = matrix.duration_s[:, 0]
        if matrix.edge_warning is not None:
            edge[finite] = matrix.edge_warning[:, 0]
        estimated[finite] = matrix.cell_estimated()[:, 0]
        labels[finite] = matrix.cell_labels()[:, 0]
        engine = matrix.engine
    return _Routed(seconds, edge, engine, estimated, labels.astype(str))


@dataclass(frozen=True)
class _Routed:
    seconds: np.ndarray[Any, np.dtype[np.float64]]
    edge: np.ndarray[Any, np.dtype[np.bool_]]
    engine: EngineInfo
    estimated: np.ndarray[Any, np.dtype[np.bool_]]
    labels: np.ndarray[Any, np.dtype[np.str_]]


def _rule_note(rule: ProximityRule, names: pd.Series, notes: pd.Series) -> pd.Series:
    """Eligibility notes, plus why a restricted house does not fit this rule's patients."""
    pop = RULE_POPULATIONS.get(rule.name)
    if pop is None or len(names) == 0:
        return notes
    groups = names.map(eligibility_group)
    clash = groups.isin(pop.not_in_groups)
    out = notes.copy()
    out[clash] = notes[clash] + f". {pop.description}: they would not qualify"
    return out


def _same_place(osm: gpd.GeoDataFrame, preferred: gpd.GeoDataFrame, within_m: float = 150.0) -> Any:
    """OSM rows that are one of the preferred places (close by and with a matching name)."""
    dup = np.zeros(len(osm), dtype=bool)
    if len(osm) == 0 or len(preferred) == 0:
        return dup
    pxy, oxy = _xy(preferred), _xy(osm)
    km = haversine_km(pxy, oxy)  # (n_pref, n_osm)
    near = np.nan_to_num(km, nan=np.inf) * 1000.0 <= within_m
    onames = osm["name"].map(_squash).to_numpy()
    for i, pname in enumerate(preferred["name"].map(_squash)):
        if not pname:
            continue
        for j in np.flatnonzero(near[i]):
            if onames[j] and (pname in onames[j] or onames[j] in pname):
                dup[j] = True
    return dup


def search_lodging(
    site: LonLat,
    lodging: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    kinds: Iterable[str] | str | None = None,
    limit: int | None = 50,
    preferred: gpd.GeoDataFrame | None = None,
    prescreen_kmh: float = PRESCREEN_KMH,
) -> LodgingSearch:
    """Lodging within the rule's drive time of ``site``, ranked, with what was left out.

    Parameters
    ----------
    site
        The study site.
    lodging
        OSM lodging (:func:`extract_lodging`, :func:`lodging_for_graph`); may be empty.
    rule
        The proximity rule; verdicts use :meth:`ProximityRule.verdicts` with the engine's info.
    router
        Any engine. Drive times are asked **from each lodging to the site** (the daily trip
        that matters is to the hospital).
    kinds
        Kinds to keep (``"hotel,apartment"`` or a list); default all of :data:`KINDS`.
        Applies to OSM places only.
    limit
        Most OSM places to list (``None``: all). Preferred places are always listed.
    preferred
        A site's own list (:func:`sites.lodging_lists.read_lodging_list`): listed first,
        whatever the verdict.
    prescreen_kmh
        Straight-line speed bound of the pre-screen (default :data:`PRESCREEN_KMH`).
    """
    wanted = _kinds(kinds)
    if limit is not None and limit < 0:
        raise ValidationError(f"limit must be 0 or more, got {limit}")
    if not (np.isfinite(prescreen_kmh) and prescreen_kmh > 0):
        raise ValidationError(f"prescreen_kmh must be a positive speed, got {prescreen_kmh}")
    base = lodging if lodging is not None else empty_lodging()
    missing = [c for c in ("kind", "name") if c not in base.columns]
    if missing:
        raise ValidationError(f"the lodging frame lacks column(s) {', '.join(missing)}")
    osm = base[base["kind"].isin(wanted)].copy()
    considered = len(osm)
    pref = preferred if preferred is not None else empty_lodging()
    dup = _same_place(osm, pref)
    osm = osm[~dup]

    site_xy = np.array([[site.lon, site.lat]])
    reach_km = rule.max_drive_min / 60.0 * prescreen_kmh
    oxy = _xy(osm)
    straight = haversine_km(oxy, site_xy)[:, 0] if len(osm) else np.zeros(0)
    keep = np.isfinite(straight) & (straight <= reach_km)
    beyond = int((~keep).sum())
    osm = osm[keep]
    osm_straight = straight[keep]

    routed = _route(router, oxy[keep], site)
    seconds, edge, engine = routed.seconds, routed.edge, routed.engine
    # Per row: an estimated time gets the estimate's margin even when others are routed.
    verdict = rule.verdicts(seconds, engine, routed.estimated)
    no_route = int((verdict == Verdict.UNKNOWN.value).sum())
    outside = int((verdict == Verdict.OUTSIDE.value).sum())
    ok = np.isin(verdict, [Verdict.WITHIN.value, Verdict.BORDERLINE.value])
    osm = osm.assign(
        preferred=False,
        drive_min=seconds / 60.0,
        spare_min=rule.spare_min(seconds),
        verdict=verdict,
        edge_warning=edge,
        straight_km=osm_straight,
        engine=routed.labels,
        estimated=routed.estimated,
    )[ok]
    osm = osm.sort_values(["drive_min", "name"], kind="mergesort")
    truncated = 0
    if limit is not None and len(osm) > limit:
        truncated = len(osm) - limit
        osm = osm.iloc[:limit]

    if len(pref):
        pxy = _xy(pref)
        p = _route(router, pxy, site)
        p_seconds = p.seconds
        engine = p.engine if len(osm) == 0 else engine
        pref = pref.assign(
            preferred=True,
            drive_min=p_seconds / 60.0,
            spare_min=rule.spare_min(p_seconds),
            verdict=rule.verdicts(p_seconds, p.engine, p.estimated),
            edge_warning=p.edge,
            engine=p.labels,
            estimated=p.estimated,
            straight_km=haversine_km(pxy, site_xy)[:, 0],
        ).sort_values(["drive_min", "name"], kind="mergesort", na_position="last")

    parts = [p for p in (pref, osm) if len(p)]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = empty_lodging().assign(
            preferred=pd.Series([], dtype=bool),
            drive_min=pd.Series([], dtype=float),
            spare_min=pd.Series([], dtype=float),
            verdict=pd.Series([], dtype=object),
            edge_warning=pd.Series([], dtype=bool),
            straight_km=pd.Series([], dtype=float),
            engine=pd.Series([], dtype=object),
            estimated=pd.Series([], dtype=bool),
        )
    for col in RESULT_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    frame["preferred"] = frame["preferred"].astype(bool)
    frame["edge_warning"] = frame["edge_warning"].astype(bool)
    for col in ("drive_min", "spare_min", "straight_km"):
        frame[col] = frame[col].astype(float)
    text_cols = [c for c in (*LODGING_COLUMNS, "note") if c in frame.columns]
    frame[text_cols] = frame[text_cols].fillna("").astype(str)
    frame["eligibility_note"] = _rule_note(rule, frame["name"], frame["eligibility_note"])
    frame["estimated"] = frame["estimated"].astype(bool)
    frame["engine_data_date"] = engine.data_date
    out = gpd.GeoDataFrame(frame[RESULT_COLUMNS], geometry=frame.geometry.values, crs="EPSG:4326")

    notices = [OSM_NOTICE]
    if engine.is_estimate or (len(out) and out["estimated"].all()):
        notices.append(
            "drive times are estimates from straight-line distance, not routed; "
            "confirm a chosen place with a routed check"
        )
    elif out["estimated"].any():
        notices.append(
            f"{int(out['estimated'].sum())} of {len(out)} drive times are estimates (no road "
            "graph covers them; marked, with a wider margin); confirm them with a routed check"
        )
    if out["edge_warning"].any():
        notices.append(
            "some drive times run into the edge of the road data and may be wrong (marked)"
        )
    return LodgingSearch(
        frame=out,
        site=site,
        rule=rule,
        engine=engine,
        considered=considered,
        beyond_reach=beyond,
        outside=outside,
        no_route=no_route,
        truncated=truncated,
        duplicates_of_preferred=int(dup.sum()),
        notices=tuple(notices),
    )


def find_lodging(
    site_point: LonLat,
    lodging: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    kinds: Iterable[str] | str | None = None,
    limit: int | None = 50,
    preferred: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidates within the rule's drive time of the site, preferred first, then by drive time.

    The frame of :func:`search_lodging` (columns :data:`RESULT_COLUMNS` + geometry); its
    ``attrs["counts"]`` holds the counts of what was left out (``considered``, ``beyond_reach``,
    ``outside``, ``no_route``, ``truncated``, ``duplicates_of_preferred``); use
    :func:`search_lodging` for them as a typed result with the notices.
    """
    result = search_lodging(site_point, lodging, rule, router, kinds, limit, preferred)
    frame = result.frame
    frame.attrs["counts"] = result.counts
    return frame


__all__ = [
    "ELIGIBILITY",
    "KINDS",
    "LODGING_COLUMNS",
    "OSM_NOTICE",
    "PRESCREEN_KMH",
    "RESULT_COLUMNS",
    "LodgingExtract",
    "LodgingSearch",
    "classify",
    "eligibility_note",
    "empty_lodging",
    "extract_lodging",
    "find_lodging",
    "is_hospitality_name",
    "lodging_for_graph",
    "lodging_from_pbfs",
    "scan_lodging",
    "search_lodging",
]
