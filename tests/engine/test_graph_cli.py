"""`trialreach graph build|list` on a small synthetic extract, in a temp cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo.routing.synthetic import GridSpec, write_grid_pbf
from trialreach.cli import app

pytestmark = pytest.mark.engine


def test_build_then_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    pbf = tmp_path / "small.osm.pbf"
    write_grid_pbf(pbf, GridSpec(size_km=20, timestamp="2023-05-06T07:08:09Z"))
    runner = CliRunner()
    out = runner.invoke(app, ["graph", "list"])
    assert out.exit_code == 0 and "No road graphs" in out.output
    out = runner.invoke(app, ["graph", "build", "--pbf", str(pbf), "--name", "town", "--json"])
    assert out.exit_code == 0, out.output
    built = json.loads(out.output)
    assert built["name"] == "town" and built["osm_date"] == "2023-05-06"
    assert built["tile_count"] > 0 and (tmp_path / "cache" / "graphs" / "town" / "tiles").is_dir()
    listed = json.loads(runner.invoke(app, ["graph", "list", "--json"]).output)
    assert [g["name"] for g in listed] == ["town"]
    # Covered area ≈ the 20 × 20 km grid (cells of 2 km may add a rim of up to one cell).
    assert 380 <= listed[0]["area_km2"] <= 600
    out = runner.invoke(app, ["graph", "list"])
    assert "town" in out.output and "2023-05-06" in out.output


def test_build_rejects_a_non_pbf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    bad = tmp_path / "roads.osm"
    bad.write_text("<osm/>")
    out = CliRunner().invoke(app, ["graph", "build", "--pbf", str(bad)])
    assert out.exit_code == 2 and "only .osm.pbf" in out.output


def test_algorithm_and_unknown_graphs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    pbf = tmp_path / "small.osm.pbf"
    write_grid_pbf(pbf, GridSpec(size_km=4))
    runner = CliRunner()
    out = runner.invoke(app, ["graph", "build", "--pbf", str(pbf), "--algorithm", "astar"])
    assert out.exit_code == 2 and "mld or ch" in out.output
    for cmd in ("verify", "remove"):
        out = runner.invoke(app, ["graph", cmd, "nothing-here"])
        assert out.exit_code == 2 and "no road graph called 'nothing-here'" in out.output
