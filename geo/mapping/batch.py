"""Batch results on a map: one dot per located row in verdict colours, estimates ringed amber.

A few dozen rows are drawn as they are; above :data:`CLUSTER_OVER` rows the dots are grouped by
Leaflet.markercluster (inlined from ``xstatic-leaflet-markercluster``, nothing from a CDN), each
group drawn as a small pie of its verdict colours with the count in the middle and a dashed amber
ring when it holds an estimate, so a green group can never hide a red or an estimated row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from geo.errors import ValidationError
from geo.mapping.assets import markercluster_assets
from geo.mapping.base import _bounds_of, base_map
from geo.mapping.layers import add_sites, estimated_mask, places_pane
from geo.mapping.legend import add_legend
from geo.mapping.style import ESTIMATE_COLOR
from geo.mapping.text import esc, js_json
from geo.wording import VERDICT_COLORS, format_minutes

VERDICT_ORDER = ("within", "borderline", "outside", "unknown")
"""Verdicts as the legend and the cluster pies list them."""

CLUSTER_OVER = 50
"""More located rows than this are clustered."""


class _BindLabels(MacroElement):
    """JavaScript: bind each feature's pre-escaped ``label`` as that dot's own tooltip.

    A tooltip bound to the whole GeoJSON layer would not open once the dots are handed to a
    marker cluster (the layer itself is then never on the map), so each dot gets its own.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.layer.get_name() }}.eachLayer(function (dot) {
            dot.bindTooltip(dot.feature.properties.label);
        });
        {% endmacro %}
        """
    )

    def __init__(self, layer: folium.GeoJson):
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "BindLabels"
        self.layer = layer


_CLUSTER_ICON = """function (cluster) {
    var colors = __COLORS__, order = __ORDER__, estimateColor = __ESTIMATE__;
    var n = {}, est = 0, total = 0;
    cluster.getAllChildMarkers().forEach(function (dot) {
        var p = (dot.feature && dot.feature.properties) || {};
        n[p.verdict] = (n[p.verdict] || 0) + 1;
        if (p.estimated) { est += 1; }
        total += 1;
    });
    var stops = [], words = [], acc = 0;
    order.forEach(function (v) {
        if (!n[v]) { return; }
        var from = acc;
        acc += n[v] / total * 360;
        stops.push(colors[v] + " " + from.toFixed(1) + "deg " + acc.toFixed(1) + "deg");
        words.push(n[v] + " " + v);
    });
    if (est) { words.push(est + " ESTIMATE (not routed)"); }
    var size = total < 10 ? 30 : (total < 100 ? 36 : 44);
    var ring = est ? "3px dashed " + estimateColor : "2px solid #ffffff";
    var html = '<div title="' + words.join(", ") + '" data-verdicts="' + words.join(", ")
        + '" style="width:' + size + 'px;height:' + size + 'px;border-radius:50%;'
        + 'box-sizing:border-box;border:' + ring + ';background:conic-gradient('
        + stops.join(",") + ');display:flex;align-items:center;justify-content:center;'
        + 'box-shadow:0 1px 4px rgba(0,0,0,.45)"><span style="background:#ffffff;'
        + 'border-radius:9px;min-width:16px;padding:0 4px;text-align:center;'
        + 'font:bold 11px/16px sans-serif;color:#24292f">' + total + '</span></div>';
    return L.divIcon({html: html, className: "trialreach-cluster",
                      iconSize: L.point(size, size)});
}"""


def _cluster(m: folium.Map) -> MarkerCluster:
    """A marker cluster loading its script from the inlined copy, with verdict-pie icons."""
    icon = (
        _CLUSTER_ICON.replace("__COLORS__", js_json({v: VERDICT_COLORS[v] for v in VERDICT_ORDER}))
        .replace("__ORDER__", js_json(list(VERDICT_ORDER)))
        .replace("__ESTIMATE__", js_json(ESTIMATE_COLOR))
    )
    cluster = MarkerCluster(  # type: ignore[no-untyped-call]
        name="Places",
        control=False,
        icon_create_function=icon,
        options={"maxClusterRadius": 40, "spiderfyOnMaxZoom": True, "showCoverageOnHover": False},
    )
    js, css = markercluster_assets()
    cluster.default_js = [("markerclusterjs", js)]
    cluster.default_css = [("markerclustercss", css)]
    cluster.add_to(m)
    return cluster


def _labels(pts: gpd.GeoDataFrame, verdict: np.ndarray, est: np.ndarray) -> list[str]:
    """Tooltip text per row: row number, the place as the row shows it, verdict, drive time."""
    place = pts["place"].astype(str) if "place" in pts else pd.Series("", index=pts.index)
    row_no = pts["row"].astype(str) if "row" in pts else pd.Series("", index=pts.index)
    drive = pts["drive_min"] if "drive_min" in pts else pd.Series(np.nan, index=pts.index)
    return [
        esc(
            f"Row {r}: {p} — {v}"
            + (f", {format_minutes(d)}" if np.isfinite(d) else "")
            + (" (ESTIMATE)" if e else "")
        )
        for r, p, v, d, e in zip(
            row_no, place, verdict, drive.to_numpy(float, na_value=np.nan), est, strict=True
        )
    ]


def batch_map(
    results: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
    *,
    verdicts: Collection[str] | None = None,
    cluster_over: int = CLUSTER_OVER,
) -> folium.Map:
    """Batch results as dots coloured by verdict (estimated rows ringed amber) and the sites.

    Parameters
    ----------
    results
        One row per checked place: ``verdict`` and point geometry (EPSG:4326; rows without a
        location are skipped), optionally ``place`` (the text the row shows), ``row``,
        ``drive_min`` (minutes) and ``engine``/``basis``/``estimated`` (see
        :func:`~geo.mapping.estimated_mask`). Nothing else of the row reaches the map.
    sites
        The study sites, drawn as hospital pins.
    tiles, boundaries
        The basemap (see :func:`~geo.mapping.base_map`).
    verdicts
        Only rows with these verdicts are drawn (``None``: all); the legend says what is hidden.
    cluster_over
        More drawn rows than this are clustered (verdict-pie groups that split as you zoom in).

    Returns
    -------
    folium.Map
        One GeoJSON layer per verdict (``"Places: within"`` …), built column-wise, so thousands of
        rows stay light; the map frames the drawn rows and the sites.
    """
    if verdicts is not None:
        unknown = sorted(set(verdicts) - set(VERDICT_ORDER))
        if unknown:
            raise ValidationError(
                f"unknown verdict(s) {', '.join(map(repr, unknown))}; "
                f"choose from: {', '.join(VERDICT_ORDER)}"
            )
    geoms = results.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    all_verdicts = results["verdict"].astype(str).to_numpy()
    shown = ok if verdicts is None else ok & np.isin(all_verdicts, list(verdicts))
    pts = results[shown]
    bounds = _bounds_of(list(pts.geometry) + list(sites.geometry))
    m = base_map(bounds, tiles, boundaries)
    verdict = all_verdicts[shown]
    est = estimated_mask(pts)
    clustered = len(pts) > cluster_over
    pane = places_pane(m)  # above the site pins: a lodging at the hospital stays visible
    parent: folium.Map | MarkerCluster = _cluster(m) if clustered else m
    if len(pts):
        data = gpd.GeoDataFrame(
            {"label": _labels(pts, verdict, est), "verdict": verdict, "estimated": est},
            geometry=pts.geometry.to_numpy(),
            crs="EPSG:4326",
        )
        for key in reversed(VERDICT_ORDER):  # "within" last, so drawn on top
            part = data[data["verdict"] == key]
            if len(part) == 0:
                continue
            color = VERDICT_COLORS.get(key, "#57606a")
            layer = folium.GeoJson(
                part.__geo_interface__,
                name=f"Places: {key}",
                style_function=lambda f, c=color: {
                    "color": ESTIMATE_COLOR if f["properties"]["estimated"] else "#ffffff",
                    "weight": 2.5 if f["properties"]["estimated"] else 1,
                    "dashArray": "3 2" if f["properties"]["estimated"] else None,
                    "fillColor": c,
                    "fillOpacity": 0.9,
                    "pane": pane,
                },
                marker=folium.CircleMarker(radius=6, fill=True),
            )
            layer.add_to(parent)
            _BindLabels(layer).add_to(m)
    add_sites(m, sites)
    add_legend(m, _legend_html(all_verdicts[ok], estimated_mask(results[ok]), shown[ok], clustered))
    return m


def _legend_html(verdict: np.ndarray, est: np.ndarray, shown: np.ndarray, clustered: bool) -> str:
    """Legend rows: each verdict with its colour and count (hidden ones said), estimates, sites."""
    dot = "display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;"
    rows = ["<b>Places</b>"]
    for v in VERDICT_ORDER:
        n_all = int((verdict == v).sum())
        n_shown = int(((verdict == v) & shown).sum())
        if n_all == 0:
            continue
        note = f"{n_shown:,}" if n_shown == n_all else f"{n_shown:,} of {n_all:,} shown"
        rows.append(f'<span style="{dot}background:{VERDICT_COLORS[v]}"></span>{esc(v)} ({note})')
    n_est = int((est & shown).sum())
    rows.append(
        f'<span style="{dot}border:2px dashed {ESTIMATE_COLOR};box-sizing:border-box"></span>'
        f"ESTIMATE, not routed ({n_est:,})"
    )
    if clustered:
        rows.append(
            '<span data-testid="cluster-note">Circles with a number: nearby places grouped '
            "(pie of their verdicts; dashed amber if any is an estimate). Zoom in or click to "
            "separate.</span>"
        )
    hidden = int((~shown).sum())
    if hidden:
        rows.append(f"<i>{hidden:,} place(s) hidden by the verdict filter.</i>")
    return "<br>".join(rows)
