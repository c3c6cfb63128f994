"""Road graphs for a set of sites from Geofabrik's OpenStreetMap extracts of US states.

``trialreach graph build --sites resolution`` works in five steps:

1. **Plan** (:func:`plan_extracts`): the possible reach of every site in ``minutes`` is a
   geodesic circle of radius ``minutes × speed_kmh`` (130 km/h by default: no car averages more,
   so 120 min → 260 km). The states of the shipped index (``data/geofabrik/us_states.csv``, with
   their shapes from ``data/boundaries/states-10m.json``) that touch the union of those circles
   are the extracts needed.
2. **Download** (:func:`download_extract`): ``<geofabrik_base_url>/<path>`` is streamed to
   ``<cache_dir>/downloads/<file>.part``; an interrupted download resumes with an HTTP ``Range``
   request; the finished file is checked against the ``.md5`` Geofabrik publishes next to it and
   only then renamed to ``<file>`` (with ``<file>.md5`` beside it). A verified file is reused
   without touching the network.
3. **Clip** (:func:`clip_extract`, pyosmium): only the roads (``highway=*``, ferries) with at
   least one node in the reach area are kept, whole, with every node they use and their turn
   restrictions. This drops buildings, land use and far-away roads: the clipped file is a small
   fraction of the state.
4. **Merge and build**: the clipped files go to :func:`geo.routing.graph.build_graph`, which
   merges them (roads crossing a state line appear in both and are de-duplicated) and builds the
   Valhalla tiles.

:func:`build_graph_for_sites` runs all of it and reports progress through a callback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import requests
import shapely
import urllib3
from shapely.geometry.base import BaseGeometry

from geo._http import HttpClient
from geo.errors import (
    GraphBuildError,
    NetworkError,
    NotFoundError,
    TrialreachError,
    ValidationError,
)
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH
from geo.routing.graph import DEFAULT_MAX_ISOCHRONE_MIN, GraphManifest, build_graph
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

INDEX_FILE = Path("geofabrik") / "us_states.csv"
"""The shipped index of US state extracts, relative to the data directory."""
BOUNDARIES_FILE = Path("boundaries") / "states-10m.json"
"""US state shapes (us-atlas TopoJSON), relative to the data directory."""
DEFAULT_REACH_SPEED_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""Upper bound of the average speed of a drive, used for the straight-line reach (km/h)."""
SITE_TOLERANCE_KM = 10.0
"""A site this close to an indexed state (coast, simplified border) still counts as inside."""
CHUNK_BYTES = 1 << 20
INDEX_COLUMNS = ("name", "fips", "slug", "geofabrik_path", "minlon", "minlat", "maxlon", "maxlat")
_GEOFABRIK_US = "north-america/us"
_NO_GEOFABRIK_EXTRACT = {"60", "66", "69"}
"""American Samoa, Guam, Northern Mariana Islands: Geofabrik has no extract of their own."""
_SLUG_EXCEPTIONS = {"78": "us-virgin-islands"}


# --- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Extract:
    """One downloadable extract of the index (a US state, DC or a territory)."""

    name: str
    fips: str
    slug: str
    geofabrik_path: str
    """Path below the Geofabrik root, e.g. ``north-america/us/minnesota-latest.osm.pbf``."""
    bounds: tuple[float, float, float, float]
    """Rough (min lon, min lat, max lon, max lat) of the state."""

    @property
    def filename(self) -> str:
        return self.geofabrik_path.rsplit("/", 1)[-1]

    def url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.geofabrik_path.lstrip('/')}"


@dataclass(frozen=True)
class ExtractPlan:
    """Which extracts cover the possible reach of every site."""

    extracts: tuple[Extract, ...]
    area: BaseGeometry
    """Union of the sites' reach circles (lon/lat)."""
    minutes: float
    radius_km: float
    site_count: int
    outside_index_km2: float
    """Part of the reach that no indexed state covers (sea, Canada, Mexico) in km²."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.extracts)


@dataclass(frozen=True)
class DownloadResult:
    """A verified extract on disk."""

    extract: Extract
    path: Path
    md5: str
    size_bytes: int
    downloaded_bytes: int
    """Bytes fetched by this call (0 when a verified file was reused)."""
    resumed_from_bytes: int
    """Size of the partial download this call continued from (0 = fresh start)."""

    @property
    def reused(self) -> bool:
        return self.downloaded_bytes == 0


@dataclass(frozen=True)
class ClipResult:
    """Counts of a clip: road ways seen in the source and what was written."""

    source: Path
    path: Path
    road_ways_in: int
    road_ways_out: int
    nodes_out: int
    relations_out: int
    size_bytes: int


@dataclass(frozen=True)
class ProgressEvent:
    """A step of :func:`build_graph_for_sites`.

    ``stage`` is ``plan``, ``download``, ``verify``, ``clip``, ``build``, ``lodging`` or ``done``;
    ``done`` and
    ``total`` count bytes for download/verify and road ways for clip (``total`` is None when not
    known); ``message`` is a line a person can read.
    """

    stage: str
    label: str
    done: int = 0
    total: int | None = None
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def _emit(progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if progress is not None:
        progress(event)


# --- the index ------------------------------------------------------------------------------------
def _geofabrik_slug(fips: str, name: str) -> str:
    return _SLUG_EXCEPTIONS.get(fips, name.lower().replace(" ", "-"))


def read_state_shapes(path: Path) -> Any:
    """US state shapes (GeoDataFrame: ``fips``, ``name``, geometry in EPSG:4326) from us-atlas."""
    import geopandas as gpd

    try:
        frame = gpd.read_file(path, layer="states")
    except Exception as exc:  # pyogrio raises several types for a missing/bad file
        raise GraphBuildError(f"cannot read the US state shapes from {path}: {exc}") from exc
    frame = frame.rename(columns={"id": "fips"})
    frame["fips"] = frame["fips"].astype(str).str.zfill(2)
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    frame["geometry"] = shapely.make_valid(frame.geometry.to_numpy())
    return frame[["fips", "name", "geometry"]]


def _west_bounds(geom: BaseGeometry) -> tuple[float, float, float, float]:
    """Bounds, with parts east of the antimeridian shifted by −360° (Alaska's far Aleutians)."""
    minx, miny, maxx, maxy = geom.bounds
    if maxx - minx <= 180.0:
        return (float(minx), float(miny), float(maxx), float(maxy))
    parts = shapely.get_parts(geom)
    b = shapely.bounds(parts)
    west = np.where(b[:, 0] > 0, b[:, 0] - 360.0, b[:, 0])
    east = np.where(b[:, 0] > 0, b[:, 2] - 360.0, b[:, 2])
    return (float(west.min()), float(b[:, 1].min()), float(east.max()), float(b[:, 3].max()))


def state_index_from_boundaries(path: Path) -> pd.DataFrame:
    """The index rows (:data:`INDEX_COLUMNS`) derived from the us-atlas state shapes.

    Every state, DC, Puerto Rico and the US Virgin Islands (Geofabrik has an extract of each under
    ``north-america/us/``); bounds rounded outwards to 0.001°. This is how
    ``data/geofabrik/us_states.csv`` was made (``data/geofabrik/make_us_states.py``).
    """
    shapes = read_state_shapes(path)
    shapes = shapes[~shapes["fips"].isin(_NO_GEOFABRIK_EXTRACT)]
    rows = []
    for fips, name, geom in zip(shapes["fips"], shapes["name"], shapes.geometry, strict=True):
        slug = _geofabrik_slug(fips, name)
        minx, miny, maxx, maxy = _west_bounds(geom)
        rows.append(
            {
                "name": name,
                "fips": fips,
                "slug": slug,
                "geofabrik_path": f"{_GEOFABRIK_US}/{slug}-latest.osm.pbf",
                "minlon": np.floor(minx * 1000) / 1000,
                "minlat": np.floor(miny * 1000) / 1000,
                "maxlon": np.ceil(maxx * 1000) / 1000,
                "maxlat": np.ceil(maxy * 1000) / 1000,
            }
        )
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).sort_values("name", ignore_index=True)


def load_extract_index(
    settings: Settings | None = None, path: Path | None = None, *, shapes: bool = True
) -> Any:
    """The index of extracts as a GeoDataFrame (EPSG:4326), one row per extract.

    The geometry is the state's shape from ``data/boundaries/states-10m.json`` where its ``fips``
    matches, else the rectangle of its bounds (also used when ``shapes`` is False).
    """
    import geopandas as gpd

    settings = settings or get_settings()
    path = path or settings.data_dir / INDEX_FILE
    try:
        frame = pd.read_csv(path, dtype={"fips": str, "slug": str, "name": str})
    except (OSError, ValueError) as exc:
        raise GraphBuildError(f"cannot read the extract index {path}: {exc}") from exc
    missing = [c for c in INDEX_COLUMNS if c not in frame.columns]
    if missing:
        raise GraphBuildError(f"the extract index {path} lacks columns: {', '.join(missing)}")
    frame["fips"] = frame["fips"].fillna("").astype(str)
    boxes = shapely.box(frame["minlon"], frame["minlat"], frame["maxlon"], frame["maxlat"])
    geoms = np.array(boxes, dtype=object)
    boundaries = settings.data_dir / BOUNDARIES_FILE
    if shapes and boundaries.is_file():
        states = read_state_shapes(boundaries).set_index("fips").geometry
        found = frame["fips"].map(states)
        has = found.notna().to_numpy()
        geoms[has] = found[has].to_numpy()
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


def _extract_from_row(row: Any) -> Extract:
    return Extract(
        name=str(row["name"]),
        fips=str(row["fips"]),
        slug=str(row["slug"]),
        geofabrik_path=str(row["geofabrik_path"]),
        bounds=(
            float(row["minlon"]),
            float(row["minlat"]),
            float(row["maxlon"]),
            float(row["maxlat"]),
        ),
    )


# --- planning -------------------------------------------------------------------------------------
def reach_radius_km(minutes: float, speed_kmh: float = DEFAULT_REACH_SPEED_KMH) -> float:
    """Straight-line distance no drive of ``minutes`` can exceed at ``speed_kmh`` (km)."""
    if minutes <= 0 or speed_kmh <= 0:
        raise ValidationError("minutes and speed_kmh must be positive")
    return float(minutes) / 60.0 * float(speed_kmh)


def reach_circles(lonlat: FloatArray, radius_km: float, n_vertices: int = 96) -> FloatArray:
    """Geodesic circles (WGS84) of ``radius_km`` around each (lon, lat): shapely polygons."""
    from pyproj import Geod

    pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return np.empty(0, dtype=object)
    az = np.linspace(0.0, 360.0, n_vertices, endpoint=False)
    lon0 = np.repeat(pts[:, 0], n_vertices)
    lat0 = np.repeat(pts[:, 1], n_vertices)
    azs = np.tile(az, len(pts))
    lon, lat, _ = Geod(ellps="WGS84").fwd(lon0, lat0, azs, np.full(azs.shape, radius_km * 1000.0))
    lon = np.asarray(lon).reshape(len(pts), n_vertices)
    lat = np.asarray(lat).reshape(len(pts), n_vertices)
    # A circle across the antimeridian (western Aleutians) stays west of it: lon in (-540, 0].
    lon = np.where(
        (lon.max(axis=1, keepdims=True) - lon.min(axis=1, keepdims=True) > 180.0) & (lon > 0),
        lon - 360.0,
        lon,
    )
    rings = np.stack([lon, lat], axis=2)
    return np.asarray(shapely.polygons(rings), dtype=object)


def _site_lonlat(sites: Any) -> tuple[FloatArray, list[str]]:
    """(lon, lat) of each site and a label for messages, from a GeoDataFrame or an array."""
    if hasattr(sites, "geometry"):
        geoms = sites.geometry.to_numpy()
        if len(geoms) and not bool(np.all(shapely.get_type_id(geoms) == 0)):
            geoms = shapely.centroid(geoms)
        xy = shapely.get_coordinates(geoms) if len(geoms) else np.zeros((0, 2))
        if len(xy) != len(geoms):
            raise ValidationError("every site needs a location (some sites have none)")
        labels = pd.Series(sites.index.astype(str), index=sites.index)
        for col in ("site_id", "name"):  # the name wins where there is one
            if col in sites.columns:
                text = sites[col].astype("string").str.strip()
                labels = text.where(text.fillna("") != "", labels)
        return np.asarray(xy, dtype=float), [str(v) for v in labels]
    arr = np.asarray(sites, dtype=float).reshape(-1, 2)
    return arr, [f"site {i + 1}" for i in range(len(arr))]


def plan_extracts(
    sites: Any,
    minutes: float = 120.0,
    settings: Settings | None = None,
    *,
    index: Any = None,
    speed_kmh: float = DEFAULT_REACH_SPEED_KMH,
) -> ExtractPlan:
    """The extracts that hold every road a drive of ``minutes`` from any site could use.

    Parameters
    ----------
    sites
        GeoDataFrame of site points (EPSG:4326) or an (n, 2) array of (lon, lat).
    minutes
        Longest drive (min); with ``speed_kmh`` it gives the reach radius.
    index
        Index GeoDataFrame (default :func:`load_extract_index`).

    Raises
    ------
    GraphBuildError
        No sites, or a site outside every state of the index (with what to do instead).
    """
    settings = settings or get_settings()
    lonlat, labels = _site_lonlat(sites)
    if len(lonlat) == 0:
        raise GraphBuildError("the site set is empty: there is nothing to build a graph for")
    if not np.isfinite(lonlat).all():
        raise GraphBuildError("some sites have no valid coordinates; fix the site file first")
    index = load_extract_index(settings) if index is None else index
    geoms = index.geometry.to_numpy()
    radius_km = reach_radius_km(minutes, speed_kmh)
    circles = reach_circles(lonlat, radius_km)
    area = shapely.union_all(circles)

    # Every site must lie in (or within a few km of) an indexed state.
    tol = reach_circles(lonlat, SITE_TOLERANCE_KM, n_vertices=24)
    tree = shapely.STRtree(geoms)
    hit_site, _ = tree.query(tol, predicate="intersects")
    outside = sorted(set(range(len(lonlat))) - set(hit_site.tolist()))
    if outside:
        names = ", ".join(
            f"{labels[i]} ({lonlat[i, 1]:.4f}, {lonlat[i, 0]:.4f})" for i in outside[:5]
        )
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        raise GraphBuildError(
            f"{len(outside)} site(s) lie outside the US states the Geofabrik index covers: "
            f"{names}{more}. Download an OpenStreetMap extract that covers them (e.g. from "
            "https://download.geofabrik.de) and build with `trialreach graph build --pbf FILE`, "
            "or leave those sites out of the set."
        )
    hits = np.unique(tree.query(area, predicate="intersects"))
    chosen = index.iloc[np.sort(hits)].sort_values("name")
    extracts = tuple(_extract_from_row(r) for _, r in chosen.iterrows())
    uncovered = shapely.difference(area, shapely.union_all(geoms[hits]))
    return ExtractPlan(
        extracts=extracts,
        area=area,
        minutes=float(minutes),
        radius_km=radius_km,
        site_count=len(lonlat),
        outside_index_km2=_area_km2(uncovered),
    )


def _area_km2(geom: BaseGeometry) -> float:
    if geom.is_empty:
        return 0.0
    from pyproj import Geod

    area, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(float(area)) / 1e6


# --- download -------------------------------------------------------------------------------------
def downloads_dir(settings: Settings | None = None) -> Path:
    """Where extracts are kept: ``<cache_dir>/downloads``."""
    return (settings or get_settings()).cache_dir / "downloads"


def parse_md5_file(text: str, filename: str | None = None) -> str:
    """The checksum in a ``.md5`` file (``<md5>  <filename>``)."""
    first = text.strip().split()
    digest = first[0].lower() if first else ""
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        what = f" for {filename}" if filename else ""
        raise GraphBuildError(f"the checksum file{what} is not in md5sum format: {text[:80]!r}")
    return digest


def md5_of(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """MD5 of a file (hex), read in 1 MiB blocks."""
    h = hashlib.md5(usedforsecurity=False)
    done = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(block)
            done += len(block)
            if progress is not None:
                progress(done)
    return h.hexdigest()


def _disk_error(exc: OSError, where: Path, need_bytes: int | None = None) -> GraphBuildError:
    if exc.errno == errno.ENOSPC or need_bytes is not None:
        need = f" (about {need_bytes / 1e6:,.0f} MB more are needed)" if need_bytes else ""
        return GraphBuildError(
            f"the disk is full in {where}{need}. Free some space, or point the cache at a "
            "bigger disk with TRIALREACH_CACHE_DIR, then run the command again (downloads "
            "resume where they stopped)."
        )
    return GraphBuildError(f"cannot write to {where}: {exc}")


@dataclass
class _Fetch:
    """State of one resumable download."""

    extract: Extract
    url: str
    part: Path
    expected_md5: str
    total: int | None = None
    resumed_from: int = 0
    fetched: int = 0
    requests_made: int = 0


def _remote_md5(client: HttpClient, extract: Extract, base_url: str) -> str:
    url = extract.url(base_url) + ".md5"
    try:
        response = client.request("GET", url)
    except NotFoundError as exc:
        raise GraphBuildError(
            f"Geofabrik has no extract at {extract.url(base_url)} (its .md5 is missing); the "
            "index may be out of date — check https://download.geofabrik.de/north-america/us.html "
            "or build from a file with `trialreach graph build --pbf FILE`"
        ) from exc
    except NetworkError as exc:
        raise NetworkError(f"cannot download {extract.filename}: {exc}") from exc
    return parse_md5_file(response.text, extract.filename)


def download_extract(
    extract: Extract,
    settings: Settings | None = None,
    *,
    progress: ProgressCallback | None = None,
    client: HttpClient | None = None,
    refresh: bool = False,
) -> DownloadResult:
    """A verified copy of ``extract`` in ``<cache_dir>/downloads`` (downloaded or reused).

    A file verified earlier is reused without any network access (``refresh=True`` asks the
    server whether a newer one exists). A partial ``.part`` from an earlier run is resumed with an
    HTTP Range request when the server still publishes the same file (same MD5); otherwise it is
    discarded. Connection drops during the transfer are retried from where they stopped.

    Raises
    ------
    NetworkError
        The server could not be reached, or kept failing (say so: resume by running again).
    GraphBuildError
        Checksum mismatch (the download is deleted), disk full, missing extract on the server.
    """
    settings = settings or get_settings()
    client = client or HttpClient.from_settings("Geofabrik", settings)
    folder = downloads_dir(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, folder) from exc
    final = folder / extract.filename
    md5_path = folder / (extract.filename + ".md5")
    label = extract.name

    local_md5 = _verified_local(final, md5_path, progress, label)
    if local_md5 is not None and not refresh:
        return DownloadResult(extract, final, local_md5, final.stat().st_size, 0, 0)
    expected = _remote_md5(client, extract, settings.geofabrik_base_url)
    if local_md5 == expected:
        return DownloadResult(extract, final, local_md5, final.stat().st_size, 0, 0)

    part = folder / (extract.filename + ".part")
    meta = folder / (extract.filename + ".part.json")
    _discard_stale_part(part, meta, expected)
    try:
        meta.write_text(json.dumps({"md5": expected, "url": extract.url("")}))
    except OSError as exc:
        raise _disk_error(exc, folder) from exc
    state = _Fetch(extract, extract.url(settings.geofabrik_base_url), part, expected)
    _transfer(state, client, settings, progress)

    _emit(progress, ProgressEvent("verify", label, 0, state.total, f"checking {extract.filename}"))
    got = md5_of(part, lambda n: _emit(progress, ProgressEvent("verify", label, n, state.total)))
    if got != expected:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise GraphBuildError(
            f"checksum mismatch for {extract.filename}: expected MD5 {expected}, got {got}. The "
            "damaged download was deleted; run the command again to download it afresh (if it "
            "keeps happening, the file changed on the server while downloading — wait and retry)."
        )
    try:
        final.unlink(missing_ok=True)
        part.rename(final)
        md5_path.write_text(f"{expected}  {extract.filename}\n")
    except OSError as exc:
        raise _disk_error(exc, folder) from exc
    meta.unlink(missing_ok=True)
    size = final.stat().st_size
    _emit(progress, ProgressEvent("verify", label, size, size, f"{extract.filename} verified"))
    return DownloadResult(extract, final, expected, size, state.fetched, state.resumed_from)


def _verified_local(
    final: Path, md5_path: Path, progress: ProgressCallback | None, label: str
) -> str | None:
    """The MD5 of a complete earlier download that still matches its checksum file, else None."""
    if not (final.is_file() and md5_path.is_file()):
        return None
    try:
        recorded = parse_md5_file(md5_path.read_text(), final.name)
    except (OSError, GraphBuildError):
        return None
    size = final.stat().st_size
    got = md5_of(final, lambda n: _emit(progress, ProgressEvent("verify", label, n, size)))
    if got == recorded:
        return got
    log.warning("%s no longer matches its checksum; downloading it again", final.name)
    final.unlink(missing_ok=True)
    md5_path.unlink(missing_ok=True)
    return None


def _discard_stale_part(part: Path, meta: Path, expected: str) -> None:
    """Delete a partial download that belongs to another version of the file."""
    if not part.exists():
        return
    try:
        started_for = json.loads(meta.read_text()).get("md5")
    except (OSError, ValueError, AttributeError):
        started_for = None
    if started_for != expected:
        log.info("discarding %s: it belongs to an older version of the extract", part.name)
        part.unlink(missing_ok=True)


def _transfer(
    state: _Fetch, client: HttpClient, settings: Settings, progress: ProgressCallback | None
) -> None:
    """Stream the file into ``state.part``, resuming after drops; raise after repeated failures."""
    failures = 0
    last_error = ""
    label = state.extract.name
    while True:
        offset = state.part.stat().st_size if state.part.exists() else 0
        if state.requests_made == 0:
            state.resumed_from = offset
        headers = {"Accept-Encoding": "identity"}  # byte ranges of the file itself
        if offset:
            headers["Range"] = f"bytes={offset}-"
        state.requests_made += 1
        progressed = False
        try:
            with client.session.get(
                state.url, headers=headers, stream=True, timeout=client.timeout_s
            ) as response:
                status = response.status_code
                if status == 416 and offset:
                    return  # the partial file is already complete; the checksum decides
                if status == 404:
                    raise GraphBuildError(
                        f"Geofabrik has no file at {state.url}; the index may be out of date — "
                        "build from a file with `trialreach graph build --pbf FILE`"
                    )
                if status in (200, 206):
                    progressed = _write_body(state, response, offset, progress, label)
                    return
                last_error = f"HTTP {status}"
                if status not in (408, 429, 500, 502, 503, 504):
                    raise NetworkError(
                        f"Geofabrik answered HTTP {status} for {state.extract.filename}; "
                        "try again later"
                    )
        except _Interrupted as exc:
            progressed = exc.progressed
            last_error = exc.reason
        except requests.Timeout:
            last_error = f"timed out after {client.timeout_s} s"
        except requests.ConnectionError as exc:
            last_error = f"could not connect ({type(exc).__name__})"
        failures = 0 if progressed else failures + 1
        if failures > settings.http_retries:
            have = state.part.stat().st_size if state.part.exists() else 0
            of = f" of {state.total / 1e6:,.1f} MB" if state.total else ""
            raise NetworkError(
                f"downloading {state.extract.filename} failed: {last_error} after "
                f"{failures} tries ({have / 1e6:,.1f} MB{of} kept). Check the network "
                "connection and run the command again: the download resumes where it stopped."
            )
        delay = settings.http_backoff_s * (2 ** max(0, failures - 1))
        log.debug("download of %s: %s; retrying in %.2f s", state.part.name, last_error, delay)
        client.sleep(delay)


class _Interrupted(Exception):
    def __init__(self, reason: str, progressed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progressed = progressed


def _write_body(
    state: _Fetch,
    response: requests.Response,
    offset: int,
    progress: ProgressCallback | None,
    label: str,
) -> bool:
    """Append (206) or write afresh (200) the body; raise :class:`_Interrupted` on a drop."""
    if response.status_code == 206 and not _range_starts_at(response, offset):
        state.part.unlink(missing_ok=True)  # not the bytes asked for: start afresh
        raise _Interrupted("the server sent another byte range than asked for", False)
    if response.status_code == 200 and offset:
        offset = 0  # the server ignored the Range and sends the whole file: start over
        if state.requests_made == 1:
            state.resumed_from = 0
    length = response.headers.get("Content-Length")
    remaining = int(length) if length and length.isdigit() else None
    if remaining is not None:
        state.total = offset + remaining
        free = shutil.disk_usage(state.part.parent).free
        if remaining > free:
            raise _disk_error(
                OSError(errno.ENOSPC, "no space"), state.part.parent, remaining - free
            )
    done = offset
    wrote = False
    _emit(
        progress,
        ProgressEvent(
            "download",
            label,
            done,
            state.total,
            f"resuming at {done / 1e6:,.1f} MB" if done else "",
        ),
    )
    try:
        with state.part.open("r+b" if offset and state.part.exists() else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            try:
                # read1 hands over every byte received, so a drop loses nothing already sent.
                while chunk := response.raw.read1(CHUNK_BYTES):
                    fh.write(chunk)
                    done += len(chunk)
                    state.fetched += len(chunk)
                    wrote = True
                    _emit(progress, ProgressEvent("download", label, done, state.total))
            except (
                requests.RequestException,
                urllib3.exceptions.HTTPError,
                ConnectionError,
            ) as exc:
                raise _Interrupted(f"connection dropped ({type(exc).__name__})", wrote) from exc
    except OSError as exc:
        raise _disk_error(exc, state.part.parent) from exc
    if state.total is not None and done < state.total:
        raise _Interrupted(f"connection closed at {done} of {state.total} bytes", wrote)
    return wrote


def _range_starts_at(response: requests.Response, offset: int) -> bool:
    """True when a 206 answer's ``Content-Range`` starts where the partial file ends."""
    text = response.headers.get("Content-Range", "")
    try:
        start = int(text.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


# --- clipping -------------------------------------------------------------------------------------
def _is_road(tags: Any) -> bool:
    return "highway" in tags or tags.get("route") == "ferry"


def clip_extract(
    source: Path,
    area: BaseGeometry,
    out: Path,
    *,
    progress: ProgressCallback | None = None,
    label: str = "",
    chunk_ways: int = 200_000,
) -> ClipResult:
    """Write to ``out`` the roads of ``source`` that enter ``area``.

    Kept: ways tagged ``highway=*`` or ``route=ferry`` whose line touches ``area`` (whole, so a
    road leaving the area is not cut), every node they use (with its tags: signals, barriers),
    and ``type=restriction`` relations that mention a kept way. Everything else (buildings, land
    use, far roads) is dropped. The output is sorted like the input, as Valhalla needs.

    Way geometries are made by libosmium (WKB) and tested against ``area`` in batches of
    ``chunk_ways`` with shapely, so no Python code runs per node.
    """
    import osmium

    label = label or source.name
    if out.exists():
        out.unlink()
    prepared = shapely.Polygon() if area.is_empty else area
    shapely.prepare(prepared)
    tracker = osmium.IdTracker()
    wkb = osmium.geom.WKBFactory()
    lines: list[Any] = []  # WKB hex strings, or shapely geometries for degenerate ways
    ids: list[int] = []
    road_ways = 0
    kept = 0

    def flush() -> int:
        if not ids:
            return 0
        geoms = np.empty(len(lines), dtype=object)
        is_wkb = np.fromiter((isinstance(g, str) for g in lines), bool, len(lines))
        geoms[is_wkb] = shapely.from_wkb(np.array(lines, dtype=object)[is_wkb])
        geoms[~is_wkb] = np.array(lines, dtype=object)[~is_wkb]
        keep = shapely.intersects(prepared, geoms)
        way_ids = np.asarray(ids, dtype=np.int64)[keep]
        for wid in way_ids.tolist():
            tracker.add_way(wid)
        lines.clear()
        ids.clear()
        return len(way_ids)

    def degenerate(way: Any) -> BaseGeometry | None:
        """A way libosmium cannot make a line of (one distinct point, missing nodes)."""
        pts = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
        if not pts:
            return None
        return shapely.Point(pts[0]) if len(set(pts)) == 1 else shapely.LineString(pts)

    try:
        ways = osmium.FileProcessor(str(source)).with_locations()
        ways = ways.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        for way in cast(Iterable[Any], ways):
            if not _is_road(way.tags):
                continue
            road_ways += 1
            try:
                lines.append(wkb.create_linestring(way))
            except (RuntimeError, osmium.InvalidLocationError):
                geom = degenerate(way)
                if geom is None:
                    continue
                lines.append(geom)
            ids.append(way.id)
            if len(ids) >= chunk_ways:
                kept += flush()
                _emit(progress, ProgressEvent("clip", label, road_ways, None))
        kept += flush()
        restrictions = osmium.FileProcessor(str(source), osmium.osm.RELATION).with_filter(
            osmium.filter.TagFilter(("type", "restriction"))
        )
        for rel in restrictions:
            if tracker.contains_any_references(rel):
                tracker.add_relation(rel.id)
        tracker.complete_backward_references(str(source), relation_depth=0)
        writer = osmium.SimpleWriter(str(out))
        try:
            osmium.apply(str(source), tracker.id_filter(), writer)
        finally:
            writer.close()
    except RuntimeError as exc:
        out.unlink(missing_ok=True)
        raise GraphBuildError(f"cannot clip {source.name}: {exc}") from exc
    except OSError as exc:
        out.unlink(missing_ok=True)
        raise _disk_error(exc, out.parent) from exc
    nodes_out = len(tracker.node_ids())
    rels_out = len(tracker.relation_ids())
    _emit(
        progress,
        ProgressEvent("clip", label, road_ways, road_ways, f"kept {kept:,} of {road_ways:,} roads"),
    )
    return ClipResult(
        source=source,
        path=out,
        road_ways_in=road_ways,
        road_ways_out=len(tracker.way_ids()),
        nodes_out=nodes_out,
        relations_out=rels_out,
        size_bytes=out.stat().st_size,
    )


# --- everything -----------------------------------------------------------------------------------
def build_graph_for_sites(
    sites_gdf: Any,
    name: str,
    minutes: float = 120.0,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    *,
    index: Any = None,
    jobs: int = 2,
    refresh: bool = False,
    speed_kmh: float = DEFAULT_REACH_SPEED_KMH,
    algorithm: str = "mld",
) -> GraphManifest:
    """Download, verify, clip, merge and build the road graph ``name`` for these sites.

    Parameters
    ----------
    sites_gdf
        Site points (GeoDataFrame in EPSG:4326, e.g. from ``sites.load_site_set``).
    name
        Graph name in the cache (``trialreach graph list`` shows it).
    minutes
        Longest drive the graph must support from each site (min).
    progress
        Called with a :class:`ProgressEvent` at every step (the CLI draws progress bars).
    index
        Extract index (default: the shipped US states index).
    refresh
        Ask Geofabrik for newer versions of extracts already downloaded.
    """
    settings = settings or get_settings()
    plan = plan_extracts(sites_gdf, minutes, settings, index=index, speed_kmh=speed_kmh)
    listed = ", ".join(plan.names)
    _emit(
        progress,
        ProgressEvent(
            "plan",
            name,
            len(plan.extracts),
            len(plan.extracts),
            f"{plan.site_count} site(s), reach {plan.radius_km:.0f} km: {listed}",
        ),
    )
    client = HttpClient.from_settings("Geofabrik", settings)
    downloads = [
        download_extract(e, settings, progress=progress, client=client, refresh=refresh)
        for e in plan.extracts
    ]
    work_root = downloads_dir(settings)
    work = Path(tempfile.mkdtemp(prefix=f".clip-{name}-", dir=work_root))
    try:
        clipped: list[Path] = []
        for d in downloads:
            out = work / f"{d.extract.slug}-{name}.osm.pbf"
            res = clip_extract(d.path, plan.area, out, progress=progress, label=d.extract.name)
            if res.road_ways_out:
                clipped.append(res.path)
        if not clipped:
            raise GraphBuildError(
                f"no roads within {plan.radius_km:.0f} km of the sites in {listed}; check the "
                "site coordinates"
            )
        _emit(
            progress,
            ProgressEvent(
                "build", name, 0, None, f"building tiles from {len(clipped)} clipped extract(s)"
            ),
        )
        t0 = time.perf_counter()
        manifest = build_graph(
            clipped,
            name,
            settings,
            jobs=jobs,
            max_isochrone_min=max(DEFAULT_MAX_ISOCHRONE_MIN, float(minutes)),
            algorithm=algorithm,
        )
        _store_lodging(manifest, [d.path for d in downloads], plan.area, progress, name)
        _emit(
            progress,
            ProgressEvent("done", name, 1, 1, f"built {name} in {time.perf_counter() - t0:.1f} s"),
        )
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _store_lodging(
    manifest: GraphManifest,
    extracts: list[Path],
    area: BaseGeometry,
    progress: ProgressCallback | None,
    name: str,
) -> None:
    """Keep the lodging of the full extracts next to the graph (the clip keeps roads only).

    A failure here does not fail the graph: lodging is then read on first use, and the message
    says how to give the extracts.
    """
    from geo.lodging import store_lodging_for_graph

    _emit(progress, ProgressEvent("lodging", name, 0, None, "extracting lodging (OpenStreetMap)"))
    try:
        frame = store_lodging_for_graph(manifest, extracts, area)
    except TrialreachError as exc:
        _emit(progress, ProgressEvent("lodging", name, 1, 1, f"lodging not extracted: {exc}"))
        return
    _emit(progress, ProgressEvent("lodging", name, 1, 1, f"{len(frame)} lodging places kept"))


def describe_plan(plan: ExtractPlan) -> str:
    """One paragraph on what a plan downloads, for the CLI."""
    text = (
        f"{plan.site_count} site(s); a {plan.minutes:.0f}-minute drive stays within "
        f"{plan.radius_km:.0f} km; extracts needed: {', '.join(plan.names)}"
    )
    if plan.outside_index_km2 > 1.0:
        text += (
            f". About {plan.outside_index_km2:,.0f} km² of that reach lies outside every extract "
            "of the index (sea, Canada, Mexico): roads there are not included"
        )
    return text


__all__ = [
    "DEFAULT_REACH_SPEED_KMH",
    "INDEX_FILE",
    "ClipResult",
    "DownloadResult",
    "Extract",
    "ExtractPlan",
    "ProgressCallback",
    "ProgressEvent",
    "build_graph_for_sites",
    "clip_extract",
    "describe_plan",
    "download_extract",
    "downloads_dir",
    "load_extract_index",
    "md5_of",
    "parse_md5_file",
    "plan_extracts",
    "reach_circles",
    "reach_radius_km",
    "read_state_shapes",
    "state_index_from_boundaries",
]
