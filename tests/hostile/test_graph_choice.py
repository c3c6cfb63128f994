"""`--engine valhalla` without `--graph`: the graph that covers the sites, or a refusal listing
the graphs; places outside the graph are said to be outside it (not "near the edge")."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from geo.routing.graph import ensure_demo_graph
from trialreach.cli import app

pytestmark = pytest.mark.engine
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def demo_graph() -> None:
    ensure_demo_graph()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_sites_outside_every_graph_are_refused_with_the_list() -> None:
    res = run("check", "44.0225, -92.4668", "--engine", "valhalla", "--sites", "resolution")
    assert res.exit_code == 2, res.output
    assert "no local road graph covers any of the" in res.output
    assert "demo (lon" in res.output  # the built graphs are listed
    assert "Traceback" not in res.output


def test_covering_graph_is_named_and_outside_places_say_so() -> None:
    res = run("check", "44.0225, -92.4668", "--engine", "valhalla", "--sites", "demo", "--json")
    assert res.exit_code == 1, res.output  # nothing could be checked
    assert "using graph 'demo'" in res.output
    assert "outside the road data of graph 'demo'" in res.output
    assert "road data ends near here" not in res.output
    inside = run("check", "39.99, -83.0", "--engine", "valhalla", "--sites", "demo")
    assert inside.exit_code == 0, inside.output
    assert "WITHIN" in inside.output
