"""`trialreach app`: start the Streamlit app."""

from __future__ import annotations

import subprocess
import sys

import typer

from geo.settings import PROJECT_ROOT


def register(app: typer.Typer) -> None:
    app.command("app")(run_app)


def run_app(
    port: int = typer.Option(8501, help="Port to serve on."),
    address: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
) -> None:
    """Start the trialreach web app (Streamlit) on this machine."""
    script = PROJECT_ROOT / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
    ]
    raise typer.Exit(subprocess.call(cmd, cwd=PROJECT_ROOT))
