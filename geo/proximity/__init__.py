"""Verdicts for many places against many sites, and sites ranked for one place.

The verdict for a place is the drive time to its *nearest* site (by drive time) compared with the
rule. An isochrone alone never decides: engines may screen with polygons, but every verdict rests
on a routed time or on routed bounds, and says which (column ``basis``).

Honesty rules applied here:

* no location, or no route → ``unknown`` with the reason, never a guessed verdict;
* near the edge of the road data a routed time is an upper bound: the route found is a real
  drive, but a road beyond the data could be a shortcut. So ``within`` and ``borderline`` stand
  (with a note) while ``outside`` becomes ``unknown``;
* an approximate location (ZIP or city centroid) cannot make a confident ``within`` when the
  position error could eat the margin: such a place is ``borderline`` with the reason;
* the estimate engine's typical error widens the margin (see :mod:`geo.rules`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import TrialreachError
from geo.routing.base import ENGINE_NAMES, NearestResult, Points, Router, as_lonlat_array
from geo.routing.second_opinion import engine_title
from geo.rules import ProximityRule
from geo.types import FloatArray, LonLat, Precision, Verdict
from geo.wording import format_minutes

RESULT_COLUMNS = [
    "verdict",
    "drive_min",
    "spare_min",
    "margin_min",
    "nearest_site_id",
    "nearest_site",
    "basis",
    "engine",
    "geocode_precision",
    "reason",
]

LOCATION_UNCERTAINTY_MIN: dict[str, float] = {
    Precision.ZIP.value: 10.0,
    Precision.CITY.value: 20.0,
}
"""Drive minutes a position error of that precision could plausibly add (documented guesses:
a ZIP centroid is typically a few km from an address in it, a city centroid up to ~15 km)."""

EDGE_NOTE = "road data ends nearby; more roads could only make this drive shorter"
EDGE_REASON = (
    "road data ends near here; the result may be too short — "
    "build a road graph that covers this area"
)


def _points_of(places: gpd.GeoDataFrame | gpd.GeoSeries | Points) -> tuple[FloatArray, pd.Index]:
    if isinstance(places, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = places.geometry if isinstance(places, gpd.GeoDataFrame) else places
        empty = geoms.isna().to_numpy() | geoms.is_empty.to_numpy()
        xy = np.full((len(geoms), 2), np.nan)
        ok = ~empty
        if ok.any():
            xy[ok, 0] = geoms[ok].x.to_numpy()
            xy[ok, 1] = geoms[ok].y.to_numpy()
        return xy, places.index
    arr = as_lonlat_array(places, "places") if len(places) else np.empty((0, 2))  # type: ignore[arg-type]
    return arr, pd.RangeIndex(len(arr))


def check(
    places: gpd.GeoDataFrame | gpd.GeoSeries | Points,
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    *,
    chunk_rows: int | None = None,
) -> pd.DataFrame:
    """One verdict row per place, in input order, with the caller's index.

    ``places`` may be a GeoDataFrame from :func:`geo.places.locate_places` (its ``error`` and
    ``precision`` columns are honoured), a GeoSeries of points, or (lon, lat) pairs. ``sites``
    needs ``site_id``, ``name`` and point geometry.

    Places go to the engine in chunks (``chunk_rows``, default :data:`CHUNK_ROWS` or one
    request's worth for an engine with a pair limit). When the engine fails on a chunk, its
    rows are ``unknown`` with the fault as the reason and the others keep their answers; the
    result then says it is partial: ``attrs["partial"]`` is True and ``attrs["faults"]`` lists
    the faults.
    """
    xy, index = _points_of(places)
    n = len(xy)
    prior_error = np.full(n, "", dtype=object)
    precision = np.full(n, "", dtype=object)
    if isinstance(places, gpd.GeoDataFrame):
        if "error" in places.columns:
            prior_error = places["error"].fillna("").astype(str).to_numpy(dtype=object)
        if "precision" in places.columns:
            precision = places["precision"].fillna("").astype(str).to_numpy(dtype=object)
    located = np.isfinite(xy).all(axis=1) & (prior_error == "")
    precision[located & (precision == "")] = Precision.COORDINATES.value

    site_xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    engine = router.info
    drive_s = np.full(n, np.nan)
    lower_s = np.full(n, np.nan)
    upper_s = np.full(n, np.nan)
    nearest = np.full(n, -1, dtype=np.int64)
    edge = np.zeros(n, dtype=bool)
    method = np.full(n, "", dtype=object)
    labels = np.full(n, "", dtype=object)
    notes = np.full(n, "", dtype=object)
    fault = np.full(n, "", dtype=object)
    second_s = np.full(n, np.nan)
    second_names = np.full(n, "", dtype=object)
    row_estimated = np.full(n, engine.is_estimate)
    if located.any() and len(sites):
        # In chunks, so that an engine failing mid-batch costs only its chunk: finished rows
        # keep their answers, the failed ones become `unknown` with the fault named.
        for rows, res_or_fault in _nearest_in_chunks(
            router, xy, np.flatnonzero(located), site_xy, rule.max_drive_s, chunk_rows
        ):
            if isinstance(res_or_fault, str):
                fault[rows] = res_or_fault
                continue
            res = res_or_fault
            drive_s[rows] = res.duration_s
            lower_s[rows] = res.lower_s
            upper_s[rows] = res.upper_s
            nearest[rows] = res.index
            edge[rows] = res.edge_warning
            method[rows] = res.method
            labels[rows] = res.row_labels()
            row_estimated[rows] = res.row_estimated()
            notes[rows] = res.row_notes()
            second_s[rows], second_names[rows] = res.row_second()
            engine = res.engine

    # Rows answered by an estimate get the estimate's error both ways: a widened margin, and
    # `borderline` rather than `outside` within that error over the limit (auto mixes).
    upper_v = rule.verdicts(upper_s, engine, row_estimated)
    lower_v = rule.verdicts(lower_s, engine, row_estimated)
    # Bounds decide when they agree, or when one bound alone settles it (an upper bound inside
    # the margin, a lower bound over the limit); otherwise the answer is unknown.
    verdict = np.where(
        lower_v == Verdict.OUTSIDE.value,
        Verdict.OUTSIDE.value,
        np.where(
            upper_v == Verdict.WITHIN.value,
            Verdict.WITHIN.value,
            np.where(upper_v == lower_v, upper_v, Verdict.UNKNOWN.value),
        ),
    ).astype(object)
    reason = np.full(n, "", dtype=object)

    no_route = located & ~np.isfinite(upper_s) & ~np.isfinite(lower_s)
    reason[no_route] = "no road route found to any site" if len(sites) else "no sites given"
    reason[~located] = np.where(prior_error[~located] != "", prior_error[~located], "no location")
    verdict[~located] = Verdict.UNKNOWN.value
    failed = fault != ""
    verdict[failed] = Verdict.UNKNOWN.value
    reason[failed] = fault[failed]
    # Near the end of the road data a shortcut outside it could exist, so a routed time there
    # is an upper bound: `within`/`borderline` stand (the true drive can only be shorter), but
    # `outside` and "no route" become `unknown`.
    edge_known = edge & located
    doubtful = edge_known & np.isin(verdict, [Verdict.OUTSIDE.value, Verdict.UNKNOWN.value])
    verdict[doubtful] = Verdict.UNKNOWN.value
    reason[doubtful] = EDGE_REASON
    reason[edge_known & ~doubtful] = EDGE_NOTE

    margin = rule.margins_min(engine, row_estimated)
    spare = rule.spare_min(np.where(np.isfinite(drive_s), drive_s, upper_s))
    # Approximate points (the place's, or the nearest site's, e.g. a ClinicalTrials.gov city
    # centre) add their plausible error in minutes; a `within` that the error could eat is
    # downgraded to `borderline`, with the reason.
    place_extra = np.array([LOCATION_UNCERTAINTY_MIN.get(p, 0.0) for p in precision])
    site_extra = np.zeros(n)
    site_weak_names = np.full(n, False)
    if "coord_precision" in sites.columns and len(sites):
        per_site = np.array(
            [LOCATION_UNCERTAINTY_MIN.get(str(p), 0.0) for p in sites["coord_precision"].fillna("")]
        )
        site_extra = np.where(nearest >= 0, per_site[np.clip(nearest, 0, None)], 0.0)
        site_weak_names = site_extra > 0
    extra = place_extra + site_extra
    weak = (verdict == Verdict.WITHIN.value) & (extra > 0) & (spare < margin + extra)
    verdict[weak] = Verdict.BORDERLINE.value
    for i in np.flatnonzero(weak):
        parts = []
        if place_extra[i] > 0:
            kind = "ZIP" if precision[i] == Precision.ZIP.value else str(precision[i])
            parts.append(f"the place is a {kind} centroid")
        if site_weak_names[i]:
            parts.append("the site's point is only a city centre")
        reason[i] = (
            f"{' and '.join(parts)}; the exact locations could change the drive by "
            f"~{extra[i]:g} min — check the exact address"
        )

    # Where a second engine answered too (a local graph's Valhalla next to OSRM) and the two
    # fall on different sides of the limit beyond the margin, neither verdict is confident.
    disagree = located & ~failed & rule.contradicted(verdict, second_s)
    for i in np.flatnonzero(disagree):
        verdict[i] = Verdict.BORDERLINE.value
        text = (
            f"engines disagree: {drive_s[i] / 60:.0f} min ({engine_title(str(labels[i]))}) vs "
            f"{second_s[i] / 60:.0f} min ({engine_title(str(second_names[i]))})"
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
    # How a row was answered (e.g. a failed online engine and an estimate instead) is said.
    noted = located & ~failed & (notes != "")
    reason[noted] = np.where(
        reason[noted] != "", notes[noted] + "; " + reason[noted].astype(str), notes[noted]
    )

    exact = np.isfinite(drive_s)
    basis = np.full(n, "", dtype=object)
    basis[located & exact & (method == "routed")] = "routed drive time"
    basis[located & exact & (method == "estimated")] = "estimate from straight-line distance"
    screened_in = located & ~exact & np.isfinite(upper_s)
    basis[screened_in] = [
        f"well inside: under {format_minutes(u / 60)}" for u in upper_s[screened_in]
    ]
    screened_out = located & ~exact & ~np.isfinite(upper_s) & np.isfinite(lower_s)
    basis[screened_out] = [
        f"well outside: over {format_minutes(v / 60)}" for v in lower_s[screened_out]
    ]

    safe = np.clip(nearest, 0, None)
    has_site = nearest >= 0
    site_ids = sites["site_id"].astype(str).to_numpy() if len(sites) else np.array([""])
    site_names = sites["name"].astype(str).to_numpy() if len(sites) else np.array([""])
    out = pd.DataFrame(
        {
            "verdict": verdict.astype(str),
            "drive_min": np.round(drive_s / 60.0, 1),
            "spare_min": np.round(rule.spare_min(drive_s), 1),
            # The margin this row's verdict used (widened where the answer is an estimate).
            "margin_min": np.where(located, np.round(margin, 1), np.nan),
            "nearest_site_id": np.where(has_site, site_ids[safe], ""),
            "nearest_site": np.where(has_site, site_names[safe], ""),
            "basis": basis.astype(str),
            "engine": np.where(located, labels, ""),
            "geocode_precision": precision.astype(str),
            "reason": reason.astype(str),
        },
        index=index,
    )
    out.attrs["partial"] = bool(failed.any())
    out.attrs["faults"] = sorted({str(f) for f in fault[failed]})
    return out


def _engine_name(router: Router) -> str:
    name = router.info.name
    return ENGINE_NAMES.get(name, name)


CHUNK_ROWS = 2000
"""Places per engine call in :func:`check` (an engine with a pair limit gets one request's
worth): a failure costs at most one chunk's answers."""

MAX_FAILED_CHUNKS = 2
"""After this many chunks fail in a row, the rest of the batch is not sent (a dead service
would otherwise be retried for every chunk); those rows say so and a rerun can finish them."""


def _nearest_in_chunks(
    router: Router,
    xy: FloatArray,
    rows: npt.NDArray[np.int64],
    site_xy: FloatArray,
    horizon_s: float,
    chunk_rows: int | None,
) -> Iterator[tuple[npt.NDArray[np.int64], NearestResult | str]]:
    """``router.nearest`` over ``rows`` in chunks; a failed chunk yields its fault as text."""
    size = chunk_rows or CHUNK_ROWS
    pairs = router.limits.max_matrix_pairs
    if chunk_rows is None and pairs:
        size = max(1, pairs // max(1, len(site_xy)))
    failures = 0
    last = ""
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        if failures >= MAX_FAILED_CHUNKS:
            yield part, f"not checked after {last}; run the check again to finish these rows"
            continue
        try:
            res = router.nearest(xy[part], site_xy, horizon_s=horizon_s)
        except (TrialreachError, RuntimeError, OSError) as exc:
            failures += 1
            detail = str(exc).strip() or type(exc).__name__
            last = f"{_engine_name(router)} failed: {detail}"
            yield part, last
            continue
        failures = 0
        yield part, res


def rank_sites(
    place: LonLat,
    sites: gpd.GeoDataFrame,
    router: Router,
    rule: ProximityRule | None = None,
) -> gpd.GeoDataFrame:
    """Sites ordered by drive time from ``place`` (quickest first), for a patient.

    Adds ``drive_min``, ``distance_km``, ``engine`` (per site: ``auto`` may answer some sites
    from a graph and others with the estimate), ``estimated`` and, with a rule, ``verdict``,
    ``spare_min``, ``margin_min`` and ``reason``. Estimated times get the estimate's margin,
    per site, as :func:`check` does. Sites with no route come last with NaN times.
    """
    site_xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    matrix = router.drive_times([place], site_xy)
    seconds = matrix.duration_s[0]
    estimated = matrix.cell_estimated()[0]
    out = sites.copy()
    out["drive_min"] = np.round(seconds / 60.0, 1)
    out["distance_km"] = np.round(matrix.distance_m[0] / 1000.0, 1)
    out["engine"] = matrix.cell_labels()[0]
    out["estimated"] = estimated
    if rule is not None:
        verdict = rule.verdicts(seconds, matrix.engine, estimated).astype(object)
        margin = rule.margins_min(matrix.engine, estimated)
        spare = rule.spare_min(seconds)
        reason = matrix.cell_notes()[0].astype(object)
        border = verdict == Verdict.BORDERLINE.value
        why = np.where(
            spare < 0,
            "over the limit by less than the estimate's typical error",
            np.char.add(
                np.char.add("less than the ", np.char.mod("%g", margin)),
                " min safety margin to spare",
            ),
        )
        reason = np.where(border, _join(reason, why), reason).astype(object)
        # Where a graph's second engine answers too, a contradiction across the limit makes
        # the site borderline (as in check()).
        second = router.second_opinion([place], site_xy, matrix, rule.max_drive_s)
        if second is not None:
            s_sec = second.duration_s[0]
            disagree = ~estimated & rule.contradicted(verdict, s_sec)
            names = second.cell_labels()[0]
            for j in np.flatnonzero(disagree):
                verdict[j] = Verdict.BORDERLINE.value
                reason[j] = (
                    f"engines disagree: {seconds[j] / 60:.0f} min "
                    f"({engine_title(str(out['engine'].iloc[j]))}) vs {s_sec[j] / 60:.0f} min "
                    f"({engine_title(str(names[j]))})"
                )
        if matrix.edge_warning is not None:
            edge = matrix.edge_warning[0]
            verdict[edge] = Verdict.UNKNOWN.value
            reason = np.where(edge, EDGE_REASON, reason)
        out["verdict"] = verdict.astype(str)
        out["spare_min"] = np.round(spare, 1)
        out["margin_min"] = margin
        out["reason"] = reason.astype(str)
    return out.sort_values("drive_min", na_position="last", kind="stable")


def _join(first: npt.ArrayLike, second: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Element-wise 'first; second', leaving out empty parts."""
    a = np.asarray(first, dtype=str)
    b = np.asarray(second, dtype=str)
    both = np.char.add(np.char.add(a, "; "), b)
    return np.where(a == "", b, np.where(b == "", a, both))


def headline(row: pd.Series, rule: ProximityRule) -> str:
    """'WITHIN — 1 h 47 min to Mayo Clinic (Rochester), 13 min to spare · estimate'."""
    verdict = str(row["verdict"]).upper()
    if row["verdict"] == Verdict.UNKNOWN.value:
        return f"UNKNOWN — {row['reason'] or 'no drive time'}"
    minutes = row["drive_min"]
    if np.isfinite(minutes):
        time_text = format_minutes(minutes)
        spare = row["spare_min"]
        spare_text = (
            f"{format_minutes(spare)} to spare"
            if spare >= 0
            else f"{format_minutes(-spare)} over the limit"
        )
    else:
        time_text = row["basis"] or "—"
        spare_text = f"limit {format_minutes(rule.max_drive_min)}"
    engine = row["engine"] or ""
    return f"{verdict} — {time_text} to {row['nearest_site']}, {spare_text} · {engine}"


def check_points(
    points: Sequence[LonLat], sites: gpd.GeoDataFrame, rule: ProximityRule, router: Router
) -> pd.DataFrame:
    """Convenience: :func:`check` for a list of points."""
    return check(list(points), sites, rule, router)
