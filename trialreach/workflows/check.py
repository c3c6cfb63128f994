"""Verdicts for places (:func:`check`) and sites ranked for one place (:func:`rank_sites`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import EngineError, TrialreachError, ValidationError
from geo.proximity import RESULT_COLUMNS
from geo.settings import Settings
from geo.types import GeocodeResult, LonLat, Precision
from trialreach.workflows.inputs import (
    TABLE_SUFFIXES,
    EngineInput,
    PlacesInput,
    Progress,
    RuleInput,
    SitesInput,
    load_sites,
    locate,
    open_engine,
    open_geocoder,
    provenance,
    resolve_rule,
    resolve_settings,
    site_points,
    without_columns,
)

log = logging.getLogger(__name__)

EXPORT_COLUMNS = ("row", "message")
"""Columns the app's batch export adds to :data:`RESULT_COLUMNS` (with ``place``, ``lon``,
``lat`` and ``precision``, which locating a table writes afresh)."""

RESULTS_FILE_COLUMNS = (*RESULT_COLUMNS, *EXPORT_COLUMNS)
"""Columns a results file of an earlier run holds (this API, the CLI or the app's export):
replaced when the file is checked again."""

type PlaceOrTable = PlacesInput | IO[bytes] | IO[str]
"""What :func:`check` takes: :data:`PlacesInput`, or an open CSV (an upload)."""


def read_places(source: str | Path | IO[bytes] | IO[str], *, name: str = "") -> pd.DataFrame:
    """A table of places (CSV path or open file), read as text columns, rows as in the file.

    The separator and encoding are taken from the file; what was assumed is listed in
    ``.attrs["read_notes"]``. Raises :class:`~geo.errors.ValidationError` when the file as a
    whole cannot be read (missing, empty, not a table).
    """
    from geo.places import read_table

    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ValidationError(f"no such file: {path}")
        return read_table(path, name=name or path.name)
    return read_table(source, name=name or "file")


def geocode(
    place: str | GeocodeResult | LonLat,
    *,
    geocoder: Any = None,
    settings: Settings | None = None,
) -> GeocodeResult:
    """One place as a point with how exact it is (``"lat, lon"``, an address, ZIP or town).

    Raises
    ------
    geo.errors.GeocodeError
        When the place cannot be located.
    """
    if isinstance(place, GeocodeResult):
        return place
    if isinstance(place, LonLat):
        return GeocodeResult(point=place, precision=Precision.COORDINATES, source="coordinates")
    result: GeocodeResult = open_geocoder(geocoder, settings=settings).geocode(place)
    return result


def check(
    places: PlaceOrTable,
    *,
    name: str = "",
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
        One place (``"lat, lon"``, an address, a ZIP code), a list of them, a CSV path or an
        open CSV file (an upload), a (Geo)DataFrame — see :func:`locate`. A results file of an
        earlier run is checked again: its result columns are replaced.
    name
        The file's name for messages, when ``places`` is an open file.
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
        geocoder, version, time), ``read_notes`` (what was assumed reading a file),
        ``estimated_rows``, and ``partial``/``faults``: when the engine failed on some rows,
        those rows are ``unknown`` with the fault and the others stand.

    Raises
    ------
    geo.errors.EngineError
        When the engine fails in a way trialreach does not know (named, never a traceback).
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
        engine if not isinstance(engine, str) else s.engine,
        graph=graph,
        settings=s,
        near=site_points(site_frame),
    )
    table = read_places(places, name=name) if _is_table(places) else places  # type: ignore[arg-type]
    read_notes = tuple(table.attrs.get("read_notes", ())) if isinstance(table, pd.DataFrame) else ()
    earlier: list[str] = []
    if isinstance(table, pd.DataFrame) and "verdict" in table.columns:
        earlier = [c for c in RESULTS_FILE_COLUMNS if c in table.columns]
        table = table.drop(columns=earlier)
    located = locate(table, geocoder=gc, settings=s, progress=progress)
    replaced = [c for c in RESULT_COLUMNS if c in located.columns]
    located = without_columns(located, replaced)
    replaced = list(dict.fromkeys([*earlier, *replaced]))
    try:
        results = check_places(located, site_frame, the_rule, router)
    except TrialreachError:
        raise
    except Exception as exc:
        raise EngineError(
            f"the routing engine ({router.describe()}) failed unexpectedly with "
            f"{type(exc).__name__}: {exc}; nothing was written"
        ) from exc
    out = gpd.GeoDataFrame(
        pd.concat([pd.DataFrame(located.drop(columns=located.geometry.name)), results], axis=1),
        geometry=located.geometry,
        crs="EPSG:4326",
    )
    out.attrs.update(provenance(router, the_rule, site_frame, s, gc))
    out.attrs["replaced_columns"] = replaced
    out.attrs["read_notes"] = read_notes
    out.attrs["estimated_rows"] = int(out["engine"].astype(str).str.contains("estimate").sum())
    out.attrs["partial"] = bool(results.attrs.get("partial", False))
    out.attrs["faults"] = list(results.attrs.get("faults", []))
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
    point = geocode(place, geocoder=gc)
    site_frame = load_sites(sites, geocoder=gc, settings=s)
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine,
        graph=graph,
        settings=s,
        near=site_points(site_frame),
    )
    site_xy = site_points(site_frame)
    straight_km = haversine_km(np.array([point.point.as_tuple()]), site_xy)[0]
    order = np.argsort(straight_km, kind="stable")
    if max_sites is not None:
        order = order[: max(1, int(max_sites))]
    nearest = site_frame.iloc[order].copy()
    nearest["straight_km"] = np.round(straight_km[order], 1)
    ranked = rank(
        point.point, nearest, router, the_rule, precision=Precision(point.precision).value
    )
    ranked.attrs.update(provenance(router, the_rule, site_frame, s, gc))
    ranked.attrs["place_precision"] = Precision(point.precision).value
    ranked.attrs["place_note"] = point.note
    ranked.attrs["sites_routed"] = len(nearest)
    return ranked


def _is_table(places: object) -> bool:
    """An open file, or a path naming a table (``.csv``/``.txt``/``.tsv``)."""
    if hasattr(places, "read"):
        return True
    if isinstance(places, str | Path) and not isinstance(places, GeocodeResult):
        return Path(places).suffix.lower() in TABLE_SUFFIXES
    return False
