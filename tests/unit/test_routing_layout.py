"""``geo.routing`` as docs/architecture.md draws it: every module in the table, each importing
only modules in its own row or above (lazy and type-only imports too)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUTING = ROOT / "geo" / "routing"


def _rows() -> dict[str, int]:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = doc.split("## Inside `geo.routing`", 1)[1].split("\n## ", 1)[0]
    rank: dict[str, int] = {}
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for i, line in enumerate(rows):
        for name in re.findall(r"`([^`]+)`", line.split("|")[1]):
            rank[name.rstrip("/")] = i
    return rank


def _modules() -> dict[str, list[Path]]:
    """Top-level module (or subpackage) name → its files."""
    out: dict[str, list[Path]] = {}
    for path in ROUTING.rglob("*.py"):
        top = path.relative_to(ROUTING).with_suffix("").parts[0]
        if top != "__init__":
            out.setdefault(top, []).append(path)
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found.update(n.split(".")[2] for n in names if n.startswith("geo.routing."))
    return found


def test_every_routing_module_is_in_the_table() -> None:
    rank = _rows()
    assert len(rank) > 10  # the table was found
    assert sorted(set(_modules()) - set(rank)) == []


def test_routing_imports_point_up_the_table() -> None:
    rank = _rows()
    up = sorted(
        f"{path.relative_to(ROOT)} -> geo.routing.{other}"
        for top, paths in _modules().items()
        for path in paths
        for other in _imports(path)
        if other != top and rank.get(other, -1) > rank.get(top, -1)
    )
    assert up == []


def test_the_check_sees_a_known_arrow() -> None:
    """A check that cannot fail is no check: the scan sees real arrows, and the table orders
    them (catalogue imports base, so base importing catalogue would be flagged)."""
    assert "combine" in _imports(ROUTING / "auto.py")
    assert "base" in _imports(ROUTING / "catalogue.py")
    rank = _rows()
    assert rank["combine"] == rank["auto"] and rank["base"] < rank["catalogue"]
