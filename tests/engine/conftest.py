"""Session fixtures of the engine tests: road graphs built once per session in a temp cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from geo.routing.graph import GraphManifest, build_graph, ensure_demo_graph
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings


@dataclass(frozen=True)
class Grid:
    spec: GridSpec
    manifest: GraphManifest
    router: ValhallaRouter
    pbf: Path


@pytest.fixture(scope="session")
def engine_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose cache is a fresh temp folder (the user's cache is never touched)."""
    return Settings(cache_dir=tmp_path_factory.mktemp("engine-cache"))


@pytest.fixture(scope="session")
def grid(engine_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Grid:
    """100 × 100 km grid: primary 80 km/h every 10 km, residential 40 km/h, plus an island."""
    spec = GridSpec(island=True)
    pbf = tmp_path_factory.mktemp("grid") / "grid100.osm.pbf"
    write_grid_pbf(pbf, spec)
    manifest = build_graph([pbf], "grid100", engine_settings)
    return Grid(spec, manifest, ValhallaRouter(manifest, engine_settings), pbf)


@pytest.fixture(scope="session")
def demo(engine_settings: Settings) -> ValhallaRouter:
    """The built-in demo graph (Harrisburg PA + Columbus OH extracts), built into the temp cache."""
    return ValhallaRouter(ensure_demo_graph(engine_settings), engine_settings)
