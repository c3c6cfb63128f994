"""`trialreach app`: start the Streamlit app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("app")(run_app)


def app_dir() -> Path:
    """The folder holding ``app.py`` and ``pages/``: the checkout's root, or the copy a wheel
    carries in ``trialreach/_app`` (see ``setup.py``)."""
    bundled = Path(__file__).resolve().parents[1] / "_app"
    if (bundled / "app.py").is_file():
        return bundled
    from geo.settings import PROJECT_ROOT

    return PROJECT_ROOT


def run_app(
    port: int = typer.Option(8501, help="Port to serve on."),
    address: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
) -> None:
    """Start the trialreach web app (Streamlit) on this machine."""
    folder = app_dir()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(folder / "app.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(cmd, cwd=folder))
