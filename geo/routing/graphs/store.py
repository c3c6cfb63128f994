"""The graphs in the cache: load (checked), list, remove; the demo graph built on first use."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from geo.checksums import sha256_of
from geo.errors import EngineNotAvailableError
from geo.routing.graphs.build import OSRM_MLD_CELL_SIZES, build_graph
from geo.routing.graphs.engines import osrm_version, valhalla_version
from geo.routing.graphs.folders import _check_name, graph_lock, graphs_dir
from geo.routing.graphs.manifest import (
    DEMO_EXTRACTS,
    DEMO_GRAPH,
    MANIFEST,
    MANIFEST_VERSION,
    GraphManifest,
    read_manifest,
)
from geo.routing.graphs.verify import _forget_verified, open_graph
from geo.settings import Settings, get_settings


def load_graph(name: str, settings: Settings | None = None) -> GraphManifest:
    """The graph called ``name``, checked and ready for routing (``demo`` is built on first use).

    See :func:`open_graph` for the checks.
    """
    settings = settings or get_settings()
    if name == DEMO_GRAPH:
        return ensure_demo_graph(settings)
    folder = graphs_dir(settings) / _check_name(name)
    with graph_lock(folder):
        if not (folder / MANIFEST).is_file():
            known = ", ".join(g.name for g in list_graphs(settings)) or "none yet"
            raise EngineNotAvailableError(
                f"no road graph called {name!r} (graphs: {known}); build one with "
                f"`trialreach graph build --pbf FILE --name {name}`"
            )
        return open_graph(read_manifest(folder))


def list_graphs(settings: Settings | None = None) -> list[GraphManifest]:
    """Every complete graph in the cache, by name."""
    root = graphs_dir(settings)
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not (folder / MANIFEST).is_file():
            continue
        try:
            out.append(read_manifest(folder))
        except EngineNotAvailableError:
            continue
    return out


def remove_graph(name: str, settings: Settings | None = None) -> bool:
    """Delete the graph called ``name`` from the cache; False when there was none."""
    folder = graphs_dir(settings) / _check_name(name)
    with graph_lock(folder):
        if not folder.exists():
            return False
        old = folder.with_name(f".{name}-old-{time.time_ns()}")
        folder.rename(old)
        _forget_verified(folder)
    shutil.rmtree(old, ignore_errors=True)
    return True


def demo_extracts(settings: Settings | None = None) -> list[Path]:
    """The shipped OSM extracts of the demo graph."""
    data = (settings or get_settings()).data_dir / "osm"
    return [data / f for f in DEMO_EXTRACTS]


def _demo_is_current(manifest: GraphManifest, extracts: Sequence[Path]) -> bool:
    return (
        manifest.manifest_version == MANIFEST_VERSION
        and manifest.valhalla_version == valhalla_version()
        and manifest.osrm_version == osrm_version()
        and manifest.has_osrm == bool(osrm_version())
        and (not manifest.has_osrm or manifest.osrm_cell_sizes == OSRM_MLD_CELL_SIZES)
        and manifest.source_sha256 == tuple(sha256_of(p) for p in extracts)
    )


def ensure_demo_graph(settings: Settings | None = None) -> GraphManifest:
    """The ``demo`` graph, checked; built from ``data/osm`` on first use and rebuilt when the
    extracts, the manifest format or an engine version changed, or when it is damaged."""
    settings = settings or get_settings()
    folder = graphs_dir(settings) / DEMO_GRAPH
    extracts = demo_extracts(settings)
    missing = [p.name for p in extracts if not p.is_file()]
    if missing:
        raise EngineNotAvailableError(
            f"the demo extracts are missing from {settings.data_dir / 'osm'}: {', '.join(missing)}"
        )
    with graph_lock(folder):
        if (folder / MANIFEST).is_file():
            try:
                manifest: GraphManifest | None = read_manifest(folder)
            except EngineNotAvailableError:
                manifest = None
            if manifest is not None and _demo_is_current(manifest, extracts):
                try:
                    return open_graph(manifest)
                except EngineNotAvailableError:
                    pass  # damaged: built again from the shipped extracts below
        # Without osrm-bindings (a dependency, but optional to Valhalla) the demo has tiles only.
        built = build_graph(extracts, DEMO_GRAPH, settings, osrm=bool(osrm_version()))
        return open_graph(built)
