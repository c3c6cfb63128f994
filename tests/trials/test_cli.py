"""`trialreach trials` against the stub: ranked studies, verdicts, CSV, JSON, faults."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geo.geocode import Geocoder
from geo.routing import EstimateRouter
from sites.trials import rank_trials, search_params
from sites.trials.search import TrialQuery
from trialreach.cli import app

from .stub_trials import TrialsStub, matching

runner = CliRunner()


@pytest.fixture
def env(stub: TrialsStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIALREACH_CTGOV_URL", stub.base_url)
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRIALREACH_ENGINE", "estimate")
    monkeypatch.setenv("TRIALREACH_HTTP_TIMEOUT_S", "0.5")
    monkeypatch.setenv("TRIALREACH_HTTP_RETRIES", "1")
    monkeypatch.setenv("TRIALREACH_HTTP_BACKOFF_S", "0.01")
    return tmp_path


def _run(*args: str) -> object:
    return runner.invoke(app, ["trials", *args], env={"COLUMNS": "220"})


def _expected() -> list[str]:
    """The ranking computed directly (estimate engine, the offline ZIP centroid)."""
    point = Geocoder().geocode("55902")
    found = matching(search_params(TrialQuery(condition="lupus"), point.point))
    ranking = rank_trials(found, point.point, EstimateRouter(), place_precision="zip")
    return list(ranking.studies["nct_id"])


def _verdicts() -> list[str]:
    point = Geocoder().geocode("55902")
    found = matching(search_params(TrialQuery(condition="lupus"), point.point))
    ranking = rank_trials(found, point.point, EstimateRouter(), place_precision="zip")
    return [str(v) for v in ranking.studies["verdict"]]


def test_trials_near_a_zip_lists_studies_ranked_by_drive_time(env: Path) -> None:
    result = _run("--near", "55902", "--condition", "lupus")
    assert result.exit_code == 0, result.output
    out = result.output
    order = _expected()
    positions = [out.index(nct) for nct in order]
    assert positions == sorted(positions)  # printed in rank order
    assert order[0] == "NCT07085104"
    for word in ("within", "borderline", "outside", "unknown"):
        assert word in out
    assert "Mayo Clinic (Rochester, MN)" in out
    assert "RESOLUTION preset" in out and "CAR-T label preset" in out
    assert "7 studies, 5 with a site within 2 h 00 min" in out
    # A borderline study is counted among the five, and said to be only borderline.
    n_border = sum(v == "borderline" for v in _verdicts())
    assert n_border > 0
    assert f"({n_border} of them only borderline: check those)" in out
    assert "city centres" in out
    assert "Sent to ClinicalTrials.gov" in out and "not your place" in out
    assert "Drive times: estimate" in out
    assert "withdrawn site(s) left out" in out


def test_csv_is_ranked_and_formula_safe(env: Path) -> None:
    target = env / "trials.csv"
    result = _run("--near", "55902", "--condition", "lupus", "-o", str(target))
    assert result.exit_code == 0, result.output
    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["nct_id"] for r in rows] == _expected()
    assert rows[0]["url"] == "https://clinicaltrials.gov/study/NCT07085104"
    risky = next(r for r in rows if r["nct_id"] == "NCT90000007")
    assert risky["nearest_site"].startswith("'=HYPERLINK")  # neutralised, not a formula
    assert all(not v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    assert float(rows[0]["drive_min"]) < 10


def test_json_output(env: Path) -> None:
    result = _run("--near", "55902", "--condition", "lupus", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["nct_id"] for s in doc["studies"]] == _expected()
    assert doc["place_precision"] == "zip"
    assert doc["search"]["sent"]["filter.geo"] == "distance(44.05,-92.45,176mi)"
    assert doc["search"]["partial"] is False
    assert doc["studies"][-1]["drive_min"] is None  # NaN is null, never 0
    assert "-92.4835" not in result.output and "44.0032" not in result.output


def test_user_text_is_not_read_as_markup(env: Path) -> None:
    result = _run("--near", "55902", "--condition", "[red]lupus[/red]")
    assert result.exit_code == 0, result.output
    assert "[red]lupus[/red]" in result.output


def test_service_down_is_a_message_not_a_traceback(env: Path) -> None:
    result = _run("--near", "55902", "--condition", "down")
    assert result.exit_code == 2
    assert "Error:" in result.output and "ClinicalTrials.gov" in result.output
    assert "HTTP 503" in result.output
    assert "Traceback" not in result.output


def test_partial_search_is_said(env: Path) -> None:
    result = _run("--near", "55902", "--condition", "partial", "--page-size", "3")
    assert result.exit_code == 0
    assert "Partial search" in result.output and "page 3 failed" in result.output
    assert "6 studies from 2 page(s)" in result.output


def test_nothing_found_exits_1_and_bad_input_exits_2(env: Path) -> None:
    assert _run("--near", "55902", "--condition", "no-such-condition").exit_code == 1
    assert _run("--near", "55902").exit_code == 2  # no condition nor intervention
    bad = _run("--near", "00000", "--condition", "lupus")
    assert bad.exit_code == 2 and "could not locate" in bad.output
    wrong = _run("--near", "55902", "--condition", "lupus", "--study-rule", "NCT1")
    assert wrong.exit_code == 2
