"""Lodging extraction from OpenStreetMap files: the shipped extracts and hand-made XML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import osmium
import pytest
from geopandas.testing import assert_geodataframe_equal

import geo.lodging.store as lodging_store
from geo.errors import EngineNotAvailableError, GraphBuildError, ValidationError
from geo.lodging import lodging_for_graph, lodging_from_pbfs
from geo.lodging.catalogue import LODGING_COLUMNS, classify
from geo.lodging.extract import (
    extract_lodging,
    scan_lodging,
)
from geo.routing.graph import GraphManifest, build_graph
from geo.settings import Settings

from .conftest import DATA, OSM

COLUMBUS_NAMED = {
    "Hampton Inn & Suites",
    "Homewood Suites",
    "Hyatt Place",
    "Holiday Inn",
    "Sheraton",
    "Hyatt Regency Columbus",
}


def test_columbus_has_twelve_hotels_six_named():
    ext = scan_lodging(OSM / "columbus.osm.pbf")
    frame = ext.frame
    assert list(frame.columns) == [*LODGING_COLUMNS, "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == 12 and ext.counts == {"hotel": 12}
    labelled = frame["name"].str.match(r"hotel (on|near|at) ")
    assert set(frame.loc[~labelled, "name"]) == COLUMBUS_NAMED
    # Unnamed features are kept, labelled by kind and street (never "(unnamed hotel)"), counted.
    assert ext.unnamed == 6 and labelled.sum() == 6
    assert not frame["name"].str.contains("unnamed").any()
    # The airport hotels: their nearest named road within 100 m (see test_unnamed_labels).
    by_id = frame.set_index("osm_id")["name"]
    # Four unnamed airport hotels share that road: each adds its coordinates, all labels differ.
    assert by_id["w169294515"] == "hotel on International Gateway (39.9996, -82.8927)"
    assert frame["name"].str.startswith("hotel on International Gateway (").sum() == 4
    assert frame["name"].is_unique
    # A street label no other place shares stays short.
    assert by_id["w169294516"] == "hotel on Goshen Ln"
    # All twelve are building outlines (ways): ids carry the OSM type.
    assert frame["osm_id"].str.startswith("w").all()
    assert (frame["source"] == "OpenStreetMap").all()
    assert ext.skipped_open_ways == ext.skipped_relations == ext.skipped_no_location == 0


def test_columbus_address_and_contact_tags():
    frame = extract_lodging(OSM / "columbus.osm.pbf").set_index("osm_id")
    hyatt = frame.loc["w167031494"]
    assert hyatt["name"] == "Hyatt Place"
    assert hyatt["address"] == "795 Yard Street"
    assert (hyatt["city"], hyatt["postcode"]) == ("Columbus", "43212")
    assert hyatt["phone"] == "+1-614-280-1234"
    assert hyatt["website"] == "http://columbusosu.place.hyatt.com/"
    # Centroid of the building outline (checked against the way's nodes by hand).
    assert hyatt.geometry.x == pytest.approx(-83.02608, abs=2e-5)
    assert hyatt.geometry.y == pytest.approx(39.97548, abs=2e-5)
    regency = frame.loc["w137231755"]
    assert regency["address"] == "350 High Street" and regency["postcode"] == "43215"
    # A hotel without address tags has empty strings, never NaN.
    assert frame.loc["w231231658", "address"] == ""
    # This extract has no timestamps (all 1970): no date is claimed.
    assert set(frame["data_date"]) == {""}


def test_harrisburg_four_hotel_nodes():
    ext = scan_lodging(OSM / "harrisburg.osm.pbf")
    frame = ext.frame.set_index("osm_id")
    assert len(frame) == 4
    assert set(frame["name"]) == {"Double Tree", "sleep", "Hampton Inn", "La Quinta"}
    assert frame.index.str.startswith("n").all()
    lq = frame.loc["n2940946860"]
    assert lq["name"] == "La Quinta"
    assert (round(lq.geometry.x, 4), round(lq.geometry.y, 4)) == (-76.8037, 40.2393)
    assert ext.data_date == "2014-06-30"


def test_two_extracts_keep_each_files_date():
    ext = scan_lodging([OSM / "harrisburg.osm.pbf", OSM / "columbus.osm.pbf"])
    assert len(ext.frame) == 16 and ext.duplicates == 0
    dates = ext.frame.groupby(ext.frame["osm_id"].str[0])["data_date"].agg(set)
    assert dates["n"] == {"2014-06-30"} and dates["w"] == {""}
    assert ext.sources == ("harrisburg.osm.pbf", "columbus.osm.pbf")


def test_same_extract_twice_is_counted_once():
    ext = scan_lodging([OSM / "harrisburg.osm.pbf", OSM / "harrisburg.osm.pbf"])
    assert len(ext.frame) == 4 and ext.duplicates == 4


def test_tiny_handmade_osm_xml():
    """One node, one building way, one relation-less way without a name (tiny.osm)."""
    ext = scan_lodging(DATA / "tiny.osm")
    frame = ext.frame.set_index("osm_id")
    assert list(frame.index) == ["n1", "w100", "w200"]  # the untagged node 2 is not lodging

    inn = frame.loc["n1"]
    assert (inn["kind"], inn["name"]) == ("hotel", "Tiny Inn")
    assert inn["address"] == "12 Main Street"
    assert (inn["city"], inn["postcode"]) == ("Testville", "15001")
    assert (inn["website"], inn["phone"]) == ("https://tiny-inn.example", "+1-555-0100")
    assert (inn.geometry.x, inn.geometry.y) == (-80.0, 40.0)
    assert inn["eligibility_note"] == ""

    # The building way: tourism=guest_house, but its name makes it a hospitality house; the point
    # is the centre of the 0.002° square.
    lodge = frame.loc["w100"]
    assert lodge["kind"] == "hospitality_house"
    assert lodge.geometry.x == pytest.approx(-80.019) and lodge.geometry.y == pytest.approx(40.021)
    assert "cancer treatment" in lodge["eligibility_note"]
    assert "American Cancer Society" in lodge["eligibility_note"]

    # The unnamed way is kept, labelled (no road in the file: by its coordinates), and counted.
    motel = frame.loc["w200"]
    assert (motel["kind"], motel["name"]) == ("motel", "motel at 40.0505, -80.0495")
    assert motel.geometry.x == pytest.approx(-80.0495)
    assert motel.geometry.y == pytest.approx(40.0505)
    assert ext.unnamed == 1
    # Newest timestamp among the features read (way 100 was edited in 2024).
    assert ext.data_date == "2024-02-15" and set(frame["data_date"]) == {"2024-02-15"}


def test_unnamed_labels_by_kind_and_street():
    """streets.osm: an avenue, a closer named footway (ignored) and unnamed places at known
    distances (44.5 m, 278 m, 2.2 km north of the avenue; two with address tags)."""
    ext = scan_lodging(DATA / "streets.osm")
    names = ext.frame.set_index("osm_id")["name"].to_dict()
    assert names == {
        "n1": "motel on Chocolate Avenue",  # 44.5 m: "on" (<= 100 m), not the 33 m footway
        "n2": "guest house near Chocolate Avenue",  # 278 m: "near" (<= 400 m)
        "n3": "hostel at 40.3000, -76.6500",  # 2.2 km from any road: its coordinates
        "n4": "hotel at 7 Cocoa Street",  # its own address wins over the nearest road
        "n5": "apartment on Cocoa Street",
        "n6": "Cocoa Inn",  # a real name is kept
    }
    assert ext.unnamed == 5


def test_unnamed_label_distances_match_haversine():
    """The projected distances behind "on"/"near" agree with the great-circle distance."""
    import numpy as np
    import shapely

    from geo.geodesy import haversine_km
    from geo.lodging.labels import ON_STREET_M, unnamed_labels

    road = shapely.linestrings([[(-76.66, 40.28), (-76.64, 40.28)]])
    names = np.array(["Chocolate Avenue"], dtype=object)
    # Points due north of the road at 95 m and 105 m by haversine.
    hundredth = haversine_km(np.array([[-76.65, 40.28]]), np.array([[-76.65, 40.29]]))[0, 0]
    km_per_deg = float(hundredth) / 0.01
    lat = 40.28 + np.array([0.095, 0.105]) / km_per_deg
    xy = np.column_stack([np.full(2, -76.65), lat])
    labels = unnamed_labels(["hotel", "hotel"], xy, ["", ""], ["", ""], road, names)
    assert ON_STREET_M == 100.0
    assert labels == ["hotel on Chocolate Avenue", "hotel near Chocolate Avenue"]


def test_xml_converted_to_pbf_gives_the_same_lodging(tmp_path: Path):
    pbf = tmp_path / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(DATA / "tiny.osm")):
            writer.add(obj)
    finally:
        writer.close()
    assert_geodataframe_equal(extract_lodging(pbf), extract_lodging(DATA / "tiny.osm"))


def test_valhalla_graph_refuses_osm_xml(tmp_path: Path):
    """pyosmium reads .osm XML, Valhalla does not: the graph build says how to convert."""
    with pytest.raises(GraphBuildError, match=r"\.osm\.pbf"):
        build_graph([DATA / "tiny.osm"], "tiny", out_dir=tmp_path / "g")


def test_edge_cases_left_out_and_counted():
    ext = scan_lodging(DATA / "edge_cases.osm")
    frame = ext.frame.set_index("osm_id")
    assert list(frame.index) == ["n1", "n3"]
    assert frame.loc["n1", "kind"] == "hospitality_house"
    assert "families of children" in frame.loc["n1", "eligibility_note"]
    assert frame.loc["n3", "name"] == "Casa Amiga"  # social_facility:for=patients;families
    assert frame.loc["n3", "eligibility_note"].startswith("hospitality house:")
    # "Family House Restaurant" (amenity=restaurant) and a museum are not lodging.
    assert ext.skipped_open_ways == 1  # way 300
    assert ext.skipped_no_location == 1  # way 400 refers to a node missing from the file
    assert ext.skipped_relations == 1  # multipolygon relation 500


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"tourism": "apartment", "name": "Suites"}, "apartment"),
        ({"tourism": "chalet"}, "chalet"),
        ({"tourism": "camp_site", "name": "Camp"}, None),
        ({"name": "Ronald McDonald-House Charities"}, "hospitality_house"),
        ({"name": "Hope Lodge", "highway": "residential"}, None),
        ({"building": "yes", "name": "Hospitality House of Testville"}, "hospitality_house"),
        ({"amenity": "social_facility", "social_facility:for": "senior"}, None),
        ({"tourism": "hotel", "name": "Lodge Court Hotel"}, "hotel"),
        ({"shop": "gift", "name": "Family House Gifts"}, None),
    ],
)
def test_classification_rule(tags: dict[str, str], kind: str | None):
    assert classify(tags) == kind


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(ValidationError, match="not found"):
        scan_lodging(tmp_path / "nope.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a pbf")
    with pytest.raises(ValidationError, match=r"bad\.osm\.pbf"):
        scan_lodging(bad)


# --- caches ---------------------------------------------------------------------------------------
def _forbid_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(lodging_store, "scan_lodging", boom)


def test_pbf_cache_is_reused_and_invalidated(tmp_path: Path, settings: Settings, monkeypatch):
    src = tmp_path / "tiny.osm"
    shutil.copy(DATA / "tiny.osm", src)
    first = lodging_from_pbfs([src], settings=settings)
    files = list((settings.cache_dir / "lodging").rglob("lodging.geojson"))
    assert len(files) == 1
    with monkeypatch.context() as m:
        _forbid_scan(m)
        again = lodging_from_pbfs([src], settings=settings)
    assert_geodataframe_equal(first, again)
    # A changed extract is read again.
    src.write_text(src.read_text().replace("Tiny Inn", "Tiny Inn Renamed"))
    changed = lodging_from_pbfs([src], settings=settings)
    assert "Tiny Inn Renamed" in set(changed["name"])


def _fake_graph(
    tmp_path: Path, settings: Settings, source: Path, name: str = "tiny"
) -> GraphManifest:
    """A graph folder with only a manifest (no tiles are needed to store lodging)."""
    import shapely

    from geo.checksums import sha256_of

    folder = settings.cache_dir / "graphs" / name
    folder.mkdir(parents=True)
    manifest = GraphManifest(
        name=name,
        path=folder,
        sources=(source.name,),
        source_sha256=(sha256_of(source),),
        osm_date="2024-03-01",
        covered_area=shapely.box(-81, 39, -79, 41),
        tile_count=0,
        tiles_bytes=0,
        built_at="2024-03-02T00:00:00Z",
        valhalla_version="",
    )
    (folder / "manifest.json").write_text(json.dumps(manifest.to_json()))
    return manifest


def test_lodging_stored_next_to_graph(tmp_path: Path, settings: Settings, monkeypatch):
    src = tmp_path / "osm" / "tiny.osm"
    src.parent.mkdir()
    shutil.copy(DATA / "tiny.osm", src)
    data_settings = settings.with_(data_dir=tmp_path)
    manifest = _fake_graph(tmp_path, data_settings, src)
    # Found by file name in <data_dir>/osm, stored in the graph folder.
    frame = lodging_for_graph("tiny", settings=data_settings)
    assert len(frame) == 3
    assert (manifest.path / "lodging.geojson").is_file()
    meta = json.loads((manifest.path / "lodging.meta.json").read_text())
    assert meta["rows"] == 3 and meta["source_sha256"] == list(manifest.source_sha256)
    # The features' own date is kept when they have one.
    assert set(frame["data_date"]) == {"2024-02-15"}
    with monkeypatch.context() as m:
        _forbid_scan(m)
        assert_geodataframe_equal(lodging_for_graph(manifest, settings=data_settings), frame)
        assert_geodataframe_equal(lodging_for_graph(manifest.path, settings=data_settings), frame)


def test_graph_lodging_needs_the_graphs_own_extracts(tmp_path: Path, settings: Settings):
    src = tmp_path / "tiny.osm"
    shutil.copy(DATA / "tiny.osm", src)
    manifest = _fake_graph(tmp_path, settings, src)
    # Not in <data_dir>/osm: the user must say where the extracts are.
    with pytest.raises(EngineNotAvailableError, match="--pbf"):
        lodging_for_graph(manifest, settings=settings)
    with pytest.raises(ValidationError, match="not the ones graph 'tiny' was built from"):
        lodging_for_graph(manifest, pbfs=[DATA / "edge_cases.osm"], settings=settings)
    assert len(lodging_for_graph(manifest, pbfs=[src], settings=settings)) == 3
    with pytest.raises(EngineNotAvailableError, match="no road graph"):
        lodging_for_graph("missing-graph", settings=settings)


def test_demo_lodging_without_building_tiles(settings: Settings):
    frame = lodging_for_graph("demo", settings=settings)
    assert len(frame) == 16
    assert not (settings.cache_dir / "graphs" / "demo").exists()  # no Valhalla build for this
    assert set(frame["kind"]) == {"hotel"}


def test_graph_date_fills_only_rows_whose_file_has_no_timestamps():
    """Columbus carries no timestamps, Harrisburg does: only Columbus rows take the graph's date."""
    from types import SimpleNamespace

    ext = scan_lodging([OSM / "harrisburg.osm.pbf", OSM / "columbus.osm.pbf"])
    dated = lodging_store.dated_by_graph(ext, SimpleNamespace(osm_date="2015-02-07"))
    dates = dated.frame.groupby(dated.frame["osm_id"].str[0])["data_date"].agg(set)
    assert dates["n"] == {"2014-06-30"} and dates["w"] == {"2015-02-07"}
    assert dated.data_date == "2014-06-30"  # the newest lodging timestamp read stays the claim
    assert set(ext.frame["data_date"]) == {"2014-06-30", ""}  # the input is not modified
