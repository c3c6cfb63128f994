"""Entry point of the ``trialreach`` command."""

from __future__ import annotations

import typer

from trialreach.commands import app_cmd, check, graph, lodging, planning, sites_cmd

app = typer.Typer(
    name="trialreach",
    help="Is this place within 2 hours' drive of a study site? Drive-time checks for trial rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (check, sites_cmd, graph, planning, lodging, app_cmd):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
