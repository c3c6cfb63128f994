"""The import arrows of the package: nothing low imports anything higher, no import loops.

Read from the source with ``ast`` (every ``import``, also those inside functions, which is where a
loop hides): a lazy import that closes a loop is still a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("geo", "sites", "trialreach")

# Floors, bottom up, as docs/architecture.md draws them; a module may import its own floor and
# the floors below.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("geo.errors", "geo.settings", "geo.types", "geo.geodesy", "geo.checksums", "geo.wording"),
    ("geo.rules", "geo._retry", "geo._pacing", "geo._http", "geo.export"),
    (
        "geo.geocode",
        "geo.places",
        "geo.routing",
        "geo.osm",
        "geo.mapping",
        "geo.basemap",
        "geo.population",
    ),
    ("geo.proximity",),
    ("geo.coverage", "geo.siting", "geo.distributed", "geo.lodging"),
    ("sites",),
    ("trialreach.api", "trialreach.workflows"),
    ("trialreach.cli", "trialreach.commands"),
)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Project modules imported anywhere in the file (module level or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m in MODULES}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _floor(module: str) -> int | None:
    for level, prefixes in enumerate(FLOORS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def test_the_scan_sees_the_known_arrows() -> None:
    """A check that cannot fail is no check: the scan must see arrows that do exist."""
    assert "geo.routing.base" in GRAPH["geo.routing.estimate"]
    assert "geo.lodging.store" in GRAPH["trialreach.commands.graph"]  # a function-level import


def test_geo_never_imports_sites_or_the_faces() -> None:
    bad = sorted(
        (a, b)
        for a, targets in GRAPH.items()
        if a.startswith("geo")
        for b in targets
        if not b.startswith("geo")
    )
    assert bad == []


def test_no_module_imports_a_higher_floor() -> None:
    up = []
    for a, targets in GRAPH.items():
        fa = _floor(a)
        if fa is None:
            continue
        for b in targets:
            fb = _floor(b)
            if fb is not None and fb > fa:
                up.append(f"{a} -> {b}")
    assert sorted(up) == []


@pytest.mark.parametrize("package", ["geo", "sites"])
def test_no_import_loops(package: str) -> None:
    nodes = {n for n in GRAPH if n.startswith(package)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v] & nodes):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    assert loops == []


def test_every_module_of_geo_and_sites_has_a_floor() -> None:
    """A new module must be placed on a floor (here and in docs/architecture.md)."""
    unplaced = sorted(m for m in MODULES if m.startswith(("geo.", "sites")) and _floor(m) is None)
    assert unplaced == []
