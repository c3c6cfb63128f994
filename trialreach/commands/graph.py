"""`trialreach graph build|list|verify|remove`: local road graphs (Valhalla tiles + OSRM data)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import DownloadColumn, Progress, ProgressColumn, Task, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from geo.settings import get_settings
from trialreach.commands.common import JsonOption, console, err_console, friendly_errors

graph_app = typer.Typer(
    help=(
        "Local road graphs (OpenStreetMap extracts → Valhalla tiles + OSRM data) for routed "
        "drive times."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``graph`` command group to the main app."""
    app.add_typer(graph_app, name="graph")


@graph_app.command("build")
def build(
    pbf: list[Path] | None = typer.Option(
        None,
        "--pbf",
        help="OpenStreetMap extract (.osm.pbf); repeat the option to merge several.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Graph name (default: the first file's or the site set's name)."
    ),
    sites: str | None = typer.Option(
        None,
        "--sites",
        "-s",
        help=(
            "Built-in site set or CSV/GeoJSON file: download the Geofabrik extracts (US states) "
            "that cover every site's drive reach, clip, merge and build (instead of --pbf)."
        ),
    ),
    minutes: float = typer.Option(
        120.0, "--minutes", help="With --sites: longest drive the graph must cover (minutes)."
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="With --sites: ask Geofabrik for newer extracts than those kept."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="With --sites: show which extracts would be used, then stop."
    ),
    jobs: int = typer.Option(2, "--jobs", "-j", help="Threads for each engine's builder."),
    algorithm: str = typer.Option(
        "mld",
        "--algorithm",
        help="OSRM algorithm: mld (builds in seconds) or ch (slow to build, faster tables).",
        case_sensitive=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """Build a road graph from OSM extracts (--pbf) or for a site set (--sites) into the cache.

    One sorted extract feeds both engines: Valhalla tiles (isochrones, route lines) and an OSRM
    dataset (drive-time tables). A graph of the same name is replaced.
    """
    from geo.routing.graph import build_graph

    algorithm = algorithm.lower()
    if algorithm not in ("mld", "ch"):
        err_console.print("[bold red]Error:[/] --algorithm must be mld or ch.")
        raise typer.Exit(2)
    if bool(pbf) == bool(sites):
        err_console.print(
            "[bold red]Error:[/] give either --pbf FILE (repeatable) or --sites NAME_OR_FILE."
        )
        raise typer.Exit(2)
    if sites:
        _build_for_sites(sites, name, minutes, refresh, dry_run, jobs, as_json, algorithm)
        return
    assert pbf
    with friendly_errors():
        graph_name = name or pbf[0].name.split(".")[0].lower()
        t0 = time.perf_counter()
        with console.status(f"Building road graph {graph_name!r} from {len(pbf)} extract(s)…"):
            manifest = build_graph(pbf, graph_name, get_settings(), jobs=jobs, algorithm=algorithm)
        took = time.perf_counter() - t0
        if as_json:
            console.print_json(json.dumps({**_row(manifest), "build_s": round(took, 1)}))
            return
        console.print(
            f"Built graph [bold]{manifest.name}[/] in {took:.1f} s: {manifest.tile_count} tiles, "
            f"{manifest.tiles_bytes / 1e6:.1f} MB; OSRM {manifest.osrm_algorithm.upper()} "
            f"{manifest.osrm_bytes / 1e6:.1f} MB; OSM data of "
            f"{manifest.osm_date or 'unknown date'}, covering ~{manifest.area_km2:,.0f} km² "
            f"(lon {manifest.bounds[0]:.3f}…{manifest.bounds[2]:.3f}, "
            f"lat {manifest.bounds[1]:.3f}…{manifest.bounds[3]:.3f}).",
            highlight=False,
        )
        console.print(
            f"Use it with: trialreach check … --engine osrm --graph {manifest.name}  "
            "(or --engine valhalla)",
            highlight=False,
        )


class _AmountColumn(ProgressColumn):
    """Bytes and speed for downloads, a count for clipping, nothing for the tile build."""

    def __init__(self) -> None:
        super().__init__()
        self._size = DownloadColumn()
        self._speed = TransferSpeedColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("bytes"):
            return Text.assemble(self._size.render(task), " ", self._speed.render(task))
        unit = task.fields.get("unit", "")
        return Text(f"{int(task.completed):,} {unit}" if unit else "", style="progress.download")


def _finish(bars: Progress) -> None:
    """Show every task as complete (a task of unknown size as 1/1)."""
    for task in bars.tasks:
        size = task.total or 1
        bars.update(task.id, total=size, completed=size)


def _build_for_sites(
    sites: str,
    name: str | None,
    minutes: float,
    refresh: bool,
    dry_run: bool,
    jobs: int,
    as_json: bool,
    algorithm: str = "mld",
) -> None:
    """`graph build --sites`: plan, download with progress bars, clip, merge, build."""
    import re

    from rich.progress import BarColumn, TaskID, TextColumn, TimeRemainingColumn

    from geo.lodging.store import store_lodging_for_graph
    from geo.osm.plan import describe_plan, plan_extracts
    from geo.osm.progress import ProgressEvent
    from geo.osm.sitegraph import build_graph_for_sites
    from sites import load_site_set

    with friendly_errors():
        settings = get_settings()
        frame = load_site_set(sites, settings=settings)
        stem = Path(sites).name.split(".")[0] if Path(sites).suffix else sites
        graph_name = name or re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.") or "sites"
        plan = plan_extracts(frame, minutes, settings)
        if dry_run:
            rows = [
                {"name": e.name, "url": e.url(settings.geofabrik_base_url)} for e in plan.extracts
            ]
            if as_json:
                console.print_json(json.dumps({"graph": graph_name, "extracts": rows}))
                return
            console.print(describe_plan(plan) + ".", highlight=False)
            for r in rows:
                console.print(f"  {r['url']}", highlight=False)
            return
        if not as_json:
            console.print(describe_plan(plan) + ".", highlight=False)
        tasks: dict[tuple[str, str], TaskID] = {}
        verbs = {
            "download": "Downloading",
            "verify": "Checking",
            "clip": "Clipping",
            "build": "Building tiles for",
            "lodging": "Extracting lodging for",
        }
        t0 = time.perf_counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _AmountColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json,
        ) as bars:

            def on_event(ev: ProgressEvent) -> None:
                if ev.stage not in verbs:
                    return
                key = (ev.stage, ev.label)
                if key not in tasks:
                    if ev.stage == "build":  # everything before it has finished
                        _finish(bars)
                    tasks[key] = bars.add_task(
                        f"{verbs[ev.stage]} {ev.label}",
                        total=ev.total,
                        bytes=ev.stage in ("download", "verify"),
                        unit="roads" if ev.stage == "clip" else "",
                    )
                bars.update(tasks[key], completed=ev.done, total=ev.total)

            manifest = build_graph_for_sites(
                frame,
                graph_name,
                minutes,
                settings,
                on_event,
                jobs=jobs,
                refresh=refresh,
                algorithm=algorithm,
                keep_lodging=store_lodging_for_graph,
            )
            _finish(bars)
        took = time.perf_counter() - t0
        if as_json:
            console.print_json(
                json.dumps(
                    {**_row(manifest), "build_s": round(took, 1), "extracts": list(plan.names)}
                )
            )
            return
        console.print(
            f"Built graph [bold]{manifest.name}[/] in {took:.0f} s from {', '.join(plan.names)}: "
            f"{manifest.tile_count} tiles, {manifest.tiles_bytes / 1e6:.1f} MB, OSM data of "
            f"{manifest.osm_date or 'unknown date'}, covering ~{manifest.area_km2:,.0f} km².",
            highlight=False,
        )


@graph_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """List the road graphs in the cache: both engines' data, versions, OSM date, covered area."""
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
        for col in ("name", "OSM data", "covered area", "Valhalla", "OSRM", "sources"):
            table.add_column(col)
        for r in rows:
            b = r["bounds"]
            osrm = (
                f"{str(r['osrm_algorithm']).upper()}, {r['osrm_bytes'] / 1e6:.1f} MB "
                f"(osrm {r['osrm_version']})"
                if r["osrm_algorithm"]
                else "none (rebuild to add)"
            )
            table.add_row(
                str(r["name"]),
                str(r["osm_date"] or "unknown"),
                f"~{r['area_km2']:,.0f} km² (lon {b[0]:.2f}…{b[2]:.2f}, lat {b[1]:.2f}…{b[3]:.2f})",
                f"{r['tile_count']} tiles, {r['tiles_bytes'] / 1e6:.1f} MB "
                f"({r['valhalla_version'] or '?'})",
                osrm,
                ", ".join(r["sources"]),
            )
        console.print(table)
        for r in rows:
            if r["partition_note"]:
                console.print(f"Note: {r['partition_note']}", highlight=False)


@graph_app.command("verify")
def verify_cmd(
    name: str = typer.Argument(..., help="Graph name."), as_json: bool = JsonOption
) -> None:
    """Check every file of a graph against its manifest (sizes and SHA-256 checksums)."""
    from geo.errors import EngineNotAvailableError
    from geo.routing.graph import (
        damaged_message,
        graph_lock,
        graphs_dir,
        osrm_problem,
        read_manifest,
        verify_graph,
    )
    from geo.routing.graphs.manifest import partition_note

    with friendly_errors():
        settings = get_settings()
        folder = graphs_dir(settings) / name
        if not (folder / "manifest.json").is_file():
            raise EngineNotAvailableError(
                f"no road graph called {name!r}; see `trialreach graph list`"
            )
        with graph_lock(folder):
            manifest = read_manifest(folder)
            check = verify_graph(manifest, checksums=True)
        osrm_note = osrm_problem(manifest)
        if as_json:
            console.print_json(
                json.dumps(
                    {
                        "name": name,
                        "ok": check.ok,
                        "problems": list(check.problems),
                        "files_checked": check.files_checked,
                        "bytes_hashed": check.bytes_hashed,
                        "seconds": round(check.seconds, 3),
                        "osrm_usable": not osrm_note,
                        "osrm_note": osrm_note,
                        "partition_note": partition_note(manifest),
                    }
                )
            )
        elif check.ok:
            console.print(
                f"Graph [bold]{name}[/] is sound: {check.files_checked} files, "
                f"{check.bytes_hashed / 1e6:.1f} MB checked against their SHA-256 in "
                f"{check.seconds:.2f} s.",
                highlight=False,
            )
            if osrm_note:
                console.print(f"Note: {osrm_note}", highlight=False)
            if partition_note(manifest):
                console.print(f"Note: {partition_note(manifest)}", highlight=False)
        else:
            err_console.print(f"[bold red]Error:[/] {damaged_message(check, manifest)}")
        if not check.ok:
            raise typer.Exit(1)


@graph_app.command("remove")
def remove_cmd(name: str = typer.Argument(..., help="Graph name.")) -> None:
    """Delete a graph from the cache (the demo graph is rebuilt on its next use)."""
    from geo.errors import EngineNotAvailableError
    from geo.routing.graph import remove_graph

    with friendly_errors():
        if not remove_graph(name, get_settings()):
            raise EngineNotAvailableError(
                f"no road graph called {name!r}; see `trialreach graph list`"
            )
        console.print(f"Removed graph [bold]{name}[/].", highlight=False)


def _row(manifest: object) -> dict[str, Any]:
    from geo.routing.graph import GraphManifest
    from geo.routing.graphs.manifest import partition_note

    assert isinstance(manifest, GraphManifest)
    return {
        "name": manifest.name,
        "osm_date": manifest.osm_date,
        "sources": list(manifest.sources),
        "bounds": [round(v, 5) for v in manifest.bounds],
        "area_km2": round(manifest.area_km2, 1),
        "tile_count": manifest.tile_count,
        "tiles_bytes": manifest.tiles_bytes,
        "valhalla_version": manifest.valhalla_version,
        "osrm_algorithm": manifest.osrm_algorithm,
        "osrm_bytes": manifest.osrm_bytes,
        "osrm_version": manifest.osrm_version,
        "osrm_cell_sizes": list(manifest.osrm_cell_sizes),
        "partition_note": partition_note(manifest),
        "manifest_version": manifest.manifest_version,
        "built_at": manifest.built_at,
        "path": str(manifest.path),
    }
