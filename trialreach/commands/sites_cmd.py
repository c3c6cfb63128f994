"""`trialreach sites list|show|import`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from trialreach.commands.common import JsonOption, check_output_path, console, friendly_errors

sites_app = typer.Typer(
    help="Site sets: list the built-in ones, show one, import a trial's sites.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(sites_app, name="sites")


@sites_app.command("list")
def list_sets(as_json: bool = JsonOption) -> None:
    """List the built-in site sets."""
    from geo.settings import get_settings
    from sites import builtin_site_sets, load_site_set

    with friendly_errors():
        settings = get_settings()
        rows = []
        for name, spec in builtin_site_sets(settings).items():
            frame = load_site_set(name, settings=settings)
            rows.append(
                {
                    "name": name,
                    "sites": len(frame),
                    "title": spec.title,
                    "source": spec.source,
                    "licence": spec.licence,
                }
            )
        if as_json:
            import json

            console.print_json(json.dumps(rows))
            return
        table = Table(title="Built-in site sets")
        for col in ("name", "sites", "title", "source"):
            table.add_column(col)
        for r in rows:
            table.add_row(*(Text(str(r[c])) for c in ("name", "sites", "title", "source")))
        console.print(table)


@sites_app.command("show")
def show(
    name: str = typer.Argument(..., help="Built-in set name or a CSV/GeoJSON file."),
    limit: int = typer.Option(50, help="Show at most this many sites."),
    as_json: bool = JsonOption,
) -> None:
    """Show the sites of a set (validated as the checks would use them)."""
    from sites import load_site_set

    with friendly_errors():
        frame = load_site_set(name)
        if as_json:
            console.print_json(frame.to_json(drop_id=True))
            return
        table = Table(title=Text(f"{name}: {len(frame)} sites"))
        for col in ("site_id", "name", "city", "state", "status", "lat", "lon"):
            table.add_column(col)
        for _, r in frame.head(limit).iterrows():
            table.add_row(  # names come from files and ClinicalTrials.gov: text, not markup
                *(Text(str(r[c])) for c in ("site_id", "name", "city", "state", "status")),
                f"{r.geometry.y:.5f}",
                f"{r.geometry.x:.5f}",
            )
        console.print(table)
        if len(frame) > limit:
            console.print(f"… and {len(frame) - limit} more (use --limit)")


@sites_app.command("import")
def import_cmd(
    nct_id: str = typer.Argument(..., help="ClinicalTrials.gov id, e.g. NCT07085104."),
    output: Path = typer.Option(..., "--output", "-o", help="Site CSV to write."),
    include_all: bool = typer.Option(False, "--all", help="Keep completed/withdrawn sites too."),
) -> None:
    """Import a trial's sites from ClinicalTrials.gov (API v2) into a site CSV."""
    with friendly_errors():
        from sites.ctgov import import_sites, write_sites_csv

        check_output_path(output)
        result = import_sites(nct_id, include_all=include_all)
        write_sites_csv(result, output)
        console.print(Text(result.summary()), highlight=False)
        console.print(f"Written to [bold]{escape(str(output))}[/] (formula-safe CSV)")
        console.print(
            Text(f'Use it with: trialreach check "<address>" --sites {output}'), highlight=False
        )
