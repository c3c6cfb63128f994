"""What the command line imports: nothing it does not use (issue #10: a single check ≤ 1.5 s).

Each command runs in a fresh interpreter (other tests' imports would hide a regression), as the
user runs it, and prints the modules it loaded. Not timed: what is asserted is which modules a
run imports, which does not depend on the machine's load.

* ``trialreach --help`` imports no domain module (only typer and the command table).
* A single check of coordinates, answered by routing on the demo graph with the offline
  geocoder, sends nothing over the network, so it must not import the HTTP stack
  (``requests``, ``urllib3``, ``tenacity``, ``geo._http``, the online geocoder service), nor the
  progress bar it only shows for a table of places, nor pydantic (typer 0.29 parses every
  command-line option through it: the reason for ``typer<0.29`` in ``pyproject.toml``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

MARKER = "LOADED-MODULES "

HTTP_STACK = ("requests", "urllib3", "tenacity", "geo._http", "geo._retry", "geo.geocode.service")
"""Imported only to go online (an online geocoder, ORS, ClinicalTrials.gov, downloads)."""

BATCH_ONLY = ("rich.progress",)
"""Imported only for a table of places (its progress bar)."""

CLI_PARSING = ("pydantic",)
"""Brought in by typer ≥ 0.29 to parse options (0.13–0.2 s); see ``pyproject.toml``."""

HEAVY = ("pandas", "geopandas", "numpy", "shapely", "pyproj", "pydantic", "geo", "sites")
"""Not needed to list the commands."""


def _run(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the ``trialreach`` entry point with ``argv`` in a fresh interpreter; the modules it
    loaded (top-level packages and the dotted names above)."""
    watched = sorted({*HTTP_STACK, *BATCH_ONLY, *CLI_PARSING, *HEAVY})
    code = (
        "import json, sys\n"
        f"sys.argv = ['trialreach', *{argv!r}]\n"
        "from trialreach.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    status = exc.code\n"
        f"watched = {watched!r}\n"
        "loaded = sorted(m for m in watched if m in sys.modules)\n"
        f"print({MARKER!r} + json.dumps(loaded))\n"
    )
    env = {**os.environ, "COLUMNS": "200", "TRIALREACH_GEOCODER": "offline"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith(MARKER))
    return out, json.loads(line.removeprefix(MARKER))


def test_help_imports_neither_the_domain_nor_the_http_stack() -> None:
    out, loaded = _run(["--help"])
    assert "check" in out.stdout and "coverage" in out.stdout  # the command list was printed
    assert loaded == []


def test_a_single_offline_check_imports_no_http_stack_progress_bar_or_pydantic() -> None:
    out, loaded = _run(["check", "39.99, -83.02", "--sites", "demo"])
    # The check really ran end to end: a routed verdict on the demo graph.
    assert "WITHIN" in out.stdout and "routed drive time" in out.stdout, out.stdout
    assert "pandas" in loaded and "geopandas" in loaded  # the domain was imported (sanity)
    assert [m for m in loaded if m in HTTP_STACK] == []
    assert [m for m in loaded if m in BATCH_ONLY] == []
    assert [m for m in loaded if m in CLI_PARSING] == []
