"""A printable record of one lodging check (HTML; the browser prints it to PDF)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from geo.rules import ProximityRule
from geo.types import (
    PRECISION_MEANING,
    EngineInfo,
    GeocodeResult,
    Precision,
    reason_beside_location,
)
from geo.wording import VERDICT_COLORS, format_minutes

VERDICT_TEXT = {
    "within": "Within the rule",
    "borderline": "Borderline — within the limit but with little to spare",
    "outside": "Outside the rule",
    "unknown": "Unknown — no trustworthy drive time",
}


@dataclass(frozen=True)
class CheckRecord:
    """Everything a monitor wants in the trial file about one check."""

    checked_at: datetime
    address: str
    geocode: GeocodeResult
    rule: ProximityRule
    verdict: str
    drive_min: float
    spare_min: float
    site_name: str
    site_id: str
    site_address: str
    basis: str
    reason: str
    engine: EngineInfo
    engine_description: str
    site_set: str
    route_note: str = ""
    margin_min: float | None = None
    """The margin the verdict used (the rule's, or wider for an estimate); None: the rule's."""
    answer_engine: str = ""
    """The engine that produced this answer (per row: under ``auto`` it may be the estimate)."""
    answer_is_estimate: bool | None = None
    """Whether this answer is an estimate; None: as ``engine`` says."""
    route_drive_min: float | None = None
    """Drive time of the route drawn on the map, when the verdict itself carried none."""
    site_lonlat: tuple[float, float] | None = None
    """The nearest site's (lon, lat), for the record's map; None: no site."""
    route_lonlat: tuple[tuple[float, float], ...] = ()
    """The route drawn (lon, lat vertices, simplified), for the record's map; empty: none."""
    route_on_roads: bool = True
    """Whether the line drawn follows roads (False: the estimate's straight line)."""

    @property
    def is_estimate(self) -> bool:
        """Whether the verdict rests on an estimated drive time."""
        if self.answer_is_estimate is not None:
            return self.answer_is_estimate
        return self.engine.is_estimate

    @property
    def used_margin_min(self) -> float:
        """The safety margin the verdict was judged with (minutes)."""
        if self.margin_min is not None and math.isfinite(self.margin_min):
            return self.margin_min
        return self.rule.margin_min

    @classmethod
    def from_answer(cls, row: pd.Series, **context: Any) -> CheckRecord:
        """A record whose verdict fields all come from one answer row of ``check()``.

        Parameters
        ----------
        row
            One row of :func:`geo.proximity.check` (``verdict``, ``drive_min``, ``spare_min``,
            ``margin_min`` in minutes, ``nearest_site``, ``nearest_site_id``, ``basis``,
            ``engine``, ``reason``; an ``estimated`` column when present).
        **context
            The fields that describe the check rather than the answer: ``checked_at``,
            ``address``, ``geocode``, ``rule``, ``site_address``, ``engine``,
            ``engine_description``, ``site_set``, ``route_note``, ``route_drive_min``.
        """
        engine_label = str(row.get("engine", "") or "")
        basis = str(row.get("basis", "") or "")
        if "estimated" in row.index and not pd.isna(row["estimated"]):
            estimated = bool(row["estimated"])
        else:
            estimated = "estimate" in engine_label.lower() or basis.lower().startswith("estimate")
        return cls(
            verdict=str(row["verdict"]),
            drive_min=float(row["drive_min"]),
            spare_min=float(row["spare_min"]),
            margin_min=float(row["margin_min"]),
            site_name=str(row["nearest_site"]),
            site_id=str(row["nearest_site_id"]),
            basis=basis,
            reason=str(row.get("reason", "") or ""),
            answer_engine=engine_label,
            answer_is_estimate=estimated,
            **context,
        )


def _answer_data(answer_engine: str) -> str:
    """The road data of the engine that answered: the part of its label after ``" · "``
    (``osrm · OSM extract demo of 2015-02-07`` → ``OSM extract demo of 2015-02-07``), so the
    record does not repeat "Answered by" as the data version; "" if the label has none."""
    _, sep, data = answer_engine.partition(" · ")
    return data.strip() if sep else ""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


SVG_W, SVG_H, SVG_PAD = 520, 320, 28
"""Size of the record's map in CSS px, and the margin kept around what it shows."""


def route_vertices(line: Any, max_points: int = 400) -> tuple[tuple[float, float], ...]:
    """(lon, lat) vertices of a route line for the record, simplified to at most ~``max_points``."""
    import shapely

    if line is None or line.is_empty:
        return ()
    tol = 0.0
    simple = line
    while shapely.get_num_coordinates(simple) > max_points:
        tol = tol * 2 if tol else 1e-4
        simple = shapely.simplify(line, tol)
    xy = shapely.get_coordinates(simple)
    return tuple((float(x), float(y)) for x, y in xy)


def _label(x: float, y: float, text: str) -> str:
    """A point's label beside it, on the side with room (a label never runs off the map)."""
    left = x > SVG_W / 2
    anchor = "end" if left else "start"
    tx = x - 9 if left else x + 9
    return (
        f'<text x="{tx:.1f}" y="{y + 4:.1f}" font-size="12" fill="#1f2328" '
        f'text-anchor="{anchor}">{_e(text)}</text>'
    )


def record_svg(rec: CheckRecord) -> str:
    """An inline SVG map of the place, the site and the route (no tiles, no scripts).

    Coordinates are projected equirectangularly around the centre latitude (x scaled by
    cos(latitude)), which is true to a fraction of a percent over a two-hour drive; a scale bar
    in km is drawn from the same projection.
    """
    pts = [(rec.geocode.point.lon, rec.geocode.point.lat)]
    if rec.site_lonlat is not None:
        pts.append(rec.site_lonlat)
    route = np.asarray(rec.route_lonlat, dtype=float).reshape(-1, 2)
    every = np.vstack([np.asarray(pts, dtype=float), route])
    lat0 = float(np.deg2rad(every[:, 1].mean()))
    km_x = 111.32 * math.cos(lat0)  # km per degree of longitude here
    km_y = 110.57
    xy_km = np.column_stack([every[:, 0] * km_x, every[:, 1] * km_y])
    lo, hi = xy_km.min(axis=0), xy_km.max(axis=0)
    span = np.maximum(hi - lo, 1.0)  # at least 1 km across
    scale = min((SVG_W - 2 * SVG_PAD) / span[0], (SVG_H - 2 * SVG_PAD) / span[1])  # px per km
    mid = (lo + hi) / 2

    def project(lonlat: np.ndarray) -> np.ndarray:
        k = np.column_stack([lonlat[:, 0] * km_x, lonlat[:, 1] * km_y])
        px = SVG_W / 2 + (k[:, 0] - mid[0]) * scale
        py = SVG_H / 2 - (k[:, 1] - mid[1]) * scale
        return np.column_stack([px, py])

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" '
        f'viewBox="0 0 {SVG_W} {SVG_H}" role="img" aria-label="Map of the place, the site and '
        f'the route" data-testid="record-map" style="border:1px solid #d0d7de;background:#f6f4ef">'
    ]
    if len(route) >= 2:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in project(route))
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#0a3069" stroke-width="3" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    place_xy = project(np.asarray([pts[0]], dtype=float))[0]
    parts.append(
        f'<circle cx="{place_xy[0]:.1f}" cy="{place_xy[1]:.1f}" r="6" fill="#8250df" '
        'stroke="#fff" stroke-width="2"/>'
        f"{_label(place_xy[0], place_xy[1], 'Place checked')}"
    )
    if rec.site_lonlat is not None:
        sx, sy = project(np.asarray([rec.site_lonlat], dtype=float))[0]
        parts.append(
            f'<rect x="{sx - 6:.1f}" y="{sy - 6:.1f}" width="12" height="12" fill="#0a3069" '
            'stroke="#fff" stroke-width="2"/>'
            f"{_label(sx, sy, rec.site_name or 'Site')}"
        )
    # Scale bar: a round number of km near a fifth of the width.
    target = (SVG_W / 5) / scale
    bar_km = float(10 ** math.floor(math.log10(target)))
    bar_km = max([bar_km] + [bar_km * f for f in (2.0, 5.0) if bar_km * f <= target])
    bar_px = bar_km * scale
    parts.append(
        f'<line x1="12" y1="{SVG_H - 12}" x2="{12 + bar_px:.1f}" y2="{SVG_H - 12}" '
        'stroke="#1f2328" stroke-width="2"/>'
        f'<text x="12" y="{SVG_H - 17}" font-size="11" fill="#1f2328">{bar_km:g} km</text>'
    )
    if len(route) >= 2 and rec.route_on_roads:
        parts.append(
            f'<text x="{SVG_W - 8}" y="{SVG_H - 8}" font-size="10" fill="#57606a" '
            'text-anchor="end">Route: OpenStreetMap data</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _line_caption(rec: CheckRecord) -> str:
    if not rec.route_lonlat:
        return ""
    if rec.route_on_roads:
        return "; line: the driving route"
    return "; line: a straight line for orientation, not a road route (the drive is estimated)"


def record_html(rec: CheckRecord) -> str:
    """A self-contained HTML page (no scripts, no external resources) for printing or filing."""
    precision = Precision(rec.geocode.precision)
    margin = f"{rec.used_margin_min:g} min"
    if rec.used_margin_min > rec.rule.margin_min:
        margin += f": the rule's {rec.rule.margin_min:g} min, widened for this answer"
    rows = [
        ("Date of check", rec.checked_at.strftime("%Y-%m-%d %H:%M")),
        ("Place checked", rec.address),
        (
            "Location used",
            f"{rec.geocode.point.lat:.5f}, {rec.geocode.point.lon:.5f} — "
            f"{PRECISION_MEANING[precision]}"
            # The meaning names the precision ("ZIP code centroid: ..."); the source only
            # when it says more than that ("coordinates — coordinates as given: exact").
            + (f" (source: {rec.geocode.source})" if rec.geocode.source != precision else ""),
        ),
        ("Nearest study site", f"{rec.site_name} ({rec.site_id})" if rec.site_id else "—"),
        ("Site address", rec.site_address or "—"),
        ("Drive time", format_minutes(rec.drive_min)),
        *(
            [("Drive time of the route drawn", format_minutes(rec.route_drive_min))]
            if rec.route_drive_min is not None and math.isfinite(rec.route_drive_min)
            else []
        ),
        ("Limit", f"{format_minutes(rec.rule.max_drive_min)} (margin {margin})"),
        # As the card says it: never a negative "to spare".
        (
            ("Minutes to spare", format_minutes(rec.spare_min))
            if not rec.spare_min < 0
            else ("Over the limit by", format_minutes(-rec.spare_min))
        ),
        ("Basis", rec.basis or "—"),
        ("Verdict", VERDICT_TEXT.get(rec.verdict, rec.verdict)),
        # The caveat of an approximate place is in "Location used": said once.
        ("Reason", reason_beside_location(rec.reason, precision) or "—"),
        ("Rule", f"{rec.rule.title or rec.rule.name}: {rec.rule.summary()}"),
        ("Rule source", rec.rule.source or "—"),
        ("Answered by", rec.answer_engine or rec.engine.label),
        ("Routing engine", rec.engine_description),
        (
            "Engine data version",
            "— (estimate: no road data)"
            if rec.is_estimate
            else rec.engine.data_date or _answer_data(rec.answer_engine) or rec.engine.data or "—",
        ),
        ("Estimate?", "yes — approximate" if rec.is_estimate else "no — routed"),
        ("Site set", rec.site_set),
    ]
    location_note = rec.geocode.location_note()
    if location_note:
        rows.append(("Location note", location_note))
    if rec.route_note:
        rows.append(("Route note", rec.route_note))
    body = "\n".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    colour = VERDICT_COLORS.get(rec.verdict, "#57606a")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>trialreach check — {_e(rec.checked_at.strftime("%Y-%m-%d"))}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
  color: #1f2328; }}
h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }}
.verdict {{ font-size: 1.2rem; font-weight: 700; color: {colour}; border: 2px solid {colour};
  padding: .5rem .8rem; display: inline-block; border-radius: 6px; margin: .8rem 0; }}
table {{ border-collapse: collapse; width: 100%; max-width: 52rem; }}
th, td {{ text-align: left; vertical-align: top; padding: .35rem .6rem;
  border-bottom: 1px solid #d0d7de; }}
th {{ width: 14rem; color: #57606a; font-weight: 600; }}
footer {{ margin-top: 1.5rem; color: #57606a; font-size: .85rem; }}
@media print {{ body {{ margin: 1cm; }} }}
</style></head>
<body>
<h1>Drive-time check for the trial file</h1>
<div class="verdict">{_e(VERDICT_TEXT.get(rec.verdict, rec.verdict))}</div>
<table>
{body}
</table>
<h2 style="font-size:1.05rem;margin-top:1.2rem">Map</h2>
{record_svg(rec)}
<p style="color:#57606a;font-size:.85rem;margin:.3rem 0 0 0">Purple dot: the place checked;
square: the study site{_line_caption(rec)}.</p>
<h2 style="font-size:1.05rem;margin-top:1.2rem">Filing</h2>
<p style="color:#57606a;font-size:.85rem;margin:.2rem 0 .6rem 0">Type these before printing:
they stay on this page (this file is not sent anywhere and trialreach does not keep them).</p>
<table class="filing">
<tr><th><label for="participant">Participant ID</label></th>
<td><input id="participant" name="participant" autocomplete="off"
 style="width:18rem;border:0;border-bottom:1px solid #57606a;font:inherit"></td></tr>
<tr><th><label for="study">Study ID</label></th>
<td><input id="study" name="study" autocomplete="off"
 style="width:18rem;border:0;border-bottom:1px solid #57606a;font:inherit"></td></tr>
<tr><th>Checked by (signature)</th><td style="height:2.4rem">&nbsp;</td></tr>
<tr><th>Date</th><td style="height:2.4rem">&nbsp;</td></tr>
</table>
<footer>Made with trialreach. Road data © OpenStreetMap contributors where a local graph or
openrouteservice was used; ZIP/city centroids from GeoNames. Print this page (Ctrl+P) to save it
as PDF.</footer>
</body></html>
"""
