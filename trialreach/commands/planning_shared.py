"""What `trialreach coverage` and `trialreach suggest` share: options, progress bar, wording."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from trialreach.commands.common import err_console

if TYPE_CHECKING:  # the commands import the domain when they run, so --help stays fast
    from geo.rules import ProximityRule

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


__all__ = [
    "DEFAULT_MIN_BEDS",
    "EngineOption",
    "PopulationOption",
    "_people",
    "_progress",
    "_provenance",
]
