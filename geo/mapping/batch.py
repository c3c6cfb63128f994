"""Batch results on a map: one dot per located row in verdict colours, estimates ringed."""

from __future__ import annotations

from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.mapping.base import _bounds_of, base_map
from geo.mapping.layers import (
    add_sites,
    estimated_mask,
)
from geo.mapping.legend import add_legend
from geo.mapping.style import (
    ESTIMATE_COLOR,
)
from geo.mapping.text import esc
from geo.wording import VERDICT_COLORS, format_minutes


def batch_map(
    results: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    tiles: str = "osm",
    boundaries: Sequence[gpd.GeoDataFrame] = (),
) -> folium.Map:
    """Batch results as dots coloured by verdict (estimated rows ringed amber) and the sites.

    ``results`` needs ``verdict`` and point geometry (rows without a location are skipped),
    optionally ``place``, ``row``, ``drive_min`` and ``engine``. All rows go into one GeoJSON
    layer per verdict (built column-wise, no per-row markers), so thousands of rows stay light.
    """
    geoms = results.geometry
    ok = (~geoms.isna() & ~geoms.is_empty).to_numpy()
    pts = results[ok]
    bounds = _bounds_of(list(pts.geometry) + list(sites.geometry))
    m = base_map(bounds, tiles, boundaries)
    if len(pts):
        verdict = pts["verdict"].astype(str).to_numpy()
        est = estimated_mask(pts)
        place = pts["place"].astype(str) if "place" in pts else pd.Series("", index=pts.index)
        row_no = pts["row"].astype(str) if "row" in pts else pd.Series("", index=pts.index)
        drive = pts["drive_min"] if "drive_min" in pts else pd.Series(np.nan, index=pts.index)
        label = [
            esc(
                f"Row {r}: {p} — {v}"
                + (f", {format_minutes(d)}" if np.isfinite(d) else "")
                + (" (ESTIMATE)" if e else "")
            )
            for r, p, v, d, e in zip(
                row_no, place, verdict, drive.to_numpy(float), est, strict=True
            )
        ]
        data = gpd.GeoDataFrame(
            {"label": label, "verdict": verdict, "estimated": est},
            geometry=pts.geometry.to_numpy(),
            crs="EPSG:4326",
        )
        for key in ("unknown", "outside", "borderline", "within"):
            part = data[data["verdict"] == key]
            if len(part) == 0:
                continue
            color = VERDICT_COLORS.get(key, "#57606a")
            folium.GeoJson(
                part.__geo_interface__,
                name=f"Places: {key}",
                style_function=lambda f, c=color: {
                    "color": ESTIMATE_COLOR if f["properties"]["estimated"] else "#ffffff",
                    "weight": 2.5 if f["properties"]["estimated"] else 1,
                    "dashArray": "3 2" if f["properties"]["estimated"] else None,
                    "fillColor": c,
                    "fillOpacity": 0.9,
                },
                marker=folium.CircleMarker(radius=6, fill=True),
                tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
            ).add_to(m)
    add_sites(m, sites)
    rows = ["<b>Places</b>"] + [
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'background:{VERDICT_COLORS[v]};margin-right:5px"></span>{esc(v)}'
        for v in ("within", "borderline", "outside", "unknown")
    ]
    rows.append(
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'border:2px dashed {ESTIMATE_COLOR};margin-right:5px"></span>estimate (not routed)'
    )
    add_legend(m, "<br>".join(rows))
    return m
