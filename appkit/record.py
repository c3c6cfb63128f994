"""A printable record of one lodging check (HTML; the browser prints it to PDF)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from geo.rules import ProximityRule
from geo.types import PRECISION_MEANING, EngineInfo, GeocodeResult, Precision
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


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


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
            f"{rec.geocode.point.lat:.5f}, {rec.geocode.point.lon:.5f} — {precision.value}: "
            f"{PRECISION_MEANING[precision]} (source: {rec.geocode.source})",
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
        ("Minutes to spare", format_minutes(rec.spare_min)),
        ("Basis", rec.basis or "—"),
        ("Verdict", VERDICT_TEXT.get(rec.verdict, rec.verdict)),
        ("Reason", rec.reason or "—"),
        ("Rule", f"{rec.rule.title or rec.rule.name}: {rec.rule.summary()}"),
        ("Rule source", rec.rule.source or "—"),
        ("Answered by", rec.answer_engine or rec.engine.label),
        ("Routing engine", rec.engine_description),
        (
            "Engine data version",
            "— (estimate: no road data)"
            if rec.is_estimate
            else rec.engine.data_date or rec.engine.data or "—",
        ),
        ("Estimate?", "yes — approximate" if rec.is_estimate else "no — routed"),
        ("Site set", rec.site_set),
    ]
    if rec.geocode.note:
        rows.append(("Location note", rec.geocode.note))
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
<footer>Made with trialreach. Road data © OpenStreetMap contributors where a local graph or
openrouteservice was used; ZIP/city centroids from GeoNames. Print this page (Ctrl+P) to save it
as PDF.</footer>
</body></html>
"""
