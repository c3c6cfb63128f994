"""`trialreach suggest`: choose K more sites that bring the most people within the rule."""

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
    DEFAULT_MIN_BEDS,
    EngineOption,
    _people,
    _progress,
    _provenance,
)

if TYPE_CHECKING:  # the command imports the domain when it runs, so --help stays fast
    from rich.table import Table

    from geo.siting import SuggestResult


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


__all__ = ["suggest_cmd"]
