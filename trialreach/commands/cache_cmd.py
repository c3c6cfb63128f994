"""`trialreach cache info|clear`: the routing cache on disk.

Only public answers are cached on disk (isochrones around *sites*, matrices between public
points); patients' places never are. Road graphs live next to it and are removed with
``trialreach graph remove``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from trialreach.commands.common import JsonOption, console, friendly_errors

cache_app = typer.Typer(
    help="The routing cache on disk (public site isochrones only): show it, clear it.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``cache`` group to the main app."""
    app.add_typer(cache_app, name="cache")


def _mib(n: float) -> str:
    return f"{n / 1024**2:,.1f} MiB"


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


@cache_app.command("info")
def info(as_json: bool = JsonOption) -> None:
    """Where the cache is, how many answers it holds and how big it is (and its bound)."""
    from geo.routing.cache import DiskCache
    from geo.settings import get_settings

    with friendly_errors():
        settings = get_settings()
        disk = DiskCache(settings.cache_dir / "routing")
        doc = disk.info()
        disk.close()
        others = {
            name: _folder_bytes(settings.cache_dir / name)
            for name in ("graphs", "lodging", "extracts")
            if (settings.cache_dir / name).is_dir()
        }
        doc["cache_dir"] = str(settings.cache_dir)
        doc["other_bytes"] = others
        if as_json:
            console.print_json(json.dumps(doc))
            return
        console.print(
            f"Routing cache: {doc['path']}\n"
            f"  {doc['entries']:,} answers, {_mib(doc['size_bytes'])} "
            f"(bounded at {_mib(doc['size_limit_bytes'])}; least recently used go first)\n"
            "  Only public answers are stored: isochrones around sites, never patients' places.",
            highlight=False,
        )
        for name, size in others.items():
            hint = " (trialreach graph list / graph remove)" if name == "graphs" else ""
            console.print(f"  {name}: {_mib(size)}{hint}", highlight=False)


@cache_app.command("clear")
def clear(as_json: bool = JsonOption) -> None:
    """Delete every cached routing answer (road graphs stay: see `trialreach graph remove`)."""
    from geo.routing.cache import DiskCache
    from geo.settings import get_settings

    with friendly_errors():
        disk = DiskCache(get_settings().cache_dir / "routing")
        removed = disk.clear()
        disk.close()
        if as_json:
            console.print_json(json.dumps({"removed": removed, "path": str(disk.root)}))
            return
        console.print(f"Removed {removed:,} cached answers from {disk.root}.", highlight=False)
