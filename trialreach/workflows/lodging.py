"""Lodging near a study site (:func:`find_lodging`) and where its OpenStreetMap data comes from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import EngineNotAvailableError, ValidationError
from geo.routing.base import Router
from geo.settings import Settings, get_settings
from geo.types import LonLat

if TYPE_CHECKING:
    from geo.lodging.search import LodgingSearch
    from geo.routing.graph import GraphManifest


from trialreach.workflows.inputs import (
    EngineInput,
    RuleInput,
    SitesInput,
    load_sites,
    open_engine,
    open_geocoder,
    provenance,
    resolve_rule,
    resolve_settings,
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


def covering_graphs(router: Router, site: LonLat) -> list[GraphManifest]:
    """Manifests of the local road graphs ``router`` answers from that cover ``site``.

    A ``valhalla``/``osrm`` router has one graph; an ``auto`` router has one per local graph
    (:meth:`~geo.routing.base.Router.graphs`); the estimate and openrouteservice have none.
    """
    return [
        m for m in router.graphs() if bool(shapely.contains_xy(m.covered_area, site.lon, site.lat))
    ]


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
    preferred: str | Path | IO[bytes] | IO[str] | gpd.GeoDataFrame | None = None,
    preferred_name: str = "",
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
        The site's own contracted lodging (CSV path, an open CSV such as an upload, or a
        GeoDataFrame from :func:`sites.lodging_lists.read_lodging_list`), listed first whatever
        its verdict.
    preferred_name
        The list's file name for messages, when ``preferred`` is an open file.
    sites, rule, engine, geocoder, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.lodging.search.LodgingSearch
        ``.frame``: a GeoDataFrame of lodging with ``drive_min``/``spare_min`` (minutes; lodging
        → site), ``verdict`` and notes, preferred first; the counts of what was left out;
        ``.notices``. ``.frame.attrs``: provenance plus ``site_id``, ``site``,
        ``osm_data_date`` (the newest date of the OpenStreetMap lodging read, ISO; "" when
        its files carry none) and ``lodging_sources`` (the extracts' or graphs' names).

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
        engine if not isinstance(engine, str) else s.engine,
        graph=graph,
        settings=s,
        near=[point.as_tuple()],
    )
    osm, notice = lodging_source(router, point, sites_label=label, pbf=pbf, graph=graph, settings=s)
    source_names = _source_names(router, point, pbf=pbf, graph=graph, sites_label=label)
    notices: list[str] = []
    if osm is None:
        if preferred is None:
            raise EngineNotAvailableError(notice + "; or --preferred with your own list")
        notices.append(notice)
        osm = empty_lodging()
    pref = (
        preferred
        if isinstance(preferred, gpd.GeoDataFrame) or preferred is None
        else read_lodging_list(preferred, geocoder=gc, filename=preferred_name or None)
    )
    result = search_lodging(point, osm, the_rule, router, kinds=kinds, limit=limit, preferred=pref)
    if len(osm) and result.beyond_reach == result.considered and result.considered:
        notices.append(
            "none of the OpenStreetMap lodging read lies near this site — is the extract "
            "for the right area?"
        )
    if notices:
        result = replace(result, notices=(*result.notices, *notices))
    result.frame.attrs.update(provenance(router, the_rule, frame, s, gc))
    result.frame.attrs["site_id"] = str(site_row["site_id"])
    result.frame.attrs["site"] = str(site_row["name"])
    dates = [str(d) for d in osm.get("data_date", ()) if str(d) not in ("", "nan")]
    result.frame.attrs["osm_data_date"] = max(dates, default="")
    result.frame.attrs["lodging_sources"] = source_names
    return result


def _source_names(
    router: Router, site: LonLat, *, pbf: Any, graph: str | None, sites_label: str
) -> list[str]:
    """Names of what :func:`lodging_source` read, in its order (for the page and the export)."""
    if pbf:
        return [Path(p).name for p in pbf]
    if graph:
        return [f"graph {graph}"]
    manifests = covering_graphs(router, site)
    if manifests:
        return [f"graph {m.name} ({', '.join(m.sources)})" for m in manifests]
    return ["graph demo"] if sites_label == "demo" else []
