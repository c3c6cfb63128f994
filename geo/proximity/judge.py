"""The verdict rule: drive times (or bounds on them) against a proximity rule, with the reasons.

One rule for every face and every question: :func:`geo.proximity.check` (each place to its
nearest site) and :func:`geo.proximity.rank_sites` (one place to each site) both call
:func:`judge`, so the same pair gets the same verdict and the same reason from both.

The honesty rules, in the order they apply:

1. **Bounds.** A lower bound over the limit is ``outside``; an upper bound inside the margin is
   ``within``; otherwise the bounds decide where they agree and the answer is ``unknown`` where
   they do not. An estimated time widens the margin to the estimate's error, and an estimate
   over the limit by less than that error is ``borderline`` (:meth:`ProximityRule.verdicts`).
2. **Edge of the road data.** Near the end of a graph's data a routed time is an upper bound (a
   road beyond the data could be a shortcut): ``within``/``borderline`` stand with
   :data:`EDGE_NOTE`; ``outside`` and "no route" become ``unknown`` with :data:`EDGE_REASON`.
3. **Approximate locations.** A ZIP or city centroid (the place's, or the site's point when it is
   only a city centre or ZIP code centroid) adds its plausible error
   (:data:`LOCATION_UNCERTAINTY_MIN`); a ``within`` that error could eat is ``borderline``, and
   the reason names what each point is (:data:`PLACE_POINT_WORDS`, :data:`SITE_POINT_WORDS`).
4. **Two engines.** Where a second engine's time falls on the other side of the limit, a
   confident verdict is ``borderline`` ("engines disagree").
5. **Reasons.** Every remaining ``borderline`` says why (margin, or an estimate over the limit
   within its error); how a cell was answered (``notes``) leads the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.routing.second_opinion import engine_title
from geo.rules import ProximityRule
from geo.types import BoolArray, EngineInfo, FloatArray, Precision, Verdict
from geo.wording import format_minutes

LOCATION_UNCERTAINTY_MIN: dict[str, float] = {
    Precision.ZIP.value: 10.0,
    Precision.CITY.value: 20.0,
}
"""Drive minutes a position error of that precision could plausibly add (documented guesses:
a ZIP centroid is typically a few km from an address in it, a city centroid up to ~15 km)."""

PLACE_POINT_WORDS: dict[str, str] = {
    Precision.ZIP.value: "ZIP centroid",
    Precision.CITY.value: "city centroid",
}
"""What an approximate place's point is, by precision (the reason says "the place is a ...")."""

SITE_POINT_WORDS: dict[str, str] = {
    Precision.ZIP.value: "ZIP code centroid",
    Precision.CITY.value: "city centre",
}
"""What an approximate site's point is, by precision: ClinicalTrials.gov gives city centres; a
site it gives no point for is placed at its ZIP code centroid (the reason says "the site's point
is only a ...")."""

EDGE_NOTE = "road data ends nearby; more roads could only make this drive shorter"
EDGE_REASON = (
    "road data ends near here; the result may be too short — "
    "build a road graph that covers this area"
)

type ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Judgement:
    """Verdicts, reasons and the margin used (minutes), one per judged item."""

    verdict: ObjArray
    reason: ObjArray
    margin_min: FloatArray


def uncertainty_min(precision: npt.ArrayLike) -> FloatArray:
    """Minutes of plausible error for each location precision (0 for exact points)."""
    text = np.asarray(precision, dtype=object).astype(str)
    out = np.zeros(text.shape, dtype=float)
    for kind, minutes in LOCATION_UNCERTAINTY_MIN.items():
        out[text == kind] = minutes
    return out


def judge(
    rule: ProximityRule,
    engine: EngineInfo,
    *,
    lower_s: FloatArray,
    upper_s: FloatArray,
    drive_s: FloatArray,
    estimated: BoolArray,
    edge: BoolArray,
    place_precision: npt.ArrayLike,
    site_precision: npt.ArrayLike,
    second_s: FloatArray,
    labels: npt.ArrayLike,
    second_labels: npt.ArrayLike,
    notes: npt.ArrayLike,
    no_route: str,
) -> Judgement:
    """The verdict of each item (a place and its site) from its drive time or bounds.

    Parameters
    ----------
    rule, engine
        The proximity rule and the engine that answered (its estimate error widens margins).
    lower_s, upper_s, drive_s
        Bounds on the drive time and the exact time where known (seconds, NaN unknown).
    estimated
        True where the time is an estimate.
    edge
        True where the answer touches the end of the road data (rule 2).
    place_precision, site_precision
        :class:`~geo.types.Precision` values of the place and of the site's point (rule 3).
    second_s, second_labels
        A second engine's time (seconds, NaN where not asked) and its name (rule 4).
    labels, notes
        The engine label and the note of each item.
    no_route
        The reason given where there is no time at all.

    Returns
    -------
    Judgement
        ``verdict`` and ``reason`` (object arrays of text) and ``margin_min`` (minutes).
    """
    upper_v = rule.verdicts(upper_s, engine, estimated)
    lower_v = rule.verdicts(lower_s, engine, estimated)
    verdict = np.where(
        lower_v == Verdict.OUTSIDE.value,
        Verdict.OUTSIDE.value,
        np.where(
            upper_v == Verdict.WITHIN.value,
            Verdict.WITHIN.value,
            np.where(upper_v == lower_v, upper_v, Verdict.UNKNOWN.value),
        ),
    ).astype(object)
    n = len(verdict)
    reason = np.full(n, "", dtype=object)
    reason[~np.isfinite(upper_s) & ~np.isfinite(lower_s)] = no_route

    doubtful = edge & np.isin(verdict, [Verdict.OUTSIDE.value, Verdict.UNKNOWN.value])
    verdict[doubtful] = Verdict.UNKNOWN.value
    reason[doubtful] = EDGE_REASON
    reason[edge & ~doubtful] = EDGE_NOTE

    margin = rule.margins_min(engine, estimated)
    spare = rule.spare_min(np.where(np.isfinite(drive_s), drive_s, upper_s))
    place_extra = uncertainty_min(place_precision)
    site_extra = uncertainty_min(site_precision)
    extra = place_extra + site_extra
    weak = (verdict == Verdict.WITHIN.value) & (extra > 0) & (spare < margin + extra)
    verdict[weak] = Verdict.BORDERLINE.value
    place_kind = np.asarray(place_precision, dtype=object).astype(str)
    site_kind = np.asarray(site_precision, dtype=object).astype(str)
    for i in np.flatnonzero(weak):
        parts = []
        if place_extra[i] > 0:
            parts.append(f"the place is a {PLACE_POINT_WORDS[place_kind[i]]}")
        if site_extra[i] > 0:
            parts.append(f"the site's point is only a {SITE_POINT_WORDS[site_kind[i]]}")
        reason[i] = (
            f"{' and '.join(parts)}; the exact locations could change the drive by "
            f"~{extra[i]:g} min — check the exact address"
        )

    names = np.asarray(labels, dtype=object).astype(str)
    second_names = np.asarray(second_labels, dtype=object).astype(str)
    for i in np.flatnonzero(rule.contradicted(verdict, second_s)):
        verdict[i] = Verdict.BORDERLINE.value
        text = (
            f"engines disagree: {drive_s[i] / 60:.0f} min ({engine_title(names[i])}) vs "
            f"{second_s[i] / 60:.0f} min ({engine_title(second_names[i])})"
        )
        reason[i] = f"{text}; {reason[i]}" if reason[i] else text

    plain_border = (verdict == Verdict.BORDERLINE.value) & (reason == "")
    error_min = rule.estimate_error_min(engine)
    for i in np.flatnonzero(plain_border):
        if spare[i] < 0:
            # Only an estimate is softened this way (see ProximityRule.verdicts).
            reason[i] = (
                f"the estimate is {format_minutes(-spare[i])} over the limit, within its "
                f"typical error (±{error_min:g} min): it could be either side — route it"
            )
            continue
        widened = (
            " (widened to the estimate's typical error)" if margin[i] > rule.margin_min else ""
        )
        reason[i] = f"less than the {margin[i]:g} min safety margin to spare{widened}"

    note = np.asarray(notes, dtype=object).astype(str)
    noted = note != ""
    reason[noted] = np.where(
        reason[noted] != "", note[noted] + "; " + reason[noted].astype(str), note[noted]
    )
    return Judgement(verdict=verdict, reason=reason, margin_min=margin)
