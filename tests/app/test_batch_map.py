"""The batch map: one dot per located row in verdict colours, estimates ringed, clusters offline.

The expected counts come from the input frame (pandas), not from the builder; the rendered HTML is
searched for what must and must not be there (CDN links, hostile text, columns not shown).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from folium.plugins import MarkerCluster

from geo.errors import ValidationError
from geo.mapping import ESTIMATE_COLOR, batch_map
from geo.mapping.batch import CLUSTER_OVER
from geo.wording import VERDICT_COLORS

EVIL = '<img src=x onerror="alert(1)">${alert(2)}`'
SECRET = "742 Evergreen Terrace"


def _walk(node: object) -> list[object]:
    out: list[object] = []
    for child in node._children.values():  # type: ignore[attr-defined]
        out.append(child)
        out.extend(_walk(child))
    return out


def _places(m: folium.Map) -> dict[str, folium.GeoJson]:
    return {
        g.layer_name: g
        for g in _walk(m)
        if type(g) is folium.GeoJson and str(g.layer_name).startswith("Places: ")
    }


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["A", "B"], "name": [f"Site {EVIL}", "Second & Co"]},
        geometry=[shapely.Point(-83.0, 40.0), shapely.Point(-82.5, 40.3)],
        crs="EPSG:4326",
    )


def _batch(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    verdict = rng.choice(["within", "borderline", "outside", "unknown"], n, p=[0.5, 0.1, 0.3, 0.1])
    located = rng.random(n) > 0.1
    xy = np.c_[-83.0 + rng.normal(0, 0.4, n), 40.0 + rng.normal(0, 0.4, n)]
    geoms = np.where(located, shapely.points(xy), None)
    return gpd.GeoDataFrame(
        {
            "row": np.arange(1, n + 1),
            "place": [f"{EVIL} #{i}" for i in range(n)],
            "address_line": SECRET,  # a column the map must not show
            "verdict": verdict,
            "drive_min": np.where(verdict == "unknown", np.nan, rng.uniform(10, 200, n)),
            "engine": np.where(rng.random(n) < 0.2, "estimate", "osrm · demo"),
        },
        geometry=list(geoms),
        crs="EPSG:4326",
    )


def test_small_batch_one_dot_per_located_row_by_verdict(sites) -> None:
    results = _batch(40)
    assert len(results) <= CLUSTER_OVER
    m = batch_map(results, sites, tiles="none")
    assert not [c for c in _walk(m) if isinstance(c, MarkerCluster)]
    assert "cluster-note" not in m.get_root().render()
    layers = _places(m)
    located = results[~results.geometry.isna()]
    expected = located["verdict"].value_counts().to_dict()
    assert {k.removeprefix("Places: "): len(g.data["features"]) for k, g in layers.items()} == (
        expected
    )
    for key, layer in layers.items():
        verdict = key.removeprefix("Places: ")
        rows = located[located["verdict"] == verdict]
        feats = layer.data["features"]
        # the estimate flag follows the engine column row by row
        assert [f["properties"]["estimated"] for f in feats] == (
            rows["engine"] == "estimate"
        ).tolist()
        for f in feats:
            style = layer.style_function(f)
            assert style["fillColor"] == VERDICT_COLORS[verdict]
            if f["properties"]["estimated"]:
                assert style["color"] == ESTIMATE_COLOR and style["dashArray"]
                assert f["properties"]["label"].endswith("(ESTIMATE)")
            else:
                assert style["dashArray"] is None and "ESTIMATE" not in f["properties"]["label"]


def test_many_rows_are_clustered_offline_with_verdict_pies(sites) -> None:
    results = _batch(400)
    m = batch_map(results, sites, tiles="none")
    (cluster,) = [c for c in _walk(m) if isinstance(c, MarkerCluster)]
    layers = _places(m)
    assert all(g._parent is cluster for g in layers.values())
    n_located = int((~results.geometry.isna()).sum())
    assert sum(len(g.data["features"]) for g in layers.values()) == n_located
    html = m.get_root().render()
    assert "cdnjs" not in html and "unpkg" not in html
    assert all(src.startswith("data:") for _, src in cluster.default_js + cluster.default_css)
    assert "L.markerClusterGroup" in html and "conic-gradient" in html
    for v in ("within", "borderline", "outside", "unknown"):
        assert VERDICT_COLORS[v] in html  # the pie colours are the verdict table's
    assert "cluster-note" in html


def test_verdict_filter_draws_only_those_and_says_what_is_hidden(sites) -> None:
    results = _batch(80, seed=3)
    m = batch_map(results, sites, tiles="none", verdicts=["outside", "unknown"])
    layers = _places(m)
    assert set(layers) <= {"Places: outside", "Places: unknown"}
    located = results[~results.geometry.isna()]
    shown = located["verdict"].isin(["outside", "unknown"])
    assert sum(len(g.data["features"]) for g in layers.values()) == int(shown.sum())
    assert not [c for c in _walk(m) if isinstance(c, MarkerCluster)] or shown.sum() > CLUSTER_OVER
    html = m.get_root().render()
    n_within = int((located["verdict"] == "within").sum())
    assert f"0 of {n_within:,} shown" in html
    assert f"{int((~shown).sum()):,} place(s) hidden by the verdict filter" in html
    with pytest.raises(ValidationError, match="unknown verdict"):
        batch_map(results, sites, verdicts=["inside"])


def test_hostile_text_escaped_and_no_other_column_reaches_the_map(sites) -> None:
    for n in (10, 200):  # plain and clustered
        html = batch_map(_batch(n), sites, tiles="none").get_root().render()
        assert EVIL not in html
        assert "<img src=x" not in html
        assert "${alert(2)}" not in html
        assert SECRET not in html


def test_empty_and_unlocated_batches_still_draw_the_sites(sites) -> None:
    results = _batch(5)
    results["geometry"] = None
    m = batch_map(results, sites, tiles="none")
    assert _places(m) == {}
    assert "Second &amp; Co" in m.get_root().render()
