"""Session fixtures of the truth harness: synthetic networks and demo graphs, built once.

Everything is built into pytest's temp folders (never the work tree, never the user's cache).
Each comparison reports its error distribution through :func:`report`: printed at once (``-s``)
and listed again at the end of the run, so the numbers can be copied into docs/engine.md.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geo.routing.base import Router
from geo.routing.graph import GraphManifest, build_graph, ensure_demo_graph
from geo.routing.synthetic import GridSpec, RoadNetwork, TurnRestriction, write_network_pbf
from geo.settings import Settings, get_settings

RESTRICTIONS = (
    # Arriving from the west at (20, 20), no left turn (north): (15, 20) → (20, 25) detours.
    TurnRestriction(20, 20, "W", "N", "no_left_turn"),
    # Arriving from the south at (70, 20), straight on only: (70, 15) → (65, 20) and (75, 20).
    TurnRestriction(70, 20, "S", "N", "only_straight_on"),
)
TRUTH_SPEC = GridSpec(
    island=True,
    motorway_every=40,
    oneway_east_rows=(44,),
    oneway_west_rows=(46,),
    spur=True,
    restrictions=RESTRICTIONS,
    lake=(60, 60, 74, 74),
)
"""100 × 100 km: primaries 80 km/h every 10 km, residential 40 km/h, motorways (110 km/h) at
rows/columns 40.5 and 80.5 with exits every 10 km, one-way rows 44 (east) and 46 (west), the
one-way spur village, two turn restrictions, a 14 km lake, and an island 20 km east."""

_STATS: list[str] = []


def stats_line(name: str, values: Any, unit: str = "s") -> str:
    """'name: n=.., median .., p90 .., max |..|' for an error sample (NaN ignored)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return f"{name}: n=0"
    a = np.abs(v)
    return (
        f"{name}: n={v.size}, median {np.median(v):+.2f} {unit}, "
        f"p90 |{np.percentile(a, 90):.2f}| {unit}, max |{a.max():.2f}| {unit} "
        f"(min {v.min():+.2f}, max {v.max():+.2f})"
    )


def report(name: str, values: Any, unit: str = "s") -> str:
    """Print one error distribution now and list it again in the end-of-run summary."""
    line = stats_line(name, values, unit)
    print(f"\n[truth] {line}")
    _STATS.append(line)
    return line


def note(text: str) -> None:
    """A measured fact that is not a distribution (e.g. a count), for the summary."""
    print(f"\n[truth] {text}")
    _STATS.append(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _STATS:
        terminalreporter.section("truth harness: measured errors")
        for line in _STATS:
            terminalreporter.write_line(line)


def contract_tol_s(reference_s: Any) -> Any:
    """The exactness contract: 0.5 % of the reference time or 6 s, whichever is larger."""
    return np.maximum(0.005 * np.asarray(reference_s, dtype=float), 6.0)


HAS_OSRM = importlib.util.find_spec("geo.routing.osrm") is not None


def forced_screening(router: Router) -> Router:
    """The same engine with isochrone screening always on where it has any (Valhalla), so the
    screened path is tested even where the engine would rather route everything."""
    from geo.routing.valhalla import ValhallaRouter

    if isinstance(router, ValhallaRouter):
        try:
            forced: Router = ValhallaRouter(
                router.graph,
                router.settings,
                screening="always",  # type: ignore[call-arg, unused-ignore]
            )
        except TypeError:  # an engine without the option screens as it always did
            return router
        return forced
    return router


@dataclass(frozen=True)
class TruthGraph:
    """A synthetic network, its PBF and the graph built from it."""

    net: RoadNetwork
    pbf: Path
    manifest: GraphManifest
    settings: Settings

    @property
    def spec(self) -> GridSpec:
        return self.net.spec


@pytest.fixture(scope="session")
def truth_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("truth-cache"))


@pytest.fixture(scope="session")
def truth_graph(truth_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> TruthGraph:
    """The synthetic truth network, built once per session for both engines."""
    work = tmp_path_factory.mktemp("truth-graph")
    pbf = work / "truth.osm.pbf"
    net = write_network_pbf(pbf, TRUTH_SPEC)
    manifest = build_graph([pbf], "truth", truth_settings, out_dir=work / "graph")
    return TruthGraph(net, pbf, manifest, truth_settings)


def _osrm_router(manifest: GraphManifest, settings: Settings) -> Router:
    if not HAS_OSRM:
        pytest.skip("geo.routing.osrm is not there yet (helper A is writing it)")
    from geo.routing.osrm import OsrmRouter  # type: ignore[import-not-found, unused-ignore]

    router: Router = OsrmRouter(manifest, settings)
    return router


@pytest.fixture(scope="session")
def truth_valhalla(truth_graph: TruthGraph) -> Router:
    from geo.routing.valhalla import ValhallaRouter

    return ValhallaRouter(truth_graph.manifest, truth_graph.settings)


@pytest.fixture(scope="session")
def truth_osrm(truth_graph: TruthGraph) -> Router:
    return _osrm_router(truth_graph.manifest, truth_graph.settings)


@pytest.fixture(scope="session", params=["valhalla", "osrm"])
def truth_router(request: pytest.FixtureRequest) -> Iterator[Router]:
    """Each engine in turn on the synthetic truth network."""
    yield request.getfixturevalue(f"truth_{request.param}")


@pytest.fixture(scope="session")
def demo_settings() -> Settings:
    """The test run's own temp cache (tests/conftest.py): other tests' demo graph is reused."""
    return get_settings()


@pytest.fixture(scope="session")
def demo_manifest(demo_settings: Settings) -> GraphManifest:
    """The demo graph (Harrisburg PA + Columbus OH extracts), built once per run."""
    return ensure_demo_graph(demo_settings)


@pytest.fixture(scope="session")
def demo_valhalla(demo_manifest: GraphManifest, demo_settings: Settings) -> Router:
    from geo.routing.valhalla import ValhallaRouter

    return ValhallaRouter(demo_manifest, demo_settings)


@pytest.fixture(scope="session")
def demo_osrm(demo_manifest: GraphManifest, demo_settings: Settings) -> Router:
    return _osrm_router(demo_manifest, demo_settings)


@pytest.fixture(scope="session", params=["valhalla", "osrm"])
def demo_router(request: pytest.FixtureRequest) -> Iterator[Router]:
    """Each engine in turn on the demo graph."""
    yield request.getfixturevalue(f"demo_{request.param}")
