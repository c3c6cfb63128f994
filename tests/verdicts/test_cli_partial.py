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


def test_resume_checks_only_the_rows_a_partial_run_left_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places = tmp_path / "places.csv"
    pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e"],
            "lat": [39.99, 39.98, 39.97, 39.96, 39.95],
            "lon": [-83.0] * 5,
        }
    ).to_csv(places, index=False)
    monkeypatch.setattr(geo.proximity, "CHUNK_ROWS", 2)
    # A full run with a healthy engine: the reference every resumed row must equal.
    healthy = FailingOnCall(set(), label="ors")
    monkeypatch.setattr(check_cmd, "resolve_router", lambda *a, **k: healthy)
    full = tmp_path / "full.csv"
    args = ["check", str(places), "--sites", "demo", "-o"]
    assert runner.invoke(app, [*args, str(full)], catch_exceptions=False).exit_code == 0
    # The same file, with the engine failing on its second chunk: rows c and d are unknown.
    failing = FailingOnCall({2}, label="ors")
    monkeypatch.setattr(check_cmd, "resolve_router", lambda *a, **k: failing)
    partial = tmp_path / "partial.csv"
    res = runner.invoke(app, [*args, str(partial)], catch_exceptions=False)
    assert res.exit_code == check_cmd.PARTIAL_EXIT
    # Resume from the partial results: only c and d go to the engine again.
    again = FailingOnCall(set(), label="ors")
    monkeypatch.setattr(check_cmd, "resolve_router", lambda *a, **k: again)
    resumed = tmp_path / "resumed.csv"
    res = runner.invoke(
        app,
        ["check", str(partial), "--resume", "--sites", "demo", "-o", str(resumed)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "3 row(s) keep their earlier answer, 2 are checked again" in res.output
    assert again.n_calls == 1  # one chunk: the two unknown rows
    got = pd.read_csv(resumed, keep_default_na=False)
    want = pd.read_csv(full, keep_default_na=False)
    assert got["name"].tolist() == ["a", "b", "c", "d", "e"]
    cols = ["verdict", "drive_min", "spare_min", "nearest_site_id", "reason"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    assert got.columns.tolist().count("verdict") == 1


def test_resume_refuses_results_made_under_another_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places = tmp_path / "places.csv"
    pd.DataFrame({"lat": [39.99, 39.98], "lon": [-83.0, -83.0]}).to_csv(places, index=False)
    monkeypatch.setattr(check_cmd, "resolve_router", lambda *a, **k: FailingOnCall(set()))
    first = tmp_path / "first.csv"
    runner.invoke(app, ["check", str(places), "--sites", "demo", "-o", str(first)])
    res = runner.invoke(
        app, ["check", str(first), "--resume", "--sites", "demo", "--max-minutes", "60"]
    )
    assert res.exit_code == 2
    said = " ".join(res.output.split())
    assert "row 1 was checked against a 120-min limit, not this rule's 60 min" in said
    res = runner.invoke(app, ["check", str(places), "--resume", "--sites", "demo"])
    assert res.exit_code == 2 and "--resume needs a results file" in " ".join(res.output.split())
