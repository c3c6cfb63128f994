"""`trialreach lodging`: places to stay within the rule's drive time of a study site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.table import Table

from geo.errors import EngineNotAvailableError, ValidationError
from geo.export import write_csv
from geo.lodging import (
    KIND_LABELS,
    OSM_NOTICE,
    LodgingSearch,
    empty_lodging,
    lodging_for_graph,
    lodging_from_pbfs,
    search_lodging,
)
from geo.proximity import format_minutes
from geo.routing import Router, get_router
from geo.settings import Settings
from geo.types import LonLat
from sites import load_site_set
from sites.lodging_lists import read_lodging_list
from trialreach.commands.common import (
    EngineOption,
    GeocoderOption,
    JsonOption,
    MarginOption,
    MaxMinutesOption,
    RuleOption,
    SitesOption,
    console,
    friendly_errors,
    make_geocoder,
    resolve_router,
    resolve_rule,
    resolve_settings,
)

VERDICT_STYLE = {"within": "green", "borderline": "yellow", "outside": "red", "unknown": "magenta"}


def register(app: typer.Typer) -> None:
    """Add the ``lodging`` command to the main app."""
    app.command("lodging")(lodging)


def lodging(
    sites: str = SitesOption,
    site: str | None = typer.Option(
        None, "--site", help="site_id within the set (needed when the set has several sites)."
    ),
    kinds: str | None = typer.Option(
        None,
        "--kinds",
        "-k",
        help="Comma-separated kinds: hotel, motel, guest_house, hostel, apartment, chalet, "
        "hospitality_house (default: all).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the list to a .csv or .geojson file."
    ),
    engine: str | None = EngineOption,
    pbf: list[Path] | None = typer.Option(
        None, "--pbf", help="OSM extract(s) to read lodging from (repeat for several)."
    ),
    graph: str | None = typer.Option(
        None, "--graph", help="Local road graph: its lodging, and its roads for --engine valhalla."
    ),
    preferred: Path | None = typer.Option(
        None, "--preferred", help="CSV of the site's preferred/contracted lodging (shown first)."
    ),
    rule: str = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    limit: int = typer.Option(50, "--limit", help="List at most this many OpenStreetMap places."),
    geocoder: str | None = GeocoderOption,
    as_json: bool = JsonOption,
) -> None:
    """Lodging within the rule's drive time of a study site, ranked by drive time to the site."""
    with friendly_errors():
        settings = resolve_settings(engine, geocoder)
        the_rule = resolve_rule(rule, max_minutes, margin)
        gc = make_geocoder(settings)
        frame = load_site_set(sites, geocoder=gc, settings=settings)
        site_row = _pick_site(frame, site, sites)
        point = LonLat(float(site_row.geometry.x), float(site_row.geometry.y))
        router = _router(settings, graph)
        extra_notices: list[str] = []
        has_list = preferred is not None
        osm = _osm_lodging(settings, router, point, sites, pbf, graph, has_list, extra_notices)
        pref = read_lodging_list(preferred, geocoder=gc) if preferred is not None else None
        result = search_lodging(
            point, osm, the_rule, router, kinds=kinds, limit=limit, preferred=pref
        )
        if len(osm) and result.beyond_reach == result.considered and result.considered:
            extra_notices.append(
                "none of the OpenStreetMap lodging read lies near this site — is the extract "
                "for the right area?"
            )
        if output is not None:
            _write(result.frame, output)
        if as_json:
            _print_json(result, site_row, router, extra_notices)
        else:
            _print_table(result, site_row, router, extra_notices)
            if output is not None:
                console.print(f"Written to [bold]{output}[/]")


def _pick_site(frame: gpd.GeoDataFrame, site: str | None, set_name: str) -> Any:
    ids = frame["site_id"].astype(str)
    if site is None:
        if len(frame) == 1:
            return frame.iloc[0]
        shown = ", ".join(ids.iloc[:15]) + (" …" if len(ids) > 15 else "")
        raise ValidationError(
            f"site set {set_name!r} has {len(frame)} sites; choose one with --site ({shown})"
        )
    match = frame[ids.str.casefold() == site.strip().casefold()]
    if match.empty:
        shown = ", ".join(ids.iloc[:15]) + (" …" if len(ids) > 15 else "")
        raise ValidationError(f"no site {site!r} in set {set_name!r}; its sites: {shown}")
    row = match.iloc[0]
    if row.geometry is None or row.geometry.is_empty:
        raise ValidationError(f"site {site!r} has no location")
    return row


def _router(settings: Settings, graph: str | None) -> Router:
    if graph and settings.engine.lower() == "valhalla":
        return get_router("valhalla", graph=graph, settings=settings)
    return resolve_router(settings)


def _covering_graphs(router: Router, site: LonLat) -> list[Any]:
    """Manifests of the local road graphs the router uses that cover the site.

    A ``valhalla`` router has one graph; an ``auto`` router has one local router per graph.
    """
    local = [router, *getattr(router, "local", [])]
    out = []
    for r in local:
        manifest = getattr(r, "graph", None)
        if manifest is not None and bool(r.covers([site])[0]):
            out.append(manifest)
    return out


def _osm_lodging(
    settings: Settings,
    router: Router,
    site: LonLat,
    set_name: str,
    pbf: list[Path] | None,
    graph: str | None,
    has_preferred: bool,
    notices: list[str],
) -> gpd.GeoDataFrame:
    if pbf:
        return lodging_from_pbfs(pbf, settings=settings)
    if graph:
        return lodging_for_graph(graph, settings=settings)
    manifests = _covering_graphs(router, site)
    if manifests:
        frames = [lodging_for_graph(m, settings=settings) for m in manifests]
        merged = pd.concat(frames, ignore_index=True).drop_duplicates("osm_id")
        return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")
    if set_name == "demo":
        return lodging_for_graph("demo", settings=settings)
    message = (
        "no OpenStreetMap lodging for this site: pass --pbf with an extract that covers it "
        "(e.g. a Geofabrik state extract) or --graph NAME of a graph built from one"
    )
    if not has_preferred:
        raise EngineNotAvailableError(message + "; or --preferred with your own list")
    notices.append(message)
    return empty_lodging()


def _write(frame: gpd.GeoDataFrame, output: Path) -> None:
    suffix = output.suffix.lower()
    if suffix in (".geojson", ".json"):
        output.write_text(frame.to_json(na="null", drop_id=True))
        return
    if suffix not in (".csv", ".txt", ""):
        raise ValidationError(f"{output.name}: write .csv or .geojson")
    table = frame.drop(columns="geometry").copy()
    table["lon"] = frame.geometry.x.round(6)
    table["lat"] = frame.geometry.y.round(6)
    for col in ("drive_min", "spare_min", "straight_km"):
        table[col] = table[col].round(1)
    write_csv(table, output)


def _note(row: Any) -> str:
    parts = [str(row["eligibility_note"]).strip(), str(row["note"]).strip()]
    if row["edge_warning"]:
        parts.append("road data ends nearby: time may be wrong")
    return " · ".join(p for p in parts if p)


def _print_table(result: LodgingSearch, site_row: Any, router: Router, extra: list[str]) -> None:
    rule = result.rule
    where = f"{site_row['name']} ({site_row['site_id']})"
    title = f"Lodging within {rule.max_drive_min:g} min of {where}"
    frame = result.frame
    if len(frame):
        table = Table(title=title, show_lines=False)
        for col in ("#", "name", "kind", "drive", "spare", "verdict", "note"):
            table.add_column(col, overflow="fold")
        for i, (_, r) in enumerate(frame.iterrows(), start=1):
            style = VERDICT_STYLE.get(str(r["verdict"]), "")
            name = str(r["name"]) + (" ★ your list" if r["preferred"] else "")
            table.add_row(
                str(i),
                name,
                KIND_LABELS.get(str(r["kind"]), str(r["kind"]) or "—"),
                format_minutes(float(r["drive_min"])),
                format_minutes(float(r["spare_min"])),
                f"[{style}]{r['verdict']}[/]",
                _note(r),
            )
        console.print(table)
    else:
        console.print(f"[bold]{title}[/]: none found.")
    console.print(result.summary() + ".", highlight=False)
    for notice in (*result.notices, *extra):
        console.print(f"Note: {notice}.", highlight=False)
    dates = sorted({d for d in frame["data_date"] if d}) if len(frame) else []
    console.print(
        f"Rule: {rule.title or rule.name} — {rule.summary()}; margin "
        f"{format_minutes(rule.effective_margin_min(result.engine))}",
        highlight=False,
    )
    console.print(f"Engine: {router.describe()}", highlight=False)
    console.print(
        f"Lodging data: OpenStreetMap{' of ' + ', '.join(dates) if dates else ''} "
        "(© OpenStreetMap contributors, ODbL)",
        highlight=False,
    )


def _print_json(result: LodgingSearch, site_row: Any, router: Router, extra: list[str]) -> None:
    frame = result.frame
    records = []
    for _, r in frame.iterrows():
        rec = {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in r.drop(labels="geometry").items()
        }
        rec["lon"], rec["lat"] = float(r.geometry.x), float(r.geometry.y)
        records.append(rec)
    doc = {
        "site_id": str(site_row["site_id"]),
        "site": str(site_row["name"]),
        "rule": result.rule.name,
        "max_drive_min": result.rule.max_drive_min,
        "engine": router.describe(),
        "counts": result.counts,
        "notices": [*result.notices, *extra],
        "lodging": records,
    }
    console.print_json(json.dumps(doc, default=str))


__all__ = ["OSM_NOTICE", "lodging", "register"]
