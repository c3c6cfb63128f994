"""`trialreach check`: one place or a CSV of places against a trial's sites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.panel import Panel

from geo.errors import GeocodeError, ValidationError
from trialreach.commands.common import (
    EngineOption,
    GeocoderOption,
    GraphOption,
    JsonOption,
    MarginOption,
    MaxMinutesOption,
    RuleOption,
    SitesOption,
    check_output_path,
    console,
    err_console,
    friendly_errors,
    make_geocoder,
    resolve_router,
    resolve_rule,
    resolve_settings,
)
from trialreach.commands.options import Engine, Geocoder, Rule, value

if TYPE_CHECKING:  # the domain is imported when the command runs, so --help stays fast
    import geopandas as gpd
    import pandas as pd
    from rich.progress import Progress

    from geo.rules import ProximityRule

TABLE_SUFFIXES = (".csv", ".txt", ".tsv")
"""A PLACE ending in one of these is a table of places."""

PARTIAL_EXIT = 3
"""Exit code of a run where an engine failed on some rows (the others were answered)."""


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    place: str = typer.Argument(
        ..., help="An address, a ZIP code, 'lat, lon', or a CSV file of places."
    ),
    sites: str = SitesOption,
    rule: Rule = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    engine: Engine | None = EngineOption,
    graph: str | None = GraphOption,
    geocoder: Geocoder | None = GeocoderOption,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the results to this CSV (formula-safe)."
    ),
    as_json: bool = JsonOption,
    resume: bool = typer.Option(
        False,
        "--resume",
        help="PLACE is a results file of an earlier (partial) run: keep its within/borderline/"
        "outside rows and check only the unknown ones again (same rule and sites).",
    ),
) -> None:
    """Is PLACE within the rule's drive time of the nearest study site?"""
    import pandas as pd

    from geo.export import write_csv
    from trialreach import api
    from trialreach.api import RESULT_COLUMNS

    with friendly_errors():
        settings = resolve_settings(value(engine), value(geocoder))
        the_rule = resolve_rule(str(rule), max_minutes, margin)
        is_file = _is_table_path(place)
        table = None
        if is_file:  # read and check the input and the output path before any routing
            table = api.read_places(Path(place), name=place)
            for note in table.attrs.get("read_notes", ()):
                err_console.print(f"Note: {escape(note)}", highlight=False)
        if output is not None:
            check_output_path(output)
        gc = make_geocoder(settings)
        site_frame = api.load_sites(sites, geocoder=gc, settings=settings)
        router = resolve_router(settings, graph, sites=site_frame)
        if resume and (table is None or "verdict" not in table.columns):
            raise ValidationError(
                "--resume needs a results file of an earlier run (a CSV with a verdict column)"
            )
        prior = None
        if table is not None and resume:
            prior, table = _resume_split(table, the_rule, site_frame)
        options = {"sites": site_frame, "rule": the_rule, "engine": router, "settings": settings}
        if table is not None:
            with _progress(as_json) as progress:
                task = progress.add_task("Locating places", total=len(table))
                answer = api.check(
                    table,
                    geocoder=gc,
                    progress=lambda done, total: progress.update(task, completed=done),
                    **options,
                )
            replaced = list(answer.attrs["replaced_columns"])
            if replaced and prior is None:
                # A results file checked again: its old verdict columns are replaced, not kept.
                err_console.print(
                    "Note: replaced the result columns of an earlier run: "
                    + escape(", ".join(replaced)),
                    highlight=False,
                )
            # The caller's columns as read, the located coordinates (unless the input already
            # holds them under these names), then the answer.
            kept = table.drop(columns=[c for c in replaced if c in table.columns])
            added = [c for c in ("lon", "lat") if c not in kept.columns]
            out = pd.concat([kept, answer[added], answer[RESULT_COLUMNS]], axis=1)
            places_text = answer["place"]
            if prior is not None:
                out, places_text = _merge_resumed(prior, out, places_text)
            if output is not None:
                write_csv(out, output)
            _print_batch(out, places_text, as_json, output)
            ok = (out["verdict"] != "unknown").any()
        else:
            try:
                point = api.geocode(place, geocoder=gc)
            except GeocodeError as exc:
                raise ValidationError(f"could not locate that place: {exc}") from None
            answer = api.check(point, **options)
            row = answer.iloc[0]
            if output is not None:
                one = pd.DataFrame({"place": [place], "lon": [point.point.lon]})
                one["lat"] = point.point.lat
                results = answer[RESULT_COLUMNS].reset_index(drop=True)
                write_csv(pd.concat([one, results], axis=1), output)
            _print_single(row, point, the_rule, router, as_json)
            ok = row["verdict"] != "unknown"
        partial = bool(answer.attrs.get("partial"))
        if output is not None and not as_json:
            console.print(f"Results written to [bold]{escape(str(output))}[/]")
        if partial and ok:
            # The engine failed on part of the batch: finished rows stand, the rest say why.
            faults = "; ".join(answer.attrs.get("faults", []))
            err_console.print(
                f"Partial run: {int((answer['verdict'] == 'unknown').sum())} row(s) unknown "
                f"after an engine fault ({escape(faults)}); "
                + (
                    f"`trialreach check {escape(str(output))} --resume` checks only those again."
                    if output is not None
                    else "write the results with -o and resume with --resume."
                ),
                highlight=False,
            )
            raise typer.Exit(PARTIAL_EXIT)
        if not ok:
            raise typer.Exit(1)


def _resume_split(
    table: pd.DataFrame, rule: ProximityRule, site_frame: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split an earlier results file into the rows it answered and the rows to check again.

    The answered rows (within, borderline, outside) are kept only when they were made under the
    same limit (drive + spare = the rule's minutes, to the rounding of the file) and against sites
    of the current set; anything else is refused rather than mixed into one results file.
    """
    import numpy as np
    import pandas as pd

    verdict = table["verdict"].astype("string").fillna("").str.strip().str.lower()
    keep = verdict.isin(["within", "borderline", "outside"]).to_numpy()
    missing = pd.Series(np.nan, index=table.index)
    drive = pd.to_numeric(table.get("drive_min", missing), errors="coerce").to_numpy(dtype=float)
    spare = pd.to_numeric(table.get("spare_min", missing), errors="coerce").to_numpy(dtype=float)
    both = keep & np.isfinite(drive) & np.isfinite(spare)
    off = both & (np.abs(drive + spare - rule.max_drive_min) > 0.15)
    if off.any():
        row = int(np.flatnonzero(off)[0])
        limit = drive[row] + spare[row]
        raise ValidationError(
            f"--resume: row {row + 1} was checked against a {limit:g}-min limit, not this rule's "
            f"{rule.max_drive_min:g} min; use the same rule, or check the file again without "
            "--resume"
        )
    if "nearest_site_id" in table.columns and "site_id" in site_frame.columns:
        ids = table["nearest_site_id"].astype("string").fillna("")
        known = ids.isin(site_frame["site_id"].astype(str)).to_numpy()
        foreign = keep & (ids != "").to_numpy() & ~known
        if foreign.any():
            row = int(np.flatnonzero(foreign)[0])
            raise ValidationError(
                f"--resume: row {row + 1} names site {ids[row]!r}, which is not in this site set; "
                "use the same --sites, or check the file again without --resume"
            )
    err_console.print(
        f"Resuming: {int(keep.sum())} row(s) keep their earlier answer, "
        f"{int((~keep).sum())} are checked again.",
        highlight=False,
    )
    return table, table.loc[~keep]


def _merge_resumed(
    prior: pd.DataFrame, fresh: pd.DataFrame, fresh_places: pd.Series
) -> tuple[pd.DataFrame, pd.Series]:
    """The earlier rows that stood, and the rows checked again, in the file's own order."""
    import pandas as pd

    kept = prior.drop(index=fresh.index)
    out = pd.concat([kept, fresh], axis=0).reindex(prior.index)
    columns = list(dict.fromkeys([*fresh.columns, *prior.columns]))
    out = out[columns]
    label_source = next(
        (c for c in ("place", "address", "name") if c in kept.columns),
        None,
    )
    kept_places = (
        kept[label_source].astype(str)
        if label_source is not None
        else pd.Series([f"row {i + 1}" for i in range(len(prior))], index=prior.index)[kept.index]
    )
    places = pd.concat([kept_places, fresh_places.set_axis(fresh.index)]).reindex(prior.index)
    return out, places


def _is_table_path(place: str) -> bool:
    """True when PLACE names a table file; a missing one is an error, not a place to geocode."""
    path = Path(place)
    if path.suffix.lower() in TABLE_SUFFIXES:
        if not path.exists():
            raise ValidationError(
                f"{place}: no such file (check the path; to check an address, leave out the "
                "file extension)"
            )
        return True
    return path.is_file()


def _progress(quiet: bool) -> Progress:
    # A table's progress bar: imported here, so a single check does not load it.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    import numpy as np

    from geo.proximity import headline
    from geo.types import Precision, reason_beside_location
    from geo.wording import VERDICT_STYLES, format_minutes

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
    style = VERDICT_STYLES.get(row["verdict"], "bold")
    lines = [
        f"[{style}]{escape(headline(row, rule))}[/]",
        "",
        escape(
            f"Rule: {rule.title or rule.name} — {rule.summary()}; "
            f"margin {format_minutes(row['margin_min'])}"
        ),
        escape(f"Basis: {row['basis'] or '—'}"),
        # What the point is, its caveat said once (as on the app's card).
        *(escape(line) for line in point.location_lines(source=True) if line),
        escape(f"Engine: {router.describe()}"),
    ]
    if row["reason"] and row["verdict"] != "unknown":
        lines.append(escape(f"Why: {reason_beside_location(row['reason'], precision)}"))
    console.print(Panel("\n".join(lines), title="trialreach check", expand=False), highlight=False)


def _print_batch(out: pd.DataFrame, places: pd.Series, as_json: bool, output: Path | None) -> None:
    from rich.table import Table
    from rich.text import Text

    from geo.wording import VERDICT_STYLES, format_minutes

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
            style = VERDICT_STYLES.get(r["verdict"], "")
            # An estimated answer is marked on its verdict, never left to the engine column.
            estimated = str(r.get("engine", "")).startswith("estimate") or str(
                r.get("basis", "")
            ).startswith("estimate")
            verdict_text = Text(str(r["verdict"]), style=style)
            if estimated:
                verdict_text.append(" ESTIMATE", style="bold black on yellow")
            table.add_row(
                str(i),
                Text(str(places.iloc[i - 1])[:40]),
                verdict_text,
                format_minutes(r["drive_min"]),
                format_minutes(r["spare_min"]),
                Text(str(r["nearest_site"])),
                Text(str(r["reason"])[:60]),
            )
        console.print(table)
    engines = sorted({e for e in out["engine"] if e})
    console.print(
        escape(f"{len(out)} places: {summary} · engine: {', '.join(engines) or '—'}"),
        highlight=False,
    )
    n_est = int((out["engine"].astype(str).str.startswith("estimate")).sum())
    if n_est:
        console.print(
            f"[bold black on yellow] {n_est} ESTIMATE [/] answered by straight-line distance × "
            "road factor, not routed: check them with a routing engine before filing.",
            highlight=False,
        )
