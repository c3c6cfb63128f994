"""`trialreach coverage` and `trialreach suggest`: population coverage and where to add sites.

The command bodies live in :mod:`trialreach.commands.planning_coverage` and
:mod:`trialreach.commands.planning_suggest`, their shared options and wording in
:mod:`trialreach.commands.planning_shared`; this module registers both commands.
"""

from __future__ import annotations

import typer

from trialreach.commands.planning_coverage import coverage_cmd
from trialreach.commands.planning_shared import DEFAULT_MIN_BEDS
from trialreach.commands.planning_suggest import suggest_cmd


def register(app: typer.Typer) -> None:
    """Add this group's commands to the main app."""
    app.command("coverage")(coverage_cmd)
    app.command("suggest")(suggest_cmd)


__all__ = ["DEFAULT_MIN_BEDS", "coverage_cmd", "register", "suggest_cmd"]
