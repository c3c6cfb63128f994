"""`trialreach trials`: which trials have a site within my drive-time limit?

Searches ClinicalTrials.gov (API v2) by condition/intervention/status around a coarsened point
(never the place itself), then ranks every study's sites by drive time from the place on this
machine. User and registry text is escaped before Rich prints it; the CSV is formula-safe.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from geo.errors import GeocodeError, ValidationError
from geo.wording import VERDICT_STYLES
from trialreach.commands.common import (
    EngineOption,
    GeocoderOption,
    GraphOption,
    JsonOption,
    console,
    err_console,
    friendly_errors,
    make_geocoder,
    resolve_router,
    resolve_settings,
)

if TYPE_CHECKING:  # the command imports the domain when it runs, so --help stays fast
    from sites.trials import TrialSearch


def register(app: typer.Typer) -> None:
    app.command("trials")(trials)


def trials(
    near: str = typer.Option(
        ..., "--near", help="Where you would stay: an address, a ZIP code, a town or 'lat, lon'."
    ),
    condition: str = typer.Option("", "--condition", "-c", help="Condition, e.g. lupus."),
    intervention: str = typer.Option(
        "", "--intervention", "-i", help="Treatment, e.g. 'CAR T' (optional)."
    ),
    status: str = typer.Option(
        "RECRUITING,NOT_YET_RECRUITING",
        "--status",
        help="Study statuses, comma-separated (ClinicalTrials.gov spelling).",
    ),
    max_minutes: float = typer.Option(
        120.0,
        "--max-minutes",
        help="Your drive-time limit in minutes (studies with a known rule use theirs).",
    ),
    margin: float = typer.Option(10.0, "--margin", help="Safety margin in minutes."),
    study_rule: list[str] | None = typer.Option(
        None,
        "--study-rule",
        help="A rule you know for a study: NCT01234567=car-t-rems (repeatable).",
    ),
    engine: str | None = EngineOption,
    graph: str | None = GraphOption,
    geocoder: str | None = GeocoderOption,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the ranked studies to this CSV."
    ),
    as_json: bool = JsonOption,
    page_size: int = typer.Option(
        100, "--page-size", hidden=True, help="Studies per ClinicalTrials.gov page."
    ),
) -> None:
    """Trials with a site within your drive-time limit, ranked by drive time from NEAR."""
    from geo.export import write_csv
    from geo.types import Precision
    from sites.trials import (
        STUDY_COLUMNS,
        TrialQuery,
        find_trials,
        parse_statuses,
        parse_study_rules,
    )

    with friendly_errors():
        settings = resolve_settings(engine, geocoder)
        query = TrialQuery(
            condition=condition,
            intervention=intervention,
            statuses=parse_statuses(status),
            max_drive_min=max_minutes,
        )
        rules = parse_study_rules(study_rule)
        try:
            point = make_geocoder(settings).geocode(near)
        except GeocodeError as exc:
            raise ValidationError(f"could not locate that place: {exc}") from None
        router = resolve_router(settings, graph)
        result = find_trials(
            query,
            point.point,
            router,
            place_precision=Precision(point.precision).value,
            margin_min=margin,
            rules=rules,
            settings=settings,
            page_size=page_size,
        )
        studies = result.ranking.studies
        if output is not None:
            write_csv(studies.loc[:, STUDY_COLUMNS], output)
        if as_json:
            _print_json(result, Precision(point.precision).value)
        else:
            _print_table(result, near, Precision(point.precision).value)
            if output is not None:
                console.print(f"Results written to [bold]{escape(str(output))}[/]")
        if result.search.partial:
            err_console.print(
                f"[bold yellow]Partial search:[/] {escape(result.search.error)}", highlight=False
            )
        if studies.empty:
            raise typer.Exit(1)


def _clean(value: object) -> object:
    import numpy as np

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _print_json(result: TrialSearch, precision: str) -> None:
    studies = result.ranking.studies
    records = [{k: _clean(v) for k, v in row.items()} for row in studies.to_dict(orient="records")]
    doc = {
        "place_precision": precision,
        "search": {
            "sent": dict(result.search.sent),
            "pages": result.search.pages,
            "total_count": result.search.total_count,
            "partial": result.search.partial,
            "error": result.search.error,
        },
        "engine": result.ranking.engine,
        "notes": list(result.ranking.notes),
        "studies": records,
    }
    # print_json would read markup in the text: plain write.
    console.file.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def _print_table(result: TrialSearch, near: str, precision: str) -> None:
    from geo.wording import format_minutes
    from sites.trials import study_drive_text

    studies = result.ranking.studies
    limit = result.query.max_drive_min
    n_within, n_border = result.ranking.n_within, result.ranking.n_borderline
    border = f" ({n_border} of them only borderline: check those)" if n_border else ""
    what = " / ".join(
        f"“{escape(t)}”" for t in (result.query.condition, result.query.intervention) if t
    )
    table = Table(
        title=f"Trials for {what} near {escape(near)}",
        caption="within = a site inside the limit with the safety margin to spare; borderline "
        "= inside, but too close to call (see why).",
        show_lines=False,
    )
    for col in ("#", "answer", "drive", "study", "phase", "nearest site", "sites within", "rule"):
        table.add_column(col, overflow="fold")
    for _, r in studies.iterrows():
        style = VERDICT_STYLES.get(str(r["verdict"]), "")
        where = ", ".join(
            str(x) for x in (r["nearest_city"], r["nearest_state"]) if isinstance(x, str) and x
        )
        site = f"{r['nearest_site']} ({where})" if where else str(r["nearest_site"])
        table.add_row(
            str(r["rank"]),
            f"[{style}]{escape(str(r['verdict']))}[/]",
            escape(study_drive_text(r)),
            f"{escape(str(r['nct_id']))} {escape(str(r['title'])[:70])}",
            escape(str(r["phase"])),
            escape(site),
            f"{r['sites_within_limit']} of {r['sites_checked']}",
            escape(f"{r['rule_used']} ({format_minutes(r['limit_min'])})"),
        )
    console.print(table)
    console.print(
        f"{len(studies)} studies, {n_within} with a site within {format_minutes(limit)} (your "
        f"limit; studies with a known rule use theirs){border} · "
        f"{escape(result.search.summary())}",
        highlight=False,
    )
    why = studies[(studies["reason"] != "") | (studies["notes"] != "")]
    for _, r in why.iterrows():
        text = "; ".join(t for t in (str(r["reason"]), str(r["notes"])) if t)
        console.print(f"  {escape(str(r['nct_id']))}: {escape(text)}", highlight=False)
    for note in result.ranking.notes:
        console.print(f"Note: {escape(note)}", highlight=False)
    console.print(
        "Site points on ClinicalTrials.gov are city centres, not the buildings: a site close to "
        "the limit is borderline. Records: https://clinicaltrials.gov/study/<NCT id>",
        highlight=False,
    )
    console.print(f"Your place: {escape(precision)} precision.", highlight=False)
    console.print(escape(result.sent_text()), highlight=False)
    console.print(f"Drive times: {escape(result.ranking.engine)}", highlight=False)
