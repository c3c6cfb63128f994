"""Verdicts for many places against many sites, and sites ranked for one place.

:func:`check` (this module) judges each place against its nearest site; :func:`rank_sites`
(:mod:`geo.proximity.rank`) judges one place against each site. Both apply one verdict rule,
:func:`geo.proximity.judge.judge`; where the road data stops between a place and the sites, an
engine that estimates what it cannot route (``auto``) estimates that pair
(:mod:`geo.proximity.fallback`).

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
* the estimate engine's typical error widens the margin (see :mod:`geo.rules`);
* a place outside a graph engine's road data is said to be outside it (:func:`outside_data_reason`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import TrialreachError
from geo.proximity.fallback import fill_cut_rows, graph_names, outside_data_reason
from geo.proximity.judge import EDGE_NOTE, EDGE_REASON, LOCATION_UNCERTAINTY_MIN, judge
from geo.proximity.rank import rank_sites
from geo.routing.base import ENGINE_NAMES, NearestResult, Points, Router, as_lonlat_array
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

    # Where the engine estimates what it cannot route (auto), a place whose road data stops
    # before any site is estimated (labelled) rather than left without an answer.
    if located.any() and len(sites):
        rows = located & (fault == "")
        res_now = NearestResult(
            index=nearest,
            duration_s=drive_s,
            lower_s=lower_s,
            upper_s=upper_s,
            distance_m=np.full(n, np.nan),
            engine=engine,
            edge_warning=edge,
            method=method.astype(str),
            labels=labels.astype(str),
            estimated=row_estimated,
            notes=notes.astype(str),
        )
        filled = fill_cut_rows(router, xy, site_xy, res_now, rows, rule.max_drive_s)
        if filled is not res_now:
            nearest, drive_s, lower_s, upper_s = (
                filled.index,
                filled.duration_s,
                filled.lower_s,
                filled.upper_s,
            )
            edge, method = filled.edge_warning, filled.method.astype(object)
            labels, notes = filled.row_labels().astype(object), filled.row_notes().astype(object)
            row_estimated = filled.row_estimated()

    site_precision = np.full(n, "", dtype=object)
    if "coord_precision" in sites.columns and len(sites):
        per_site = sites["coord_precision"].fillna("").astype(str).to_numpy(dtype=object)
        site_precision = np.where(nearest >= 0, per_site[np.clip(nearest, 0, None)], "")
    judged = judge(
        rule,
        engine,
        lower_s=lower_s,
        upper_s=upper_s,
        drive_s=drive_s,
        estimated=row_estimated,
        edge=edge & located,
        place_precision=precision,
        site_precision=site_precision,
        second_s=second_s,
        labels=labels,
        second_labels=second_names,
        notes=notes,
        no_route="no road route found to any site" if len(sites) else "no sites given",
    )
    verdict, reason, margin = judged.verdict, judged.reason, judged.margin_min
    # Rows that were never asked: no location (its own reason), or the engine failed on them.
    verdict[~located] = Verdict.UNKNOWN.value
    reason[~located] = np.where(prior_error[~located] != "", prior_error[~located], "no location")
    failed = fault != ""
    verdict[failed] = Verdict.UNKNOWN.value
    reason[failed] = fault[failed]
    # A place a graph engine has no road data for is said to be outside it (not "near the
    # edge", which would suggest the place is close to the data).
    off_data = located & ~failed & (verdict == Verdict.UNKNOWN.value)
    if off_data.any():
        off_data[off_data] = ~router.covers(xy[off_data])
        if off_data.any():
            reason[off_data] = outside_data_reason(router)

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


__all__ = [
    "CHUNK_ROWS",
    "EDGE_NOTE",
    "EDGE_REASON",
    "LOCATION_UNCERTAINTY_MIN",
    "RESULT_COLUMNS",
    "check",
    "check_points",
    "graph_names",
    "headline",
    "outside_data_reason",
    "rank_sites",
]
