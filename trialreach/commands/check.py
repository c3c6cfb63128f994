"""`trialreach check`: one place or a CSV of places against a trial's sites."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.errors import GeocodeError, ValidationError
from geo.export import write_csv
from geo.places import locate_places, read_table
from geo.proximity import check as check_places
from geo.proximity import format_minutes, headline
from geo.types import PRECISION_MEANING, Precision
from sites import load_site_set
from trialreach.commands.common import (
    EngineOption,
    GeocoderOption,
    GraphOption,
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

VERDICT_STYLE = {
    "within": "bold green",
    "borderline": "bold yellow",
    "outside": "bold red",
    "unknown": "bold magenta",
}


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    place: str = typer.Argument(
        ..., help="An address, a ZIP code, 'lat, lon', or a CSV file of places."
    ),
    sites: str = SitesOption,
    rule: str = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    engine: str | None = EngineOption,
    graph: str | None = GraphOption,
    geocoder: str | None = GeocoderOption,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write batch results to this CSV."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Is PLACE within the rule's drive time of the nearest study site?"""
    with friendly_errors():
        settings = resolve_settings(engine, geocoder)
        the_rule = resolve_rule(rule, max_minutes, margin)
        gc = make_geocoder(settings)
        site_frame = load_site_set(sites, geocoder=gc, settings=settings)
        router = resolve_router(settings, graph)
        is_file = place.lower().endswith((".csv", ".txt")) and Path(place).exists()
        if is_file:
            table = read_table(Path(place), name=place)
            with _progress(as_json) as progress:
                task = progress.add_task("Locating places", total=len(table))
                located = locate_places(
                    table, gc, progress=lambda done, total: progress.update(task, completed=done)
                )
                progress.update(task, completed=len(table), description="Routing")
                results = check_places(located, site_frame, the_rule, router)
            out = pd.concat([table, located[["lon", "lat"]], results], axis=1)
            if output is not None:
                write_csv(out, output)
            _print_batch(out, located["place"], as_json, output)
            ok = (results["verdict"] != "unknown").any()
        else:
            try:
                point = gc.geocode(place)
            except GeocodeError as exc:
                raise ValidationError(f"could not locate that place: {exc}") from None
            located = _single(point)
            results = check_places(located, site_frame, the_rule, router)
            row = results.iloc[0]
            _print_single(row, point, the_rule, router, as_json)
            ok = row["verdict"] != "unknown"
        if output is not None and not as_json:
            console.print(f"Results written to [bold]{output}[/]")
        if not ok:
            raise typer.Exit(1)


def _single(point):  # type: ignore[no-untyped-def]
    import geopandas as gpd
    from shapely import Point

    return gpd.GeoDataFrame(
        {"precision": [point.precision.value], "error": [""]},
        geometry=[Point(point.point.lon, point.point.lat)],
        crs="EPSG:4326",
    )


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )


def _print_single(row, point, rule, router, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    precision = Precision(point.precision)
    if as_json:
        record = {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in row.to_dict().items()
        }
        record.update(
            lon=point.point.lon,
            lat=point.point.lat,
            geocode_source=point.source,
            rule=rule.name,
            max_drive_min=rule.max_drive_min,
            engine_detail=router.describe(),
        )
        console.print_json(json.dumps(record, default=str))
        return
    style = VERDICT_STYLE.get(row["verdict"], "bold")
    lines = [
        f"[{style}]{headline(row, rule)}[/]",
        "",
        f"Rule: {rule.title or rule.name} — {rule.summary()}; "
        f"margin {format_minutes(row['margin_min'])}",
        f"Basis: {row['basis'] or '—'}",
        f"Location: {precision.value} — {PRECISION_MEANING[precision]} ({point.source})",
        f"Engine: {router.describe()}",
    ]
    if point.note:
        lines.append(f"Note: {point.note}")
    if row["reason"] and row["verdict"] != "unknown":
        lines.append(f"Why: {row['reason']}")
    console.print(Panel("\n".join(lines), title="trialreach check", expand=False), highlight=False)


def _print_batch(out: pd.DataFrame, places: pd.Series, as_json: bool, output: Path | None) -> None:
    if as_json:
        console.print_json(out.drop(columns=[], errors="ignore").to_json(orient="records"))
        return
    counts = out["verdict"].value_counts()
    summary = ", ".join(
        f"{counts.get(v, 0)} {v}" for v in ("within", "borderline", "outside", "unknown")
    )
    if output is None:
        table = Table(title="Verdicts", show_lines=False)
        for col in ("#", "place", "verdict", "drive", "spare", "nearest site", "note"):
            table.add_column(col)
        for i, (_, r) in enumerate(out.iterrows(), start=1):
            style = VERDICT_STYLE.get(r["verdict"], "")
            table.add_row(
                str(i),
                str(places.iloc[i - 1])[:40],
                f"[{style}]{r['verdict']}[/]",
                format_minutes(r["drive_min"]),
                format_minutes(r["spare_min"]),
                str(r["nearest_site"]),
                str(r["reason"])[:60],
            )
        console.print(table)
    engines = sorted({e for e in out["engine"] if e})
    console.print(f"{len(out)} places: {summary} · engine: {', '.join(engines) or '—'}")
