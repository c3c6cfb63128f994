"""Entry point of the ``trialreach`` command.

Commands load on first use: ``trialreach --help`` imports only typer and the table below, so it
answers in a fraction of a second; ``trialreach check …`` imports the check command (and then
pandas, the engines, …). ``tests/api/test_cli_conventions.py`` checks that every summary here is
the command's own help line.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, and its one-line help for the command list."""

    module: str
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "check": LazyCommand(
        "trialreach.commands.check",
        "Is PLACE within the rule's drive time of the nearest study site?",
    ),
    "sites": LazyCommand(
        "trialreach.commands.sites_cmd",
        "Site sets: list the built-in ones, show one, import a trial's sites.",
    ),
    "graph": LazyCommand(
        "trialreach.commands.graph",
        "Local road graphs (OpenStreetMap extracts → Valhalla tiles + OSRM data) for routed "
        "drive times.",
    ),
    "coverage": LazyCommand(
        "trialreach.commands.planning",
        "Population within the rule's drive time of the nearest site: bands, states and gaps.",
    ),
    "suggest": LazyCommand(
        "trialreach.commands.planning",
        "Choose K more sites that bring the most people within the rule (exact ILP vs greedy).",
    ),
    "lodging": LazyCommand(
        "trialreach.commands.lodging",
        "Lodging within the rule's drive time of a study site, ranked by drive time to the site.",
    ),
    "trials": LazyCommand(
        "trialreach.commands.trials",
        "Trials with a site within your drive-time limit, ranked by drive time from NEAR.",
    ),
    "cache": LazyCommand(
        "trialreach.commands.cache_cmd",
        "The routing cache on disk (public site isochrones only): show it, clear it.",
    ),
    "app": LazyCommand(
        "trialreach.commands.app_cmd",
        "Start the trialreach web app (Streamlit) on this machine.",
    ),
}
"""Every command, in the order ``--help`` lists them."""


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when the command is used."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in super().list_commands(ctx) if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the command list of --help: the summary is enough
            return TyperCommand(cmd_name, help=spec.summary, short_help=spec.summary)
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load_command(name: str) -> Any:
    """The real click command ``name`` (imports its module and lets it register itself)."""
    spec = COMMANDS[name]
    module: Any = importlib.import_module(spec.module)
    holder = typer.Typer(add_completion=False)
    holder.callback()(lambda: None)  # keep a group, even for a module with one command
    module.register(holder)
    group: Any = typer.main.get_command(holder)
    return group.commands[name]


def _version(value: bool) -> None:
    if value:
        from trialreach import __version__

        typer.echo(f"trialreach {__version__}")
        raise typer.Exit()


def _configure_logging(verbose: int) -> None:
    """``-v``: INFO, ``-vv``: DEBUG, on stderr. Never an address: query strings (where an
    address could travel) are stripped from every record, ours and the libraries'."""
    if not verbose:
        return
    from geo._http import RedactQuery

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactQuery())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)


app = typer.Typer(
    name="trialreach",
    cls=LazyGroup,
    help="Is this place within 2 hours' drive of a study site? Drive-time checks for trial rules.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain click help: typer's rich help imports rich.markdown, markdown_it and rich.traceback
    # (~0.1-0.15 s of `--help`, measured 0.26-0.44 s with it vs 0.12-0.17 s without).
    rich_markup_mode=None,
)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        callback=_version,
        is_eager=True,
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="Log what happens on stderr (-v: steps, -vv: debug). Addresses are never logged.",
    ),
) -> None:
    """Is this place within 2 hours' drive of a study site? Drive-time checks for trial rules."""
    _configure_logging(verbose)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
