"""Helpers shared by the command groups: options → objects, and error display."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer
from rich.console import Console
from rich.markup import escape

from geo.errors import TrialreachError, ValidationError

if TYPE_CHECKING:  # imported where used: `trialreach --help` must not load pandas or engines
    from geo.routing import Router
    from geo.rules import ProximityRule
    from geo.settings import Settings

console = Console()
err_console = Console(stderr=True)


SitesOption = typer.Option(
    "resolution",
    "--sites",
    "-s",
    help="Built-in site set (resolution, nci-centers, hospitals, demo) or a CSV/GeoJSON file.",
)
RuleOption = typer.Option(
    "resolution", "--rule", "-r", help="Rule preset: resolution, car-t-label-2025, car-t-rems."
)
MaxMinutesOption = typer.Option(
    None, "--max-minutes", help="Custom limit in minutes (overrides the preset's)."
)
MarginOption = typer.Option(
    None, "--margin", help="Safety margin in minutes (overrides the preset's)."
)
EngineOption = typer.Option(
    None,
    "--engine",
    "-e",
    help="Routing engine (default: the settings', 'auto').",
)
GraphOption = typer.Option(
    None,
    "--graph",
    help="Local road graph for --engine valhalla (see `trialreach graph list`; default demo). "
    "The auto engine uses every graph that covers a place.",
)
GeocoderOption = typer.Option(
    None, "--geocoder", help="offline (default; nothing leaves the machine), census or ors."
)
JsonOption = typer.Option(False, "--json", help="Print JSON for machines instead of a table.")


def resolve_rule(name: str, max_minutes: float | None, margin: float | None) -> ProximityRule:
    """The preset ``name`` with a custom limit/margin (:func:`trialreach.api.resolve_rule`)."""
    from trialreach.api import resolve_rule as api_rule

    return api_rule(name, max_minutes=max_minutes, margin_min=margin)


def resolve_settings(engine: str | None = None, geocoder: str | None = None) -> Settings:
    """Settings with the engine/geocoder chosen (:func:`trialreach.api.resolve_settings`)."""
    from trialreach.api import resolve_settings as api_settings

    return api_settings(engine=engine, geocoder=geocoder)


def resolve_router(settings: Settings, graph: str | None = None, sites: Any = None) -> Router:
    """The engine the settings name; ``graph`` picks the local road graph for ``valhalla``.

    Without ``graph``, a graph engine given the ``sites`` (GeoDataFrame) uses the built graph
    that covers most of them (see :func:`pick_graph`).
    """
    from trialreach.api import open_engine

    if graph is None and sites is not None:
        graph = pick_graph(settings, sites)
    return open_engine(settings.engine, graph=graph, settings=settings)


def pick_graph(settings: Settings, sites: Any) -> str | None:
    """The built road graph to use for a graph engine named without a graph.

    The graph whose road data covers the most sites (ties: the smallest area) is chosen and
    named on stderr. None when the engine takes no graph, names one already, or no graph is
    built yet (the demo graph then builds itself).

    Raises
    ------
    ValidationError
        Graphs are built but none covers any of the sites: the message lists them.
    """
    from geo.routing.catalogue import choose_graph

    choice = choose_graph(settings.engine, _site_points(sites), settings)
    if choice is None:
        return None
    name, covered, total = choice
    err_console.print(
        escape(
            f"Note: no --graph given: using graph {name!r}, whose road data covers "
            f"{covered} of {total} sites"
        ),
        highlight=False,
    )
    return name


def _site_points(sites: Any) -> Any:
    """(n, 2) lon/lat of the sites' points (NaN for a missing point)."""
    import numpy as np

    geoms = sites.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    xy = np.full((len(geoms), 2), np.nan)
    xy[ok, 0] = geoms[ok].x.to_numpy(dtype=float)
    xy[ok, 1] = geoms[ok].y.to_numpy(dtype=float)
    return xy


def make_geocoder(settings: Settings) -> Any:
    """The settings' geocoder (:func:`trialreach.api.open_geocoder`)."""
    from trialreach.api import open_geocoder

    return open_geocoder(settings.geocoder, settings=settings)


_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    click.exceptions.Exit,
    click.exceptions.Abort,
    click.ClickException,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)
"""Exceptions that carry an exit code or a usage message: never reported as faults.
(typer ships its own copy of click, so both copies' classes are listed.)"""


def check_output_path(output: Path) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    Raises
    ------
    ValidationError
        ``output`` is a folder, its folder does not exist, or that folder is not writable.
    """
    if output.is_dir():
        raise ValidationError(
            f"{output} is a folder; give a file name, e.g. -o {output / 'results.csv'}"
        )
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise ValidationError(f"cannot write {output}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValidationError(f"cannot write {output}: the folder {parent} is not writable")


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn errors into a red message and an exit code, never a traceback.

    trialreach's own errors exit with 2 (bad input, a setup to fix); anything unexpected (an
    engine or library raising a type trialreach does not know) is named, with exit code 1.
    """
    try:
        yield
    except TrialreachError as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except _PASS_THROUGH:
        raise
    except OSError as exc:  # a file that cannot be read or written
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except Exception as exc:
        err_console.print(
            f"[bold red]Error:[/] unexpected {type(exc).__name__}: {escape(str(exc))} "
            "(nothing was written; please report this)",
            highlight=False,
        )
        raise typer.Exit(1) from None


def run_friendly[T](func: Callable[[], T]) -> T:
    with friendly_errors():
        return func()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
