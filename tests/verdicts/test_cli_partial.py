"""`trialreach check FILE.csv` keeps finished rows when the engine fails mid-batch, and says so
with its own exit code (issue 12, "Lost work")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import geo.proximity
from trialreach.cli import app
from trialreach.commands import check as check_cmd

from .fakes import FailingOnCall

runner = CliRunner()


@pytest.mark.parametrize(("fail_calls", "code"), [({2}, check_cmd.PARTIAL_EXIT), (set(), 0)])
def test_partial_batch_writes_every_row_and_exits_with_its_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_calls: set[int], code: int
) -> None:
    router = FailingOnCall(fail_calls, label="ors")
    monkeypatch.setattr(check_cmd, "resolve_router", lambda *a, **k: router)
    monkeypatch.setattr(geo.proximity, "CHUNK_ROWS", 2)
    places = tmp_path / "places.csv"
    pd.DataFrame(
        {"name": ["a", "b", "c", "d"], "lat": [39.99, 39.98, 39.97, 39.96], "lon": [-83.0] * 4}
    ).to_csv(places, index=False)
    out = tmp_path / "out.csv"
    res = runner.invoke(
        app,
        ["check", str(places), "--sites", "demo", "-o", str(out)],
        catch_exceptions=False,
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == code, res.output
    rows = pd.read_csv(out, keep_default_na=False)
    assert rows["name"].tolist() == ["a", "b", "c", "d"]  # rows in = rows out, in order
    if fail_calls:
        assert rows["verdict"].tolist() == ["within", "within", "unknown", "unknown"]
        assert rows["reason"].iloc[2] == (
            "openrouteservice failed: openrouteservice answered HTTP 500 after 3 tries"
        )
        assert "Partial run: 2 row(s) unknown" in res.output
    else:
        assert (rows["verdict"] == "within").all() and "Partial" not in res.output
