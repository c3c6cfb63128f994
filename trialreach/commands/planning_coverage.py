"""`trialreach coverage`: population within the rule's drive time of the nearest site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trialreach.commands.common import (
    GraphOption,
    JsonOption,
    MarginOption,
    MaxMinutesOption,
    RuleOption,
    console,
    friendly_errors,
)
from trialreach.commands.options import Engine, Rule, value
from trialreach.commands.planning_shared import (
    EngineOption,
    PopulationOption,
    _people,
    _progress,
    _provenance,
)

if TYPE_CHECKING:  # the command imports the domain when it runs, so --help stays fast
    from geo.coverage import CoverageResult


def coverage_cmd(
    sites: str = typer.Option(
        "nci-centers", "--sites", "-s", help="Built-in site set or a CSV/GeoJSON file of sites."
    ),
    rule: Rule = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    engine: Engine | None = EngineOption,
    population: str = PopulationOption,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the uncovered units (.geojson or .csv)."
    ),
    bands_csv: Path | None = typer.Option(None, "--bands-csv", help="Write the band table (CSV)."),
    states_csv: Path | None = typer.Option(
        None, "--states-csv", help="Write the by-state table (CSV)."
    ),
    top: int = typer.Option(10, "--top", help="How many states to list by uncovered population."),
    dask: str | None = typer.Option(
        None,
        "--dask",
        help="Run on Dask: 'local' (a local cluster of processes) or a scheduler address "
        "(tcp://host:8786).",
    ),
    workers: int = typer.Option(2, "--workers", help="Workers of a --dask local cluster."),
    graph: str | None = GraphOption,
    screen: bool = typer.Option(
        False,
        "--screen",
        help="Let a screening engine (valhalla) answer only what the rule needs: faster, but "
        "some units land in the 'unknown' band.",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Population within the rule's drive time of the nearest site: bands, states and gaps."""
    from trialreach import api

    with friendly_errors():
        with _progress("Routing population", as_json or bool(dask)) as progress:
            result = api.coverage(
                sites,
                rule=str(rule),
                engine=value(engine),
                population=population,
                screen=screen,
                dask=dask,
                workers=workers,
                graph=graph,
                max_minutes=max_minutes,
                margin_min=margin,
                progress=progress,
            )
        from geo.export import write_csv, write_frame

        for path, table in ((bands_csv, result.bands), (states_csv, result.by_state)):
            if path is not None:
                write_csv(table, path, index=path == states_csv)
        if output is not None:
            write_frame(result.uncovered, output)
        if as_json:
            _print_coverage_json(result, top)
        else:
            _print_coverage(result, top, output)


def _print_coverage(result: CoverageResult, top: int, output: Path | None) -> None:
    from rich.table import Table

    estimate = result.engine.is_estimate or result.estimated_share == 1.0
    console.print(
        _provenance(result.engine.label, estimate, result.rule, result.population_source),
        highlight=False,
    )
    bands = Table(title=f"Drive time to the nearest of {result.sites_used} sites")
    for col in ("band", "units", "population", "share"):
        bands.add_column(col, justify="left" if col == "band" else "right")
    for band in result.bands.to_dict(orient="records"):
        bands.add_row(
            str(band["band"]),
            f"{int(band['units']):,}",
            _people(float(band["population"])),
            f"{float(band['share']):.1%}",
        )
    bands.add_row(
        "total", f"{int(result.bands['units'].sum()):,}", _people(result.total_population), "100.0%"
    )
    console.print(bands)
    console.print(
        f"[bold]{_people(result.covered_population)} of {_people(result.total_population)} people "
        f"({result.share_covered:.1%}) live within {result.rule.max_drive_min:g} min[/] of a site; "
        f"{_people(result.outside_population)} beyond, "
        f"{_people(result.unknown_population)} unknown.",
        highlight=False,
    )
    states = result.by_state.sort_values("uncovered_population", ascending=False).head(top)
    table = Table(title=f"Top {len(states)} states by uncovered population")
    for col in ("state", "population", "uncovered", "covered share", "routed share"):
        table.add_column(col, justify="left" if col == "state" else "right")
    for state, rec in zip(states.index, states.to_dict(orient="records"), strict=True):
        table.add_row(
            str(state),
            _people(float(rec["population"])),
            _people(float(rec["uncovered_population"])),
            f"{float(rec['share_covered']):.1%}",
            f"{float(rec.get('share_routed', float('nan'))):.1%}",
        )
    console.print(table)
    for note in result.notes:
        console.print(f"Note: {note}", highlight=False)
    if result.uncertain_population > 0:
        console.print(
            f"Of the covered, {_people(result.uncertain_population)} rest on an estimated time "
            f"within the estimate's error (±{result.engine.error_fraction:.0%}) of the limit: "
            f"covered by the estimate, not confidently; confidently covered "
            f"{_people(result.confident_covered_population)}.",
            highlight=False,
        )
    console.print(
        f"Routed on road data: {result.routed_share:.1%} of the population; the rest estimated "
        "or without an answer.",
        highlight=False,
    )
    if result.reach is not None:
        r = result.reach
        console.print(
            f"Routed {r.pairs_asked:,} of {r.pairs_possible:,} place × site pairs: the rest lie "
            f"beyond {r.reach_km:.0f} km in a straight line ({r.max_speed_kmh:g} km/h × the "
            "limit), outside by that bound.",
            highlight=False,
        )
    console.print(f"{result.compute}; {result.elapsed_s:.1f} s", style="dim", highlight=False)
    if output is not None:
        console.print(
            f"Wrote {len(result.uncovered):,} uncovered units to {output}", highlight=False
        )


def _print_coverage_json(result: CoverageResult, top: int) -> None:
    states = result.by_state.sort_values("uncovered_population", ascending=False).head(top)
    doc: dict[str, Any] = {
        "rule": result.rule.name,
        "max_drive_min": result.rule.max_drive_min,
        "engine": result.engine.label,
        "is_estimate": result.engine.is_estimate,
        "population_source": result.population_source,
        "total_population": result.total_population,
        "covered_population": result.covered_population,
        "outside_population": result.outside_population,
        "unknown_population": result.unknown_population,
        "share_covered": result.share_covered,
        "estimated_share": result.estimated_share,
        "routed_share": result.routed_share,
        "uncertain_population": result.uncertain_population,
        "confident_covered_population": result.confident_covered_population,
        "pairs_asked": None if result.reach is None else result.reach.pairs_asked,
        "pairs_possible": None if result.reach is None else result.reach.pairs_possible,
        "reach_km": None if result.reach is None else result.reach.reach_km,
        "bands": result.bands.to_dict(orient="records"),
        "top_states": [
            {"state": str(s), **{k: float(v) for k, v in row.items()}}
            for s, row in states.iterrows()
        ],
        "notes": list(result.notes),
    }
    typer.echo(json.dumps(doc, indent=2, default=float))


__all__ = ["coverage_cmd"]
