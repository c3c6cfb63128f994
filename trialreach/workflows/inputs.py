"""Building blocks of the workflows: settings, rules, engines, geocoders, sites and places
resolved from what a user chose, and the provenance every answer carries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import ValidationError
from geo.places import PLACE_COLUMNS, locate_places, read_table
from geo.routing.base import Router
from geo.routing.catalogue import choose_graph, make_router
from geo.rules import ProximityRule, custom_rule, get_rule
from geo.settings import Settings, get_settings
from geo.types import FloatArray, GeocodeResult, LonLat, Precision

if TYPE_CHECKING:
    from geo.geocode import GeocoderChoice
    from geo.places import PointGeocoder

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
    near: Any = None,
) -> Router:
    """A routing engine from a catalogue key (``auto``, ``valhalla``, ``valhalla:demo``, …).

    A :class:`~geo.routing.base.Router` is returned as is; ``None`` means the settings' engine.
    ``near`` ((n, 2) lon/lat, e.g. the sites): a graph engine named without a graph uses the
    built graph that covers most of these points (:func:`geo.routing.catalogue.choose_graph`).
    """
    if isinstance(engine, Router):
        return engine
    if graph is None and near is not None:
        choice = choose_graph(engine, near, settings)
        if choice is not None:
            graph = choice[0]
            log.info("no graph named: graph %r covers %d of %d sites", *choice)
    return make_router(engine, graph=graph, settings=settings)


def site_points(sites: gpd.GeoDataFrame) -> FloatArray:
    """(n, 2) lon/lat of the sites (NaN where a site has no point)."""
    geoms = sites.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    xy = np.full((len(geoms), 2), np.nan)
    xy[ok, 0] = geoms[ok].x.to_numpy(dtype=float)
    xy[ok, 1] = geoms[ok].y.to_numpy(dtype=float)
    return xy


def geocoder_choices(settings: Settings | None = None) -> tuple[GeocoderChoice, ...]:
    """The geocoders a user may choose here, offline first, each with its privacy consequence.

    Each :class:`~geo.geocode.GeocoderChoice` has ``key`` (for ``geocoder=``), ``label``,
    ``finds`` (what an address becomes) and ``privacy`` (where the text goes), one line each;
    openrouteservice is offered only when it is configured.
    """
    from geo.geocode import geocoder_choices as choices

    return choices(resolve_settings(settings=settings))


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
        same_crs = sites.crs is None or sites.crs.to_epsg() == 4326
        frame = sites.copy(deep=False) if same_crs else sites.to_crs(4326)  # attrs: ours
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


def without_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
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
    out = gpd.GeoDataFrame(without_columns(pd.DataFrame(frame), PLACE_COLUMNS), geometry=geoms)
    ok = ~empty & ~not_point
    lon = np.full(len(frame), np.nan)
    lat = np.full(len(frame), np.nan)
    lon[ok] = geoms[ok].x.to_numpy()
    lat[ok] = geoms[ok].y.to_numpy()
    error = np.where(empty, "no location (empty geometry)", "")
    error = np.where(not_point, "not a point (give places as points)", error)
    text = np.char.add(np.char.mod("%.5f, ", lat), np.char.mod("%.5f", lon))
    out["place"] = np.where(ok, text, "")
    out["lon"] = lon
    out["lat"] = lat
    out["precision"] = np.where(ok, Precision.COORDINATES.value, "")
    out["geocode_source"] = np.where(ok, "coordinates", "")
    out["geocode_note"] = ""
    out["error"] = error
    out = out.set_geometry(geoms.where(ok, None))
    return out.set_crs("EPSG:4326", allow_override=True)


def provenance(
    router: Router,
    rule: ProximityRule,
    sites: gpd.GeoDataFrame,
    settings: Settings,
    geocoder: Any = None,
) -> dict[str, Any]:
    """What every answer's ``.attrs`` carries: version, time (UTC), rule, engine and its data,
    estimate or not, site set and geocoder. Never a place or an address."""
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
