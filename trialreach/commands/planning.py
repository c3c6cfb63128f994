"""`trialreach coverage` and `trialreach suggest`: population coverage and where to add sites."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    err_console,
    friendly_errors,
)
from trialreach.commands.options import Engine, Rule, value

if TYPE_CHECKING:  # the commands import the domain when they run, so --help stays fast
    from rich.table import Table

    from geo.coverage import CoverageResult
    from geo.rules import ProximityRule
    from geo.siting import SuggestResult

DEFAULT_MIN_BEDS = 100
"""Bed threshold of the ``hospitals`` candidates (checked equal to geo.coverage's in the tests)."""

EngineOption = typer.Option(
    None, "--engine", "-e", help="Routing engine (default: the settings', 'auto')."
)

PopulationOption = typer.Option(
    "zcta",
    "--population",
    "-p",
    help="zcta (33,791 ZIP areas, 2020), county (3,221 counties, 2020), or a CSV/GeoJSON of "
    "points with a 'population' column.",
)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command("coverage")(coverage_cmd)
    app.command("suggest")(suggest_cmd)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _people(x: float) -> str:
    return f"{x:,.0f}"


def _provenance(engine_label: str, is_estimate: bool, rule: ProximityRule, source: str) -> str:
    text = f"Rule: {rule.summary()} · population: {source} · engine: {engine_label}"
    if is_estimate:
        text += " (estimate: straight-line model, for planning only)"
    return text


# --------------------------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# suggest
# --------------------------------------------------------------------------------------------
def suggest_cmd(
    sites: str = typer.Option(
        "nci-centers",
        "--sites",
        "-s",
        help="Existing sites (built-in set or file), or 'none' to start from nothing.",
    ),
    k: int = typer.Option(5, "--k", "-k", help="How many sites to add."),
    candidates: str = typer.Option(
        "hospitals",
        "--candidates",
        "-c",
        help="'hospitals' (open general acute care hospitals with at least --min-beds beds) or a "
        "CSV/GeoJSON file of candidate sites.",
    ),
    min_beds: int = typer.Option(
        DEFAULT_MIN_BEDS, "--min-beds", help="Bed threshold for the 'hospitals' candidates."
    ),
    rule: Rule = RuleOption,
    max_minutes: float | None = MaxMinutesOption,
    margin: float | None = MarginOption,
    engine: Engine | None = EngineOption,
    population: str = typer.Option(
        "county",
        "--population",
        "-p",
        help="county (default, fast), zcta, or a CSV/GeoJSON of points with 'population'.",
    ),
    time_limit: float = typer.Option(120.0, "--time-limit", help="ILP solver time limit (s)."),
    graph: str | None = GraphOption,
    dask: str | None = typer.Option(
        None,
        "--dask",
        help="Route the coverage sets on Dask: 'local' (a local cluster of processes) or a "
        "scheduler address (tcp://host:8786).",
    ),
    workers: int = typer.Option(2, "--workers", help="Workers of a --dask local cluster."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the chosen sites (.csv or .geojson)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Choose K more sites that bring the most people within the rule (exact ILP vs greedy)."""
    from trialreach import api

    with friendly_errors():
        cand = api.candidate_sites(candidates, min_beds=min_beds)
        cand_label = str(cand.attrs.get("selection", candidates))
        with _progress("Coverage sets", as_json) as progress:
            result = api.suggest(
                sites,
                k=k,
                candidates=cand,
                rule=str(rule),
                engine=value(engine),
                population=population,
                time_limit_s=time_limit,
                graph=graph,
                dask=dask,
                workers=workers,
                max_minutes=max_minutes,
                margin_min=margin,
                progress=progress,
            )
        if output is not None:
            from geo.export import write_frame

            write_frame(result.table("ilp"), output)
        if as_json:
            _print_suggest_json(result)
        else:
            _print_suggest(result, f"{len(cand):,} candidates: {cand_label}", output)


def _chosen_table(result: SuggestResult, method: str, title: str) -> Table:
    from rich.table import Table
    from rich.text import Text

    chosen = result.table("ilp" if method == "ilp" else "greedy")
    table = Table(title=title)
    for col in ("#", "site", "city", "state", "gain", "only this site", "covered after"):
        table.add_column(
            col,
            justify="right" if col in ("#", "gain", "only this site", "covered after") else "left",
        )
    for _, row in chosen.iterrows():
        table.add_row(
            str(row["rank"]),
            Text(str(row.get("name", ""))),  # site names from files: text, not markup
            Text(str(row.get("city", ""))),
            Text(str(row.get("state", ""))),
            "+" + _people(row["gain_population"]),
            _people(row["unique_population"]),
            f"{row['cumulative_covered_population'] / result.total_population:.1%}",
        )
    return table


def _print_suggest(result: SuggestResult, cand_label: str, output: Path | None) -> None:
    console.print(
        _provenance(
            result.engine.label, result.engine.is_estimate, result.rule, result.population_source
        ),
        highlight=False,
    )
    base = result.baseline_covered_population
    console.print(
        f"Now: {_people(base)} of {_people(result.total_population)} people "
        f"({base / result.total_population:.1%}) within {result.rule.max_drive_min:g} min. "
        f"{cand_label}; all of them together would reach "
        f"{result.coverable_population / result.total_population:.1%}.",
        highlight=False,
    )
    ilp, greedy = result.ilp, result.greedy
    console.print(_chosen_table(result, "ilp", f"Best {result.k} sites (exact ILP, {ilp.status})"))
    if set(ilp.chosen) == set(greedy.chosen):
        console.print(f"Greedy picks the same sites (+{_people(greedy.gain)}).", highlight=False)
    else:
        console.print(_chosen_table(result, "greedy", f"Greedy picks (+{_people(greedy.gain)})"))
    diff = ilp.gain - greedy.gain
    console.print(
        f"ILP +{_people(ilp.gain)} vs greedy +{_people(greedy.gain)} "
        f"(ILP better by {_people(diff)}); ILP {ilp.solve_s:.1f} s, greedy {greedy.solve_s:.2f} s; "
        f"{result.pairs:,} covering pairs.",
        highlight=False,
    )
    st = result.stats
    if st.pairs_possible:
        console.print(
            f"Drive times asked: {st.pairs_asked:,} of {st.pairs_possible:,} place × candidate "
            f"pairs ({st.engine_calls:,} engine calls); {st.units_skipped:,} places already "
            "covered were not asked.",
            highlight=False,
        )
    if output is not None:
        console.print(f"Wrote {len(ilp.chosen)} chosen sites to {output}", highlight=False)


def _print_suggest_json(result: SuggestResult) -> None:
    def plan(method: str) -> dict[str, Any]:
        sol = result.plan("ilp" if method == "ilp" else "greedy")
        t = result.table("ilp" if method == "ilp" else "greedy")
        cols = [c for c in ("site_id", "name", "city", "state") if c in t.columns]
        sites = t[cols].astype(str).to_dict(orient="records")
        for rec, g, u in zip(sites, sol.gains, sol.unique, strict=True):
            rec["gain_population"] = g
            rec["unique_population"] = u
        return {
            "status": sol.status,
            "gain_population": sol.gain,
            "solve_s": sol.solve_s,
            "sites": sites,
        }

    doc = {
        "rule": result.rule.name,
        "engine": result.engine.label,
        "k": result.k,
        "population_source": result.population_source,
        "total_population": result.total_population,
        "baseline_covered_population": result.baseline_covered_population,
        "coverable_population": result.coverable_population,
        "ilp": plan("ilp"),
        "greedy": plan("greedy"),
        "pairs_asked": result.stats.pairs_asked,
        "pairs_possible": result.stats.pairs_possible,
        "engine_calls": result.stats.engine_calls,
        "units_skipped": result.stats.units_skipped,
    }
    typer.echo(json.dumps(doc, indent=2, default=float))


__all__ = ["coverage_cmd", "register", "suggest_cmd"]
