"""The front door: each workflow of trialreach as one function, for notebooks, the CLI and the app.

>>> import trialreach
>>> answer = trialreach.check("44.06, -92.51", sites="resolution")   # doctest: +SKIP
>>> answer[["verdict", "drive_min", "nearest_site", "engine"]]        # doctest: +SKIP

Every function takes names or objects (a site-set name or a GeoDataFrame of sites, a rule preset
or a :class:`~geo.rules.ProximityRule`, an engine key or a :class:`~geo.routing.base.Router`),
keyword-only options, and returns GeoDataFrames (or typed results holding them) whose rows and
``.attrs`` say where the answer comes from: the rule, the engine and its road data, whether it is
an estimate, the site set, the geocoder and the trialreach version.

This is the only module that joins :mod:`geo` (the domain) and :mod:`sites` (site sets); the
faces (``trialreach.commands``, ``pages``, ``appkit``) parse input, call it and present.

Privacy: addresses are only held in memory. Nothing here logs or writes a place; ``.attrs`` never
holds an address (only counts, names of public things and how exact locations are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import EngineNotAvailableError, ValidationError
from geo.places import PLACE_COLUMNS, locate_places, read_table
from geo.proximity import RESULT_COLUMNS
from geo.routing.base import Router
from geo.routing.catalogue import make_router
from geo.rules import ProximityRule, custom_rule, get_rule
from geo.settings import Settings, get_settings
from geo.types import GeocodeResult, LonLat, Precision

if TYPE_CHECKING:
    from geo.coverage import CoverageResult
    from geo.lodging.search import LodgingSearch
    from geo.places import PointGeocoder
    from geo.routing.graph import GraphManifest
    from geo.siting import SuggestResult

log = logging.getLogger(__name__)

type Progress = Callable[[int, int], None]
"""Called with (done, total) as work proceeds."""

type PlacesInput = (
    str | Path | GeocodeResult | LonLat | Sequence[str] | pd.DataFrame | gpd.GeoDataFrame
)
type SitesInput = str | Path | gpd.GeoDataFrame
type RuleInput = str | ProximityRule
type EngineInput = str | Router | None

TABLE_SUFFIXES = (".csv", ".txt", ".tsv")
"""A text place ending with one of these is a file of places."""


# --------------------------------------------------------------------------------------------
# Building blocks (public: the faces use them to resolve what a user chose)
# --------------------------------------------------------------------------------------------
def version() -> str:
    """The installed trialreach version (from the package metadata)."""
    from trialreach import __version__

    return __version__


def resolve_settings(
    *,
    engine: str | None = None,
    geocoder: str | None = None,
    settings: Settings | None = None,
) -> Settings:
    """Settings from the environment (or ``settings``) with the engine/geocoder chosen here."""
    s = settings or get_settings()
    changes: dict[str, Any] = {}
    if engine:
        changes["engine"] = engine
    if geocoder:
        changes["geocoder"] = geocoder
    return s.with_(**changes) if changes else s


def resolve_rule(
    rule: RuleInput = "resolution",
    *,
    max_minutes: float | None = None,
    margin_min: float | None = None,
) -> ProximityRule:
    """A rule preset by name (or a rule), with a custom limit and/or margin in minutes."""
    base = rule if isinstance(rule, ProximityRule) else get_rule(str(rule))
    if max_minutes is None and margin_min is None:
        return base
    return custom_rule(
        max_drive_min=max_minutes if max_minutes is not None else base.max_drive_min,
        min_days=base.min_days,
        margin_min=margin_min if margin_min is not None else base.margin_min,
    )


def open_engine(
    engine: EngineInput = "auto",
    *,
    graph: str | None = None,
    settings: Settings | None = None,
) -> Router:
    """A routing engine from a catalogue key (``auto``, ``valhalla``, ``valhalla:demo``, …).

    A :class:`~geo.routing.base.Router` is returned as is; ``None`` means the settings' engine.
    """
    if isinstance(engine, Router):
        return engine
    return make_router(engine, graph=graph, settings=settings)


def open_geocoder(geocoder: Any = None, *, settings: Settings | None = None) -> PointGeocoder:
    """A geocoder: ``offline`` (default), ``census`` or ``ors``, or any object with ``geocode``."""
    if geocoder is not None and not isinstance(geocoder, str):
        return geocoder  # type: ignore[no-any-return]
    from geo.geocode import Geocoder

    made: PointGeocoder = Geocoder(resolve_settings(geocoder=geocoder, settings=settings))
    return made


def load_sites(
    sites: SitesInput = "resolution",
    *,
    geocoder: Any = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Sites as a GeoDataFrame (EPSG:4326): a built-in set name, a CSV/GeoJSON path, or a frame.

    The returned frame's ``.attrs["sites"]`` names where the sites came from.
    """
    if isinstance(sites, gpd.GeoDataFrame):
        frame = sites if sites.crs is None or sites.crs.to_epsg() == 4326 else sites.to_crs(4326)
        missing = [c for c in ("site_id", "name") if c not in frame.columns]
        if missing:
            raise ValidationError(f"the sites frame needs columns {', '.join(missing)}")
        label = str(sites.attrs.get("sites", "sites given as a GeoDataFrame"))
    else:
        from sites import load_site_set

        gc = open_geocoder(geocoder, settings=settings)
        frame = load_site_set(sites, geocoder=gc, settings=settings)
        label = Path(sites).name if Path(str(sites)).suffix else str(sites)
    frame.attrs["sites"] = label
    return frame


def locate(
    places: PlacesInput,
    *,
    geocoder: Any = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Places as points, one row per input row (never dropped), with the caller's columns.

    Parameters
    ----------
    places
        ``"lat, lon"``, an address or a ZIP code; a list of them; a CSV path (``.csv``/``.txt``)
        with an address column or latitude/longitude columns; a DataFrame of the same; a
        GeoDataFrame of points; a :class:`~geo.types.LonLat` or a
        :class:`~geo.types.GeocodeResult`.
    geocoder
        ``offline`` (default; nothing leaves the machine), ``census``, ``ors`` or a geocoder.

    Returns
    -------
    geopandas.GeoDataFrame
        The input columns plus :data:`geo.places.PLACE_COLUMNS` (``place``, ``lon``, ``lat`` in
        degrees, ``precision``, ``geocode_source``, ``geocode_note``, ``error``), EPSG:4326.
        A row that cannot be located has no geometry and says why in ``error``.
    """
    if isinstance(places, GeocodeResult | LonLat):
        return _located_points([places])
    if isinstance(places, gpd.GeoDataFrame):
        return _located_frame(places)
    synthetic = False  # the "address" column is ours, not the caller's
    if isinstance(places, pd.DataFrame):
        table = places
    elif isinstance(places, str | Path):
        path = Path(places).expanduser()
        if path.suffix.lower() in TABLE_SUFFIXES:
            if not path.is_file():
                raise ValidationError(f"no such file: {path}")
            table = read_table(path, name=path.name)
        else:
            table, synthetic = pd.DataFrame({"address": [str(places)]}), True
    else:
        table, synthetic = pd.DataFrame({"address": [str(p) for p in places]}), True
    gc = open_geocoder(geocoder, settings=settings)
    located = locate_places(table, gc, progress=progress)
    return located.drop(columns="address") if synthetic else located


def _without(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    stale = [c for c in columns if c in frame.columns]
    return frame.drop(columns=stale) if stale else frame


def _located_points(points: Sequence[GeocodeResult | LonLat]) -> gpd.GeoDataFrame:
    rows = []
    for p in points:
        if isinstance(p, GeocodeResult):
            rows.append(
                {
                    "place": f"{p.point.lat:.5f}, {p.point.lon:.5f}",
                    "lon": p.point.lon,
                    "lat": p.point.lat,
                    "precision": Precision(p.precision).value,
                    "geocode_source": p.source,
                    "geocode_note": p.note,
                    "error": "",
                }
            )
        else:
            rows.append(
                {
                    "place": f"{p.lat:.5f}, {p.lon:.5f}",
                    "lon": p.lon,
                    "lat": p.lat,
                    "precision": Precision.COORDINATES.value,
                    "geocode_source": "coordinates",
                    "geocode_note": "",
                    "error": "",
                }
            )
    table = pd.DataFrame(rows, columns=PLACE_COLUMNS)
    return gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326"
    )


def _located_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geoms = frame.geometry
    empty = (geoms.isna() | geoms.is_empty).to_numpy()
    not_point = ~empty & (geoms.geom_type != "Point").to_numpy()
    out = gpd.GeoDataFrame(_without(pd.DataFrame(frame), PLACE_COLUMNS), geometry=geoms)
    ok = ~empty & ~not_point
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    lon[ok] = geoms[ok].x.to_numpy()
    lat[ok] = geoms[ok].y.to_numpy()
    error = np.where(empty, "no location (empty geometry)", "")
    error = np.where(not_point, "not a point (give places as points)", error)
    out["place"] = [
        f"{la:.5f}, {lo:.5f}" if o else "" for la, lo, o in zip(lat, lon, ok, strict=True)
    ]
    out["lon"] = lon
    out["lat"] = lat
    out["precision"] = np.where(ok, Precision.COORDINATES.value, "")
    out["geocode_source"] = np.where(ok, "coordinates", "")
    out["geocode_note"] = ""
    out["error"] = error
    out = out.set_geometry(geoms.where(ok, None))
    return out.set_crs("EPSG:4326", allow_override=True)


def _provenance(
    router: Router,
    rule: ProximityRule,
    sites: gpd.GeoDataFrame,
    settings: Settings,
    geocoder: Any = None,
) -> dict[str, Any]:
    info = router.info
    mode = geocoder if isinstance(geocoder, str) else getattr(geocoder, "mode", settings.geocoder)
    return {
        "trialreach_version": version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "rule": rule.name,
        "rule_title": rule.title or rule.name,
        "rule_summary": rule.summary(),
        "max_drive_min": float(rule.max_drive_min),
        "rule_margin_min": float(rule.margin_min),
        "engine": info.name,
        "engine_detail": router.describe(),
        "engine_data": info.data,
        "engine_data_date": info.data_date or "",
        "is_estimate": bool(info.is_estimate),
        "sites": str(sites.attrs.get("sites", "")),
        "sites_count": len(sites),
        "geocoder": str(mode or ""),
    }


# --------------------------------------------------------------------------------------------
# Workflows
# --------------------------------------------------------------------------------------------
def check(
    places: PlacesInput,
    *,
    sites: SitesInput = "resolution",
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    graph: str | None = None,
    geocoder: Any = None,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Is each place within the rule's drive time of its nearest study site?

    Parameters
    ----------
    places
        One place (``"lat, lon"``, an address, a ZIP code), a list of them, a CSV path, a
        (Geo)DataFrame — see :func:`locate`.
    sites
        A built-in site set (``resolution``, ``nci-centers``, ``hospitals``, ``demo``), a
        CSV/GeoJSON path, or a GeoDataFrame with ``site_id``, ``name`` and points.
    rule
        A rule preset (``resolution``, ``car-t-label-2025``, ``car-t-rems``) or a rule.
    engine
        An engine key from the catalogue (``auto``, ``valhalla``, ``osrm``, ``ors``,
        ``estimate``, ``valhalla:GRAPH``), a router, or None for the settings' engine.
    graph
        Local road graph for the ``valhalla``/``osrm`` engines (default ``demo``).
    geocoder
        ``offline`` (default), ``census``, ``ors`` or a geocoder object.
    max_minutes, margin_min
        A custom drive-time limit and safety margin (minutes), overriding the preset's.
    settings
        Settings (default: from the environment).
    progress
        Called with (done, total) while places are located.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per input place, in input order with the caller's index and columns, plus the
        located columns (:func:`locate`) and the verdict columns of :func:`geo.proximity.check`:
        ``verdict`` (within/borderline/outside/unknown), ``drive_min``, ``spare_min`` and
        ``margin_min`` (minutes; NaN when unknown, never 0), ``nearest_site_id``,
        ``nearest_site``, ``basis``, ``engine``, ``geocode_precision`` and ``reason``. Result
        columns of an earlier run in the input are replaced (``.attrs["replaced_columns"]``).
        ``.attrs`` carries the provenance (rule, engine and data, estimate or not, sites,
        geocoder, version, time).
    """
    from geo.proximity import check as check_places

    s = resolve_settings(
        engine=engine if isinstance(engine, str) else None,
        geocoder=geocoder if isinstance(geocoder, str) else None,
        settings=settings,
    )
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    gc = open_geocoder(geocoder, settings=s)
    site_frame = load_sites(sites, geocoder=gc, settings=s)
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine, graph=graph, settings=s
    )
    located = locate(places, geocoder=gc, settings=s, progress=progress)
    replaced = [c for c in RESULT_COLUMNS if c in located.columns]
    located = _without(located, replaced)
    results = check_places(located, site_frame, the_rule, router)
    out = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame(located.drop(columns=located.geometry.name)), results], axis=1),
        geometry=located.geometry,
        crs="EPSG:4326",
    )
    out.attrs.update(_provenance(router, the_rule, site_frame, s, gc))
    out.attrs["replaced_columns"] = replaced
    out.attrs["estimated_rows"] = int(out["engine"].astype(str).str.contains("estimate").sum())
    counts = out["verdict"].value_counts()
    log.info(
        "checked %d places: %s",
        len(out),
        ", ".join(
            f"{counts.get(v, 0)} {v}" for v in ("within", "borderline", "outside", "unknown")
        ),
    )
    return out


def rank_sites(
    place: str | GeocodeResult | LonLat,
    *,
    sites: SitesInput = "resolution",
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    graph: str | None = None,
    geocoder: Any = None,
    max_sites: int | None = 20,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Sites ordered by drive time from one place (quickest first), for a patient.

    Parameters
    ----------
    place
        ``"lat, lon"``, an address, a ZIP code or town, a :class:`~geo.types.LonLat` or a
        :class:`~geo.types.GeocodeResult`.
    max_sites
        Route only the sites nearest in a straight line (default 20; None routes every site).
        Drive times are routed from the place to each site.
    sites, rule, engine, graph, geocoder, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites with ``drive_min`` (minutes, NaN when no route), ``distance_km``,
        ``straight_km`` (great-circle), ``engine``, ``verdict`` and ``spare_min``; sites without
        a route last. ``.attrs``: provenance, ``place_precision``, ``sites_routed``.

    Raises
    ------
    geo.errors.GeocodeError
        When the place cannot be located.
    """
    from geo.geodesy import haversine_km
    from geo.proximity import rank_sites as rank

    s = resolve_settings(
        engine=engine if isinstance(engine, str) else None,
        geocoder=geocoder if isinstance(geocoder, str) else None,
        settings=settings,
    )
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    gc = open_geocoder(geocoder, settings=s)
    if isinstance(place, str):
        point = gc.geocode(place)
    elif isinstance(place, LonLat):
        point = GeocodeResult(point=place, precision=Precision.COORDINATES, source="coordinates")
    else:
        point = place
    site_frame = load_sites(sites, geocoder=gc, settings=s)
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine, graph=graph, settings=s
    )
    site_xy = np.column_stack([site_frame.geometry.x.to_numpy(), site_frame.geometry.y.to_numpy()])
    straight_km = haversine_km(np.array([point.point.as_tuple()]), site_xy)[0]
    order = np.argsort(straight_km, kind="stable")
    if max_sites is not None:
        order = order[: max(1, int(max_sites))]
    nearest = site_frame.iloc[order].copy()
    nearest["straight_km"] = np.round(straight_km[order], 1)
    ranked = rank(point.point, nearest, router, the_rule)
    ranked.attrs.update(_provenance(router, the_rule, site_frame, s, gc))
    ranked.attrs["place_precision"] = Precision(point.precision).value
    ranked.attrs["place_note"] = point.note
    ranked.attrs["sites_routed"] = len(nearest)
    return ranked


def read_population(population: str | Path | gpd.GeoDataFrame) -> str | gpd.GeoDataFrame:
    """A population for :func:`coverage`/:func:`suggest`: ``zcta``, ``county``, a file or frame.

    A CSV needs latitude/longitude columns and ``population``; a GeoJSON needs points and
    ``population``. The frame's ``.attrs["source"]`` is the file name.
    """
    if isinstance(population, gpd.GeoDataFrame) or population in ("zcta", "county"):
        return population
    from geo.places import detect_columns

    path = Path(population).expanduser()
    if not path.exists():
        raise ValidationError(
            f"population {str(population)!r}: use 'zcta', 'county' or an existing CSV/GeoJSON file"
        )
    if path.suffix.lower() in (".geojson", ".json"):
        frame = gpd.read_file(path)
    else:
        table = read_table(path, name=str(path))
        cols = detect_columns(table.columns)
        if not cols.has_coordinates:
            raise ValidationError(f"{path}: needs latitude and longitude columns")
        lon = pd.to_numeric(table[cols.lon], errors="coerce")
        lat = pd.to_numeric(table[cols.lat], errors="coerce")
        frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    frame.attrs["source"] = path.name
    return frame


def coverage(
    sites: SitesInput = "nci-centers",
    *,
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    population: str | Path | gpd.GeoDataFrame = "zcta",
    screen: bool = False,
    dask: str | None = None,
    workers: int = 2,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """Population by drive time to the nearest site: bands, states and the uncovered units.

    Parameters
    ----------
    sites
        A site set name, a CSV/GeoJSON path or a GeoDataFrame.
    population
        ``zcta`` (33,791 ZIP areas, 2020), ``county`` (3,221 counties) or points with a
        ``population`` column (file or GeoDataFrame) — see :func:`read_population`.
    screen
        Let a screening engine (Valhalla) answer only what the rule needs (faster; some units
        land in the ``unknown`` band).
    dask
        Run on Dask: ``"local"`` (a local cluster of ``workers``) or a scheduler address.
    rule, engine, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.coverage.CoverageResult
        Bands (population per drive-time band, minutes), by-state table, the uncovered units as a
        GeoDataFrame (``.uncovered``), totals that always add up, the engine and the rule.
    """
    from geo.coverage import coverage as run_coverage

    s = resolve_settings(engine=engine if isinstance(engine, str) else None, settings=settings)
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    site_frame = load_sites(sites, settings=s)
    pop = read_population(population)
    if dask:
        if not isinstance(engine, str | None):
            raise ValidationError("on Dask, name the engine (each worker opens its own)")
        return _coverage_on_dask(site_frame, the_rule, s.engine, pop, dask, workers, screen)
    router = open_engine(engine if not isinstance(engine, str) else s.engine, settings=s)
    return run_coverage(
        site_frame, the_rule, router, pop, screen=screen, progress=progress, settings=s
    )


def _coverage_on_dask(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    engine: str,
    pop: str | gpd.GeoDataFrame,
    address: str,
    workers: int,
    screen: bool,
) -> CoverageResult:
    try:
        from distributed import Client

        from geo.distributed import coverage_dask, local_cluster
    except ImportError as exc:
        raise EngineNotAvailableError(
            f"Dask is not installed ({exc}); pip install 'trialreach[planning]'"
        ) from None
    if address == "local":
        with local_cluster(workers) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            return coverage_dask(sites, rule, engine, pop, client=client, screen=screen)
    with Client(address) as client:  # type: ignore[no-untyped-call]
        return coverage_dask(sites, rule, engine, pop, client=client, screen=screen)


def candidate_sites(
    candidates: SitesInput = "hospitals",
    *,
    min_beds: int | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites for :func:`suggest`; ``.attrs["selection"]`` says which.

    ``hospitals``: open general acute care hospitals with at least ``min_beds`` beds (default
    :data:`geo.coverage.DEFAULT_MIN_BEDS`); otherwise a site set, file or GeoDataFrame as is.
    """
    from geo.coverage import DEFAULT_MIN_BEDS
    from geo.siting import default_candidates

    if isinstance(candidates, str) and candidates == "hospitals":
        beds = DEFAULT_MIN_BEDS if min_beds is None else min_beds
        frame = default_candidates(load_sites("hospitals", settings=settings), beds)
        frame.attrs.setdefault("selection", "hospitals")
        return frame
    frame = load_sites(candidates, settings=settings)
    frame.attrs["selection"] = frame.attrs.get("sites", "candidates")
    return frame


def suggest(
    sites: SitesInput | None = "nci-centers",
    *,
    k: int = 5,
    candidates: SitesInput = "hospitals",
    min_beds: int | None = None,
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    population: str | Path | gpd.GeoDataFrame = "county",
    time_limit_s: float = 120.0,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> SuggestResult:
    """Choose ``k`` more sites that bring the most people within the rule (MCLP: ILP and greedy).

    Parameters
    ----------
    sites
        Existing sites (their coverage is the baseline); None or ``"none"`` for a green field.
    k
        How many sites to add.
    candidates
        ``hospitals`` (see :func:`candidate_sites`), a site set, a file or a GeoDataFrame.
    population
        ``county`` (default, fast), ``zcta`` or points with ``population``.
    time_limit_s
        Solver time limit in seconds; the result's status says whether optimality was proven.
    rule, engine, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.siting.SuggestResult
        The ILP and greedy plans (``.table("ilp")`` is a GeoDataFrame of the chosen sites with
        the population each adds), baseline and totals, the engine and the rule.
    """
    from geo.siting import suggest_sites

    s = resolve_settings(engine=engine if isinstance(engine, str) else None, settings=settings)
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    green_field = sites is None or (isinstance(sites, str) and sites.lower() == "none")
    existing = None if green_field or sites is None else load_sites(sites, settings=s)
    cand = (
        candidates
        if isinstance(candidates, gpd.GeoDataFrame) and "selection" in candidates.attrs
        else candidate_sites(candidates, min_beds=min_beds, settings=s)
    )
    router = open_engine(engine if not isinstance(engine, str) else s.engine, settings=s)
    return suggest_sites(
        existing,
        cand,
        k,
        the_rule,
        router,
        read_population(population),
        time_limit_s=time_limit_s,
        progress=progress,
        settings=s,
    )


def pick_site(frame: gpd.GeoDataFrame, site: str | None, set_name: str = "sites") -> pd.Series:
    """The row of ``frame`` whose ``site_id`` is ``site`` (case-insensitive; the only row if
    ``site`` is None and the set has one site)."""
    ids = frame["site_id"].astype(str)
    shown = ", ".join(ids.iloc[:15]) + (" …" if len(ids) > 15 else "")
    if site is None:
        if len(frame) == 1:
            return pd.Series(frame.iloc[0])
        raise ValidationError(
            f"site set {set_name!r} has {len(frame)} sites; choose one with --site ({shown})"
        )
    match = frame[ids.str.casefold() == site.strip().casefold()]
    if match.empty:
        raise ValidationError(f"no site {site!r} in set {set_name!r}; its sites: {shown}")
    row = pd.Series(match.iloc[0])
    if row.geometry is None or row.geometry.is_empty:
        raise ValidationError(f"site {site!r} has no location")
    return row


def covering_graphs(router: Router, site: LonLat) -> list[Any]:
    """Manifests of the local road graphs ``router`` uses that cover ``site``.

    A ``valhalla``/``osrm`` router has one graph; an ``auto`` router has one per local graph.
    """
    local = [router, *getattr(router, "local", [])]
    out = []
    for r in local:
        manifest = getattr(r, "graph", None)
        if manifest is not None and bool(r.covers([site])[0]):
            out.append(manifest)
    return out


def lodging_source(
    router: Router,
    site: LonLat,
    *,
    sites_label: str = "",
    pbf: Sequence[str | Path] | None = None,
    graph: str | None = None,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame | None, str]:
    """OpenStreetMap lodging for a site, and a notice ("" when found).

    In order: the given extracts (``pbf``), the named ``graph``'s lodging, the lodging of every
    local graph the engine uses that covers the site, the demo extracts for the demo set. None
    (with the notice saying what to do) when no source covers the site.
    """
    from geo.lodging import lodging_for_graph, lodging_from_pbfs

    s = settings or get_settings()
    if pbf:
        return lodging_from_pbfs(list(pbf), settings=s), ""
    if graph:
        return lodging_for_graph(graph, settings=s), ""
    manifests = covering_graphs(router, site)
    if manifests:
        frames = [lodging_for_graph(m, settings=s) for m in manifests]
        merged = pd.concat(frames, ignore_index=True).drop_duplicates("osm_id")
        return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326"), ""
    if sites_label == "demo":
        return lodging_for_graph("demo", settings=s), ""
    return None, (
        "no OpenStreetMap lodging for this site: pass --pbf with an extract that covers it "
        "(e.g. a Geofabrik state extract) or --graph NAME of a graph built from one"
    )


def find_lodging(
    site: str | None = None,
    *,
    sites: SitesInput = "resolution",
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    graph: str | None = None,
    pbf: Sequence[str | Path] | None = None,
    kinds: Sequence[str] | str | None = None,
    limit: int | None = 50,
    preferred: str | Path | gpd.GeoDataFrame | None = None,
    geocoder: Any = None,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    settings: Settings | None = None,
) -> LodgingSearch:
    """Lodging within the rule's drive time of a study site, ranked by drive time to the site.

    Parameters
    ----------
    site
        ``site_id`` within ``sites`` (needed when the set has several sites).
    graph
        A local road graph: its lodging, and its roads for the ``valhalla``/``osrm`` engines.
    pbf
        OSM extracts to read lodging from (instead of a graph's).
    kinds
        Lodging kinds (``hotel``, ``motel``, ``guest_house``, ``hostel``, ``apartment``,
        ``chalet``, ``hospitality_house``; default all).
    limit
        At most this many OpenStreetMap places (the preferred list is always shown in full).
    preferred
        The site's own contracted lodging (CSV path or GeoDataFrame), listed first.
    sites, rule, engine, geocoder, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.lodging.search.LodgingSearch
        ``.frame``: a GeoDataFrame of lodging with ``drive_min``/``spare_min`` (minutes; lodging
        → site), ``verdict`` and notes, preferred first; the counts of what was left out;
        ``.notices``. ``.frame.attrs``: provenance plus ``site_id`` and ``site``.

    Raises
    ------
    geo.errors.EngineNotAvailableError
        No lodging source covers the site and no preferred list was given.
    """
    from geo.lodging import search_lodging
    from geo.lodging.extract import empty_lodging
    from sites.lodging_lists import read_lodging_list

    s = resolve_settings(
        engine=engine if isinstance(engine, str) else None,
        geocoder=geocoder if isinstance(geocoder, str) else None,
        settings=settings,
    )
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    gc = open_geocoder(geocoder, settings=s)
    frame = load_sites(sites, geocoder=gc, settings=s)
    label = str(frame.attrs.get("sites", sites))
    site_row = pick_site(frame, site, label)
    point = LonLat(float(site_row.geometry.x), float(site_row.geometry.y))
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine, graph=graph, settings=s
    )
    osm, notice = lodging_source(router, point, sites_label=label, pbf=pbf, graph=graph, settings=s)
    notices: list[str] = []
    if osm is None:
        if preferred is None:
            raise EngineNotAvailableError(notice + "; or --preferred with your own list")
        notices.append(notice)
        osm = empty_lodging()
    pref = (
        preferred
        if isinstance(preferred, gpd.GeoDataFrame) or preferred is None
        else read_lodging_list(preferred, geocoder=gc)
    )
    result = search_lodging(point, osm, the_rule, router, kinds=kinds, limit=limit, preferred=pref)
    if len(osm) and result.beyond_reach == result.considered and result.considered:
        notices.append(
            "none of the OpenStreetMap lodging read lies near this site — is the extract "
            "for the right area?"
        )
    if notices:
        result = replace(result, notices=(*result.notices, *notices))
    result.frame.attrs.update(_provenance(router, the_rule, frame, s, gc))
    result.frame.attrs["site_id"] = str(site_row["site_id"])
    result.frame.attrs["site"] = str(site_row["name"])
    return result


def build_graph(
    *,
    pbf: Sequence[str | Path] | None = None,
    sites: SitesInput | None = None,
    name: str | None = None,
    minutes: float = 120.0,
    refresh: bool = False,
    jobs: int = 2,
    progress: Callable[[Any], None] | None = None,
    settings: Settings | None = None,
) -> GraphManifest:
    """Build a local road graph into the cache from OSM extracts, or for a site set.

    Parameters
    ----------
    pbf
        OpenStreetMap extracts (``.osm.pbf``) to merge and build from.
    sites
        Instead of ``pbf``: a site set, file or GeoDataFrame; the Geofabrik extracts (US states)
        covering every site's ``minutes`` of driving are downloaded, verified, clipped and merged.
    name
        Graph name (default: the first file's or the site set's name).
    minutes
        With ``sites``: the longest drive the graph must cover (minutes).
    refresh
        With ``sites``: ask Geofabrik for newer extracts than those kept.
    jobs
        Threads for the tile builder.
    progress
        With ``sites``: called with each progress event (download, verify, clip, build).

    Returns
    -------
    geo.routing.graph.GraphManifest
        What was built: name, OSM date, bounds, tiles and sizes.
    """
    import re

    s = settings or get_settings()
    if (pbf is None or not len(pbf)) == (sites is None):
        raise ValidationError("give either pbf (OSM extracts) or sites, not both or neither")
    if pbf:
        from geo.routing.graph import build_graph as build

        paths = [Path(p).expanduser() for p in pbf]
        graph_name = name or paths[0].name.split(".")[0].lower()
        return build(paths, graph_name, s, jobs=jobs)
    assert sites is not None
    from geo.lodging.store import store_lodging_for_graph
    from geo.osm.sitegraph import build_graph_for_sites

    frame = load_sites(sites, settings=s)
    stem = str(frame.attrs.get("sites", "sites")).split(".")[0]
    graph_name = name or re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.") or "sites"
    return build_graph_for_sites(
        frame,
        graph_name,
        minutes,
        s,
        progress,
        jobs=jobs,
        refresh=refresh,
        keep_lodging=store_lodging_for_graph,
    )


__all__ = [
    "build_graph",
    "candidate_sites",
    "check",
    "coverage",
    "find_lodging",
    "load_sites",
    "locate",
    "lodging_source",
    "open_engine",
    "open_geocoder",
    "pick_site",
    "rank_sites",
    "read_population",
    "resolve_rule",
    "resolve_settings",
    "suggest",
    "version",
]
