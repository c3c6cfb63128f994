"""Names with markup, script or template-literal syntax end up in maps only as text.

The reference is the rendered HTML itself: inside every JavaScript template literal folium
writes (`` `…` ``) there must be no backtick, no ``${`` and no backslash from the data, and no
``<`` that starts a tag. (The browser test in tests/browser proves the same in Chromium.)
"""

from __future__ import annotations

import re

import geopandas as gpd
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Point

from geo.mapping import coordinator_map, coverage_map, esc, patient_map
from geo.types import LonLat

PAYLOADS = [
    "${window.__pwned=1}",
    "`+(window.__pwned=2)+`",
    "</script><script>window.__pwned=3</script>",
    '<img src=x onerror="window.__pwned=4">',
    "\\`${window.__pwned=5}",
    "\\x3cimg src=x onerror=window.__pwned=6>",
    "[/x] =1+1 @SUM(A1)",
]
MARK = "ZQX"  # the hostile text is framed by this marker so the test can find it


def _sites(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": [f"S{i}" for i in range(len(names))],
            "name": names,
            "institution": names,
            "address": names,
            "city": "Columbus",
            "state": "OH",
            "zip": "43210",
        },
        geometry=[Point(-83.0 + 0.01 * i, 39.99) for i in range(len(names))],
        crs="EPSG:4326",
    )


def _literals(html: str) -> list[str]:
    """The content of every JavaScript template literal in the page's scripts."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    found: list[str] = []
    for script in scripts:
        found += re.findall(r"`((?:[^`\\]|\\.)*)`", script, flags=re.S)
    return found


def _assert_inert(html: str, n_payloads: int) -> None:
    hits = [lit for lit in _literals(html) if MARK in lit]
    assert hits, "the hostile names should appear in tooltips and popups"
    for lit in hits:
        for piece in lit.split(MARK)[1::2]:  # the text between markers is the data
            assert "`" not in piece and "${" not in piece and "\\" not in piece, piece
            assert not re.search(r"<[a-zA-Z/!]", piece), piece
    assert html.count("__pwned") >= n_payloads  # present, as escaped text


def test_hostile_site_and_place_names_are_inert() -> None:
    names = [f"{MARK}{p}{MARK}" for p in PAYLOADS]
    m = coordinator_map(
        _sites(names),
        place=LonLat(-83.01, 39.98),
        place_label=names[0],
        lodging=gpd.GeoDataFrame(
            {"name": names[:3], "verdict": "within"},
            geometry=[Point(-83.02, 39.97)] * 3,
            crs="EPSG:4326",
        ),
        tiles="none",
    )
    _assert_inert(m.get_root().render(), len(PAYLOADS))
    ranked = _sites(names)
    ranked["verdict"] = "within"
    ranked["drive_min"] = 10.0
    m2 = patient_map(LonLat(-83.01, 39.98), ranked, place_label=names[1], tiles="none")
    _assert_inert(m2.get_root().render(), len(PAYLOADS))


def test_coverage_labels_are_escaped() -> None:
    units = gpd.GeoDataFrame(
        {
            "name": [f"{MARK}{p}{MARK}" for p in PAYLOADS],
            "population": 100,
            "within_rule": True,
        },
        geometry=[Point(-83.0, 39.9 + 0.01 * i) for i in range(len(PAYLOADS))],
        crs="EPSG:4326",
    )
    units["within_rule"] = units["within_rule"].astype("boolean")
    html = coverage_map(units, _sites(["A"]), tiles="none").get_root().render()
    assert "<img src=x" not in html and "\\u003cimg src=x" not in html
    assert "&lt;img src=x" in html or "\\u0026lt;img src=x" in html
    assert "${window" not in html


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_esc_leaves_nothing_active(text: str) -> None:
    out = esc(text)
    assert not set(out) & set("`$\\<>\"'")
    assert "${" not in out
