"""A graph built with OSRM's default partition is exact but slow, and says so (once)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo.routing.graph import build_graph, read_manifest
from geo.routing.graphs.manifest import OSRM_MLD_CELL_SIZES, partition_note
from geo.routing.graphs.verify import _forget_verified, open_graph
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.settings import Settings
from trialreach.cli import app

pytestmark = pytest.mark.engine


def test_an_old_partition_is_named_in_list_verify_and_once_on_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(cache))
    settings = Settings(cache_dir=cache)
    pbf = tmp_path / "small.osm.pbf"
    write_grid_pbf(pbf, GridSpec(size_km=4))
    new = build_graph([pbf], "new", settings)
    old = build_graph([pbf], "old", settings)
    assert new.osrm_cell_sizes == OSRM_MLD_CELL_SIZES and partition_note(new) == ""
    # A manifest written before the small cells were recorded: no cell sizes (OSRM's default).
    path = old.path / "manifest.json"
    data = json.loads(path.read_text())
    del data["osrm_cell_sizes"]
    path.write_text(json.dumps(data))
    old = read_manifest(old.path)
    note = partition_note(old)
    assert "'old'" in note and "OSRM's default partition" in note and "slow" in note
    assert "trialreach graph build --pbf FILE --name old" in note

    # Opening: one warning per graph and process, none for the current build.
    _forget_verified(old.path)
    _forget_verified(new.path)
    with caplog.at_level(logging.WARNING, logger="geo.routing.graphs.verify"):
        for _ in range(3):
            open_graph(old)
            open_graph(new)
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == [note]

    runner = CliRunner()
    listed = {
        g["name"]: g for g in json.loads(runner.invoke(app, ["graph", "list", "--json"]).output)
    }
    assert listed["old"]["partition_note"] == note and listed["new"]["partition_note"] == ""
    assert listed["new"]["osrm_cell_sizes"] == list(OSRM_MLD_CELL_SIZES)
    text = runner.invoke(app, ["graph", "list"], terminal_width=400).output
    assert "Note: road graph 'old' was built with OSRM's default partition" in text
    assert "'new' was built" not in text
    out = runner.invoke(app, ["graph", "verify", "old"], terminal_width=400)
    assert out.exit_code == 0 and "tables are slow" in out.output
    out = runner.invoke(app, ["graph", "verify", "new"], terminal_width=400)
    assert out.exit_code == 0 and "tables are slow" not in out.output
    checked = json.loads(runner.invoke(app, ["graph", "verify", "old", "--json"]).output)
    assert checked["ok"] and checked["partition_note"] == note
