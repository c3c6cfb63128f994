"""`trialreach lodging`: places to stay within the rule's drive time of a study site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trialreach.commands.common import (
    GeocoderOption,
    JsonOption,
    MarginOption,
    MaxMinutesOption,
    RuleOption,
    SitesOption,
    console,
    friendly_errors,
)
from trialreach.commands.options import Engine, Geocoder, Rule, value

if TYPE_CHECKING:  # the command imports the domain when it runs, so --help stays fast
    import geopandas as gpd

    from geo.lodging.search import LodgingSearch

EngineOption = typer.Option(
    None, "--engine", "-e", help="Routing engine (default: the settings', 'auto')."
)


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
    engine: Engine | None = EngineOption,
    pbf: list[Path] | None = typer.Option(
        None, "--pbf", help="OSM extract(s) to read lodging from (repeat for several)."
    ),
    graph: str | None = typer.Option(
        None, "--graph", help="Local road graph: its lodging, and its roads for --engine valhalla."
    ),
    preferred: Path | None = typer.Option(
        None, "--preferred", help="CSV of the site's preferred/contracted lodging (shown first)."
    ),
    rule: Rule = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    limit: int = typer.Option(50, "--limit", help="List at most this many OpenStreetMap places."),
    geocoder: Geocoder | None = GeocoderOption,
    as_json: bool = JsonOption,
) -> None:
    """Lodging within the rule's drive time of a study site, ranked by drive time to the site."""
    from trialreach import api

    with friendly_errors():
        result = api.find_lodging(
            site,
            sites=sites,
            rule=str(rule),
            engine=value(engine),
            graph=graph,
            pbf=pbf,
            kinds=kinds,
            limit=limit,
            preferred=preferred,
            geocoder=value(geocoder),
            max_minutes=max_minutes,
            margin_min=margin,
        )
        if output is not None:
            _write(result.frame, output)
        if as_json:
            _print_json(result)
        else:
            _print_table(result)
            if output is not None:
                console.print(f"Written to [bold]{output}[/]")


def _write(frame: gpd.GeoDataFrame, output: Path) -> None:
    from geo.export import CSV_SUFFIXES, write_frame

    if output.suffix.lower() in CSV_SUFFIXES:  # a table for people: minutes and km to 0.1
        frame = frame.assign(
            **{c: frame[c].round(1) for c in ("drive_min", "spare_min", "straight_km")}
        )
    write_frame(frame, output)


def _note(row: Any) -> str:
    parts = [str(row["eligibility_note"]).strip(), str(row["note"]).strip()]
    if row["edge_warning"]:
        parts.append("road data ends nearby: time may be wrong")
    return " · ".join(p for p in parts if p)


def _print_table(result: LodgingSearch) -> None:
    from rich.table import Table
    from rich.text import Text

    from geo.lodging.catalogue import KIND_LABELS
    from geo.wording import VERDICT_STYLES, format_minutes

    rule = result.rule
    attrs = result.frame.attrs
    where = f"{attrs['site']} ({attrs['site_id']})"
    title = f"Lodging within {rule.max_drive_min:g} min of {where}"
    frame = result.frame
    if len(frame):
        table = Table(title=title, show_lines=False)
        for col in ("#", "name", "kind", "drive", "spare", "verdict", "note"):
            table.add_column(col, overflow="fold")
        for i, (_, r) in enumerate(frame.iterrows(), start=1):
            style = VERDICT_STYLES.get(str(r["verdict"]), "")
            name = str(r["name"]) + (" ★ your list" if r["preferred"] else "")
            table.add_row(
                str(i),
                Text(name),  # names come from OSM and uploaded lists: text, not markup
                KIND_LABELS.get(str(r["kind"]), str(r["kind"]) or "—"),
                format_minutes(float(r["drive_min"])),
                format_minutes(float(r["spare_min"])),
                Text(str(r["verdict"]), style=style),
                Text(_note(r)),
            )
        console.print(table)
    else:
        console.print(f"[bold]{title}[/]: none found.")
    console.print(Text(result.summary() + "."), highlight=False)
    for notice in result.notices:
        console.print(Text(f"Note: {notice}."), highlight=False)
    dates = sorted({d for d in frame["data_date"] if d}) if len(frame) else []
    console.print(
        f"Rule: {rule.title or rule.name} — {rule.summary()}; margin "
        f"{format_minutes(rule.effective_margin_min(result.engine))}",
        highlight=False,
    )
    console.print(f"Engine: {attrs['engine_detail']}", highlight=False)
    console.print(
        f"Lodging data: OpenStreetMap{' of ' + ', '.join(dates) if dates else ''} "
        "(© OpenStreetMap contributors, ODbL)",
        highlight=False,
    )


def _print_json(result: LodgingSearch) -> None:
    import numpy as np

    frame = result.frame
    attrs = frame.attrs
    records = []
    for _, r in frame.iterrows():
        rec = {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in r.drop(labels="geometry").items()
        }
        rec["lon"], rec["lat"] = float(r.geometry.x), float(r.geometry.y)
        records.append(rec)
    doc = {
        "site_id": attrs["site_id"],
        "site": attrs["site"],
        "rule": result.rule.name,
        "max_drive_min": result.rule.max_drive_min,
        "engine": attrs["engine_detail"],
        "counts": result.counts,
        "notices": list(result.notices),
        "lodging": records,
    }
    console.print_json(json.dumps(doc, default=str))


__all__ = ["lodging", "register"]
