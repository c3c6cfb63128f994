"""`trialreach graph build|list`: local road graphs for the embedded Valhalla engine."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from geo.settings import get_settings
from trialreach.commands.common import JsonOption, console, friendly_errors

graph_app = typer.Typer(
    help="Local road graphs (OpenStreetMap extracts → Valhalla tiles) for routed drive times.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``graph`` command group to the main app."""
    app.add_typer(graph_app, name="graph")


@graph_app.command("build")
def build(
    pbf: list[Path] = typer.Option(
        ...,
        "--pbf",
        help="OpenStreetMap extract (.osm.pbf); repeat the option to merge several.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Graph name (default: the first file's name)."
    ),
    jobs: int = typer.Option(2, "--jobs", "-j", help="Threads for the tile builder."),
    as_json: bool = JsonOption,
) -> None:
    """Build a road graph from OSM extracts into the cache (replaces one of the same name)."""
    from geo.routing.graph import build_graph

    with friendly_errors():
        graph_name = name or pbf[0].name.split(".")[0].lower()
        t0 = time.perf_counter()
        with console.status(f"Building road graph {graph_name!r} from {len(pbf)} extract(s)…"):
            manifest = build_graph(pbf, graph_name, get_settings(), jobs=jobs)
        took = time.perf_counter() - t0
        if as_json:
            console.print_json(json.dumps({**_row(manifest), "build_s": round(took, 1)}))
            return
        console.print(
            f"Built graph [bold]{manifest.name}[/] in {took:.1f} s: {manifest.tile_count} tiles, "
            f"{manifest.tiles_bytes / 1e6:.1f} MB, OSM data of "
            f"{manifest.osm_date or 'unknown date'}, covering ~{manifest.area_km2:,.0f} km² "
            f"(lon {manifest.bounds[0]:.3f}…{manifest.bounds[2]:.3f}, "
            f"lat {manifest.bounds[1]:.3f}…{manifest.bounds[3]:.3f}).",
            highlight=False,
        )
        console.print(f"Use it with: trialreach check … --engine valhalla  (graph {manifest.name})")


@graph_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """List the road graphs in the cache: covered area, OSM data date, size."""
    from geo.routing.graph import graphs_dir, list_graphs

    with friendly_errors():
        settings = get_settings()
        graphs = list_graphs(settings)
        rows = [_row(g) for g in graphs]
        if as_json:
            console.print_json(json.dumps(rows))
            return
        if not rows:
            console.print(
                f"No road graphs in {graphs_dir(settings)} yet. Build one with "
                "`trialreach graph build --pbf FILE.osm.pbf`; the built-in `demo` graph is built "
                "on first use.",
                highlight=False,
            )
            return
        table = Table(title=f"Road graphs in {graphs_dir(settings)}")
        for col in ("name", "OSM data", "covered area", "size", "sources"):
            table.add_column(col)
        for r in rows:
            b = r["bounds"]
            table.add_row(
                str(r["name"]),
                str(r["osm_date"] or "unknown"),
                f"~{r['area_km2']:,.0f} km² (lon {b[0]:.2f}…{b[2]:.2f}, lat {b[1]:.2f}…{b[3]:.2f})",
                f"{r['tiles_bytes'] / 1e6:.1f} MB",
                ", ".join(r["sources"]),
            )
        console.print(table)


def _row(manifest: object) -> dict[str, object]:
    from geo.routing.graph import GraphManifest

    assert isinstance(manifest, GraphManifest)
    return {
        "name": manifest.name,
        "osm_date": manifest.osm_date,
        "sources": list(manifest.sources),
        "bounds": [round(v, 5) for v in manifest.bounds],
        "area_km2": round(manifest.area_km2, 1),
        "tile_count": manifest.tile_count,
        "tiles_bytes": manifest.tiles_bytes,
        "built_at": manifest.built_at,
        "path": str(manifest.path),
    }
