"""The legend box and the drive-time legend (1 h / 2 h, routed vs estimate, data-edge note)."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from geo.errors import ValidationError
from geo.mapping.style import ESTIMATE_COLOR, ISOCHRONE_COLORS
from geo.mapping.text import _contour_label, esc, js_json


class _Legend(MacroElement):
    """A Leaflet control (bottom right) holding pre-escaped legend HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "trialreach-legend");
                div.setAttribute("data-testid", "map-legend");
                div.style.cssText = "background: rgba(255,255,255,.92); padding: 6px 9px; "
                    + "font: 12px/1.35 sans-serif; border-radius: 4px; "
                    + "box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 260px;";
                div.innerHTML = {{ this.content_json }};
                return div;
            };
            legend.addTo({{ this.map.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, m: folium.Map, content_html: str):
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.map = m
        # JSON with < > & escaped as \u003c etc.: the HTML cannot close the script element.
        self.content_json = js_json(content_html)


class _Note(MacroElement):
    """A plain-text note (a Leaflet control), shown at once or whenever ``layer`` is shown."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this.map.get_name() }};
            var note = L.control({position: {{ this.position_json }}});
            note.onAdd = function () {
                var div = L.DomUtil.create("div", "trialreach-note");
                div.setAttribute("data-testid", {{ this.testid_json }});
                div.style.cssText = "background: rgba(255,255,255,.92); padding: 4px 8px; "
                    + "font: 12px/1.35 sans-serif; border-radius: 4px; color: #57606a; "
                    + "box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 300px;";
                div.textContent = {{ this.text_json }};
                return div;
            };
            function show() { if (!note._map) { note.addTo(map); } }
            {%- if this.layer %}
            if (map.hasLayer({{ this.layer.get_name() }})) { show(); }
            else { {{ this.layer.get_name() }}.on("add", show); }
            {%- else %}
            show();
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        m: folium.Map,
        text: str,
        layer: folium.FeatureGroup | None,
        position: str,
        testid: str,
    ):
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Note"
        self.map = m
        self.layer = layer
        # Plain text (set as textContent), JSON with < > & escaped for the script element.
        self.text_json = js_json(text)
        self.position_json = js_json(position)
        self.testid_json = js_json(testid)


def add_note(
    m: folium.Map,
    text: str,
    *,
    when_shown: folium.FeatureGroup | None = None,
    position: str = "bottomleft",
    testid: str = "map-note",
) -> None:
    """Add a plain-text note box (any text: it is shown as text, never as HTML) unless empty.

    ``when_shown``: show it only while that layer is on the map (e.g. the offline basemap, which
    may appear only when tiles fail); ``testid`` sets ``data-testid`` for browser tests.
    """
    if position not in ("topleft", "topright", "bottomleft", "bottomright"):
        raise ValidationError(f"unknown note position {position!r}")
    if text:
        _Note(m, text, when_shown, position, testid).add_to(m)


def isochrone_legend_html(isochrones: gpd.GeoDataFrame, *, edge_drawn: bool = False) -> str:
    """Legend rows for drawn drive-time areas: one swatch per contour, routed vs estimate.

    Swatches use the colours :func:`add_isochrones` draws with; an estimated area is a dashed
    swatch labelled "estimate"; areas cut by the end of the road data get a note.
    """
    geoms = isochrones.geometry
    iso = isochrones[(~geoms.isna() & ~geoms.is_empty).to_numpy()]
    if len(iso) == 0:
        return ""
    contours = sorted({float(v) for v in iso["minutes"]})
    approx = (
        iso["approximate"].fillna(False).astype(bool).to_numpy()
        if "approximate" in iso
        else np.zeros(len(iso), dtype=bool)
    )
    minutes_col = iso["minutes"].astype(float).to_numpy()
    rows = ["<b>Drive-time areas</b>"]
    for i, c in enumerate(contours):
        color = ISOCHRONE_COLORS[min(i, len(ISOCHRONE_COLORS) - 1)]
        for is_est in (False, True):
            if not bool((approx[minutes_col == c] == is_est).any()):
                continue
            border = f"2px {'dashed' if is_est else 'solid'} {color}"
            kind = "ESTIMATE, not routed" if is_est else "routed on OSM roads"
            rows.append(
                f'<span style="display:inline-block;width:18px;height:10px;border:{border};'
                f'background:{color}2e;vertical-align:middle;margin-right:5px"></span>'
                f"{esc(_contour_label(c))} — {esc(kind)}"
            )
    edge = (
        bool(iso["touches_data_edge"].fillna(False).astype(bool).any())
        if "touches_data_edge" in iso
        else False
    )
    if edge:
        rows.append(
            '<span data-testid="edge-note" style="color:#9a6700">&#9888; Straight, blocky edges: '
            "the road data ends there; the real area is larger.</span>"
        )
    if edge_drawn:
        rows.append(
            '<span style="display:inline-block;width:18px;height:0;vertical-align:middle;'
            f'border-top:4px dashed {ESTIMATE_COLOR};margin-right:5px"></span>'
            "where the road data ends (area cut short)"
        )
    return "<br>".join(rows)


def add_legend(m: folium.Map, content_html: str) -> None:
    """Add a legend box (``content_html`` must already be escaped) unless it is empty."""
    if content_html:
        _Legend(m, content_html).add_to(m)
