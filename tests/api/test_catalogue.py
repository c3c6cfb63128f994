"""The engine catalogue: one registry of engines and keys, read by every face."""

import pytest

from geo.errors import EngineNotAvailableError, ValidationError
from geo.routing import ENGINES, get_router
from geo.routing.catalogue import CATALOGUE, is_estimate, make_router, parse_key
from geo.routing.estimate import EstimateRouter
from geo.settings import Settings


def test_names_and_needs():
    assert set(ENGINES) == {"auto", "valhalla", "osrm", "ors", "estimate"}
    assert [s.name for s in CATALOGUE.values() if s.is_estimate] == ["estimate"]
    assert {s.name for s in CATALOGUE.values() if s.uses_graph} == {"valhalla", "osrm"}
    assert is_estimate("estimate") and not is_estimate("valhalla:demo")


def test_keys_with_graphs():
    spec, graph = parse_key("valhalla:demo")
    assert (spec.name, graph) == ("valhalla", "demo")
    assert parse_key(" Estimate ")[1] is None
    with pytest.raises(ValidationError, match="take a graph name"):
        parse_key("estimate:demo")
    with pytest.raises(ValidationError, match="unknown engine 'teleport'"):
        parse_key("teleport")


def test_opens_engines_and_get_router_is_the_same_door():
    assert isinstance(make_router("estimate"), EstimateRouter)
    assert isinstance(get_router("estimate"), EstimateRouter)
    # The settings' engine is the default key.
    assert make_router(settings=Settings(engine="estimate")).info.is_estimate


def test_ors_without_a_key_says_what_to_do():
    settings = Settings(ors_api_key=None)
    assert CATALOGUE["ors"].unavailable(settings)
    assert not CATALOGUE["ors"].unavailable(Settings(ors_api_key="k"))
    with pytest.raises(EngineNotAvailableError):
        make_router("ors", settings=settings)


def test_cli_and_app_menus_list_catalogue_engines():
    from trialreach.commands.options import Engine

    assert {e.value for e in Engine} == set(CATALOGUE)


def test_rule_and_geocoder_enums_match_their_sources():
    from geo.geocode.geocoder import GEOCODERS
    from geo.rules import PRESETS
    from trialreach.commands.options import Geocoder, Rule

    assert [r.value for r in Rule] == list(PRESETS)
    assert [g.value for g in Geocoder] == list(GEOCODERS)


def test_cli_defaults_mirror_the_domain():
    from geo.coverage import DEFAULT_MIN_BEDS
    from trialreach.commands import planning

    assert planning.DEFAULT_MIN_BEDS == DEFAULT_MIN_BEDS


def test_choose_graph_takes_the_graph_covering_most_points(monkeypatch):
    from types import SimpleNamespace

    import shapely

    import geo.routing.graph as graph_module
    from geo.routing.catalogue import choose_graph

    def fake(name, box):
        area = shapely.box(*box)
        return SimpleNamespace(name=name, covered_area=area, area_km2=area.area, bounds=box)

    graphs = [fake("ohio", (-85, 38, -80, 42)), fake("small", (-83.1, 39.9, -82.9, 40.1))]
    monkeypatch.setattr(graph_module, "list_graphs", lambda settings=None: graphs)
    columbus, dayton, erie = (-83.0, 40.0), (-84.2, 39.76), (-80.1, 42.1)
    assert choose_graph("valhalla", [columbus, dayton], Settings()) == ("ohio", 2, 2)
    # A tie goes to the smaller graph; NaN points are left out of the count.
    assert choose_graph("osrm", [columbus, (float("nan"),) * 2], Settings()) == ("small", 1, 1)
    assert choose_graph("valhalla:ohio", [columbus], Settings()) is None  # named in the key
    assert choose_graph("estimate", [columbus], Settings()) is None  # takes no graph
    with pytest.raises(ValidationError, match="no local road graph covers any of the 1 sites"):
        choose_graph("valhalla", [erie], Settings())
