"""`trialreach graph build --sites` against the local Geofabrik stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialreach.cli import app

from .conftest import DATA, FAKE_INDEX, OH_PATH, PA_PATH
from .geofabrik_stub import GeofabrikStub


@pytest.fixture
def env(stub: GeofabrikStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder whose extract index maps Pennsylvania/Ohio to the local server."""
    data = tmp_path / "data"
    (data / "geofabrik").mkdir(parents=True)
    (data / "geofabrik" / "us_states.csv").write_text(FAKE_INDEX)
    for sub in ("boundaries", "sites", "osm"):
        (data / sub).symlink_to(DATA / sub)
    monkeypatch.setenv("TRIALREACH_DATA_DIR", str(data))
    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRIALREACH_GEOFABRIK_URL", stub.base_url)
    monkeypatch.setenv("TRIALREACH_HTTP_BACKOFF_S", "0.01")
    return tmp_path


def test_dry_run_lists_the_extracts_without_downloading(stub: GeofabrikStub, env: Path) -> None:
    out = CliRunner().invoke(app, ["graph", "build", "--sites", "demo", "--dry-run", "--json"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.output)
    assert plan["graph"] == "demo"
    assert [e["url"] for e in plan["extracts"]] == [
        stub.base_url + OH_PATH,
        stub.base_url + PA_PATH,
    ]
    assert stub.requests == []


def test_site_outside_the_index_exits_with_advice(env: Path) -> None:
    far = env / "far-sites.csv"
    far.write_text("site_id,name,lat,lon\nX1,Somewhere in Texas,31.0,-100.0\n")
    out = CliRunner().invoke(app, ["graph", "build", "--sites", str(far)])
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "outside the US states" in text and "--pbf FILE" in text


def test_pbf_or_sites_is_required(env: Path) -> None:
    out = CliRunner().invoke(app, ["graph", "build"])
    assert out.exit_code == 2 and "either --pbf" in out.output


@pytest.mark.engine
def test_build_for_sites_downloads_and_lists_the_graph(stub: GeofabrikStub, env: Path) -> None:
    one = env / "hbg.csv"  # one Harrisburg site: only Pennsylvania is within 260 km
    one.write_text("site_id,name,lat,lon\nH1,UPMC Community Osteopathic,40.284255,-76.816477\n")
    runner = CliRunner()
    out = runner.invoke(app, ["graph", "build", "--sites", str(one)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # undo the console's line wrapping
    assert (
        "1 site(s); a 120-minute drive stays within 260 km; extracts needed: Pennsylvania" in text
    )
    assert "Downloading Pennsylvania" in text and "Clipping Pennsylvania" in text
    assert "Built graph hbg" in text
    gets = {r.path for r in stub.requests if r.method == "GET"}
    assert gets == {PA_PATH, PA_PATH + ".md5"}
    listed = json.loads(runner.invoke(app, ["graph", "list", "--json"]).output)
    assert [g["name"] for g in listed] == ["hbg"]
    assert listed[0]["sources"] == ["pennsylvania-hbg.osm.pbf"]
