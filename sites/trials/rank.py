"""Rank the studies a search found by drive time from the patient's place.

Every location of every study is parsed once (:func:`trial_sites`, the same parsing as
:mod:`sites.ctgov`), then judged in one pass:

* sites that are not (or not yet) treating patients are left out — ``WITHDRAWN`` and every other
  closed status — and counted;
* a US site without coordinates on ClinicalTrials.gov is placed at its ZIP (else town) centroid
  by an offline geocoder when one is given, and says so; otherwise it cannot be judged: it is
  kept, ``unknown``, and said; a study is judged on its sites that have a point;
* a site farther in a straight line than the limit allows at
  :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` (plus the slack of city-centre points) is
  ``outside`` without routing ("no drive is that fast");
* every other site gets a drive time from the patient's place to the site — **one**
  ``router.drive_times`` call for all of them, each distinct point once (sites in one city share
  the registry's city-centre point); where the road data stops between the place and a site,
  ``auto`` estimates that pair, labelled (:func:`geo.proximity.fallback.fill_cut_cells`);
* each routed site gets its verdict under its study's rule from **the** verdict rule,
  :func:`geo.proximity.judge.judge` — the one ``trialreach check`` uses, so a site gets the
  verdict and reason ``check`` gives the place and that site alone: the estimate's widened
  margin, the data-edge rule, the second engine's opinion near the limit, and the precision
  rule (a site point is only a city centre or ZIP centroid, so a ``within`` its error could eat
  is ``borderline``). One rule is the ranking's own: a site outside the United States is at
  best ``borderline`` (a border crossing is not in the drive time).

A study's answer is its best site: the best verdict (``within`` > ``borderline`` > ``unknown`` >
``outside``), then the shortest drive. Studies with a site within the limit come first, by drive
time; the others follow, by their nearest time.

Rules (:func:`sites.trials.records.rule_for_study`): a study the user gave a rule for is judged
by it; RESOLUTION (NCT07085104) by its preset; a study of an approved CAR-T product by the CAR-T
label preset; any other by the limit the user chose. Each row says which (``rule_used``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import TrialreachError
from geo.geodesy import haversine_km
from geo.places import PointGeocoder
from geo.proximity.fallback import fill_cut_cells, outside_data_reason
from geo.proximity.judge import SITE_POINT_WORDS, judge
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, Router, reach_bound_m
from geo.rules import ProximityRule
from geo.types import BoolArray, FloatArray, LonLat, Precision, Verdict
from geo.wording import format_minutes
from sites.ctgov_records import ACTIVE_STATUSES
from sites.trials.records import US_COUNTRIES, rule_for_study, trial_sites
from sites.trials.search import SITE_POINT_SLACK_KM
from sites.trials.studies import STUDY_COLUMNS, _assemble, _best_first, _search_notes

PLACE_SLACK_KM: dict[str, float] = {"zip": 10.0, "city": 25.0}
"""How far an approximate place (ZIP or city centroid) may be from the real one (km)."""


@dataclass(frozen=True, eq=False)
class TrialRanking:
    """Studies ranked by drive time from one place.

    Attributes
    ----------
    studies
        One row per study (:data:`STUDY_COLUMNS`), ranked.
    sites
        Every listed location (EPSG:4326 points; empty geometry without coordinates) with
        ``nct_id``, ``checked`` (False: left out by status), ``drive_min``, ``straight_km``,
        ``verdict``, ``basis``, ``engine``, ``reason``; sorted by study rank then site order.
    engine
        The engine's description (provenance of every drive time).
    notes
        Search-wide notes: sites left out, sites without coordinates, sites abroad.
    """

    studies: pd.DataFrame
    sites: gpd.GeoDataFrame
    engine: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_within(self) -> int:
        """Studies with a site within their limit, the borderline ones included."""
        return int(self.studies["verdict"].isin(["within", "borderline"]).sum())

    @property
    def n_borderline(self) -> int:
        """Of :attr:`n_within`, the studies that are only borderline (to be checked)."""
        return int((self.studies["verdict"] == "borderline").sum())


def study_drive_text(study: pd.Series, blank: str = "—") -> str:
    """A study's drive in words: its nearest site's time; "over 2 h 00 min" for a study outside
    with no site routed (every site beyond the reach of its limit); else ``blank``."""
    drive = float(study["drive_min"])
    if np.isfinite(drive):
        return format_minutes(drive)
    if study["verdict"] == Verdict.OUTSIDE.value:
        return f"over {format_minutes(float(study['limit_min']))}"
    return blank


def _locate_missing(
    sites: pd.DataFrame,
    todo: BoolArray,
    geocoder: PointGeocoder,
    xy: FloatArray,
    precision: np.ndarray[Any, np.dtype[np.object_]],
) -> BoolArray:
    """Place the ``todo`` sites at their ZIP (else city) centroid; fills ``xy``/``precision``.

    One lookup per distinct ZIP or town (few: only sites the registry gives no point for).
    """
    zips = sites["zip"].astype(str).str.strip().str[:5]
    town = sites["city"].astype(str).str.strip() + ", " + sites["state"].astype(str).str.strip()
    text = np.where(zips.str.fullmatch(r"\d{5}"), zips, town).astype(object)
    filled = np.zeros(len(sites), dtype=bool)
    found: dict[str, tuple[float, float, str] | None] = {}
    for key in dict.fromkeys(text[todo]):
        try:
            g = geocoder.geocode(str(key))
        except TrialreachError:
            found[str(key)] = None
        else:
            found[str(key)] = (g.point.lon, g.point.lat, Precision(g.precision).value)
    for i in np.flatnonzero(todo):
        hit = found.get(str(text[i]))
        if hit is not None:
            xy[i] = hit[:2]
            precision[i] = hit[2]
            filled[i] = True
    return filled


def _join_note(notes: np.ndarray[Any, Any], where: BoolArray, text: str) -> None:
    notes[where] = np.where(notes[where] == "", text, notes[where] + "; " + text)


def _join_notes(notes: np.ndarray[Any, Any], where: BoolArray, texts: list[str]) -> None:
    old = notes[where]
    joined = [t if not o else f"{o}; {t}" for o, t in zip(old, texts, strict=True)]
    notes[where] = np.array(joined, dtype=object) if joined else old


def rank_trials(
    studies: Sequence[Mapping[str, Any]],
    place: LonLat,
    router: Router,
    *,
    rule: ProximityRule | None = None,
    place_precision: str = "coordinates",
    rules: Mapping[str, ProximityRule] | None = None,
    retrieved: date | None = None,
    geocoder: PointGeocoder | None = None,
) -> TrialRanking:
    """Rank ``studies`` by drive time from ``place`` (module docstring: how).

    Parameters
    ----------
    studies
        Study records (ClinicalTrials.gov API v2), e.g. :attr:`SearchResult.studies`.
    place
        The patient's place (lon, lat). Used here only; never sent anywhere.
    router
        Routing engine; one ``drive_times`` call from ``place`` to every site within reach.
    rule
        The limit the user chose (default: 120 min with a 10 min margin).
    place_precision
        How exact ``place`` is (``coordinates``, ``address``, ``zip``, ``city``); an
        approximate place widens the straight-line reach and the precision rule.
    rules
        User-supplied rules by NCT id (they win over presets).
    retrieved
        Date written into each site's ``source``.
    geocoder
        Locates open US sites that ClinicalTrials.gov gives no point for, from their ZIP code
        (else city and state); use an offline one. Such a site says so and carries the
        centroid's uncertainty. Without it, they are ``unknown`` ("not checked").
    """
    chosen = rule or ProximityRule(
        "limit", 120.0, 0, title="your limit: ≤ 120 min drive", source="chosen by the user"
    )
    sites = trial_sites(studies, retrieved)
    n = len(sites)
    study_rules = [rule_for_study(s, chosen, rules) for s in studies]
    idx = sites["study"].to_numpy(dtype=np.int64)
    limit_min = np.array([r.rule.max_drive_min for r in study_rules], dtype=float)[idx]

    status = sites["status"].astype(str).to_numpy()
    checked = np.isin(status, [s.lower() for s in ACTIVE_STATUSES])
    xy = sites[["lon", "lat"]].to_numpy(dtype=float, copy=True)
    located = np.isfinite(xy).all(axis=1)
    is_us = sites["country"].astype(str).str.lower().isin(US_COUNTRIES).to_numpy()
    place_xy = np.array([[place.lon, place.lat]], dtype=float)
    precision = sites["coord_precision"].astype(str).to_numpy(dtype=object, copy=True)
    filled = np.zeros(n, dtype=bool)
    if geocoder is not None:
        filled = _locate_missing(sites, checked & ~located & is_us, geocoder, xy, precision)
        located = np.isfinite(xy).all(axis=1)
    straight_km = np.full(n, np.nan)
    if located.any():
        straight_km[located] = haversine_km(place_xy, xy[located])[0]
    slack_km = SITE_POINT_SLACK_KM + PLACE_SLACK_KM.get(place_precision, 0.0)
    reach_km = reach_bound_m(limit_min * 60.0) / 1000.0 + slack_km
    in_reach = checked & located & (straight_km <= reach_km)
    beyond = checked & located & ~in_reach

    drive_s = np.full(n, np.nan)
    second_s = np.full(n, np.nan)
    edge = np.zeros(n, dtype=bool)
    estimated = np.zeros(n, dtype=bool)
    engine_label = np.full(n, "", dtype=object)
    second_label = np.full(n, "", dtype=object)
    cell_note = np.full(n, "", dtype=object)
    engine = router.info
    rule_ids: dict[ProximityRule, int] = {}
    study_rule_id = np.array([rule_ids.setdefault(r.rule, len(rule_ids)) for r in study_rules])
    site_rule_id = study_rule_id[idx] if n else np.array([], dtype=np.int64)
    if in_reach.any():
        # ClinicalTrials.gov points are city centres: many sites share one. Each distinct point
        # is routed once, in one call from the place to all of them; where the road data stops
        # between the place and a site, ``auto`` estimates that pair (as check() does).
        targets, inverse = np.unique(np.round(xy[in_reach], 6), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        matrix = router.drive_times(place_xy, targets)
        matrix = fill_cut_cells(router, place_xy, targets, matrix)
        drive_s[in_reach] = matrix.duration_s[0][inverse]
        if matrix.edge_warning is not None:
            edge[in_reach] = matrix.edge_warning[0][inverse]
        estimated[in_reach] = matrix.cell_estimated()[0][inverse]
        engine_label[in_reach] = matrix.cell_labels()[0][inverse]
        cell_note[in_reach] = matrix.cell_notes()[0][inverse]
        engine = matrix.engine
        # Where a graph has a second engine, it is asked about the cells near each limit.
        where = np.flatnonzero(in_reach)
        for limit_s in sorted({r.max_drive_s for r in rule_ids}):
            second = router.second_opinion(place_xy, targets, matrix, limit_s)
            if second is None:
                continue
            got = second.duration_s[0][inverse]
            mine = np.isclose(limit_min[where] * 60.0, limit_s) & np.isfinite(got)
            second_s[where[mine]] = got[mine]
            second_label[where[mine]] = second.cell_labels()[0][inverse][mine]
        second_s[estimated] = np.nan  # an estimate is not contradicted by a routed time

    # The notes a site's answer leads with: how its cell was answered, where its point is from.
    reason = cell_note.copy()
    _join_notes(
        reason,
        filled,
        [
            f"no coordinates on ClinicalTrials.gov: placed at its {SITE_POINT_WORDS.get(p, p)}"
            for p in precision[filled]
        ],
    )
    # The one verdict rule (geo.proximity.judge), as `trialreach check` gives it for the place
    # and that site alone; one vectorised pass per distinct rule (usually 1-3).
    verdict = np.full(n, Verdict.UNKNOWN.value, dtype=object)
    margin = np.full(n, np.nan)
    for r, k in rule_ids.items():
        same = (site_rule_id == k) & in_reach
        if not same.any():
            continue
        judged = judge(
            r,
            engine,
            lower_s=drive_s[same],
            upper_s=drive_s[same],
            drive_s=drive_s[same],
            estimated=estimated[same],
            edge=edge[same],
            place_precision=np.full(int(same.sum()), place_precision, dtype=object),
            site_precision=precision[same],
            second_s=second_s[same],
            labels=engine_label[same],
            second_labels=second_label[same],
            notes=reason[same],
            no_route="no road route found to this site",
        )
        verdict[same] = judged.verdict
        reason[same] = judged.reason
        margin[same] = judged.margin_min
    if in_reach.any() and not router.covers(place_xy)[0]:
        # No road data at the place: say so, as check() does.
        reason[in_reach & (verdict == Verdict.UNKNOWN.value)] = outside_data_reason(router)
    margin_all = np.array([r.rule.margin_min for r in study_rules], dtype=float)[idx]
    margin = np.where(np.isfinite(margin), margin, margin_all)
    verdict[beyond] = Verdict.OUTSIDE.value

    basis = np.full(n, "", dtype=object)
    routed = in_reach & np.isfinite(drive_s)
    basis[routed & ~estimated] = "routed drive time"
    basis[routed & estimated] = "estimate from straight-line distance"
    lower_min = straight_km / MAX_PLAUSIBLE_SPEED_KMH * 60.0
    basis[beyond] = [
        f"{km:,.0f} km in a straight line: over {lim:g} min even at "
        f"{MAX_PLAUSIBLE_SPEED_KMH:g} km/h"
        for km, lim in zip(straight_km[beyond], limit_min[beyond], strict=True)
    ]
    reason[checked & ~located] = "no coordinates on ClinicalTrials.gov: not checked"
    spare = limit_min - drive_s / 60.0
    # Trials only: a site abroad is at best borderline (a border crossing is not in the time).
    abroad = in_reach & ~is_us
    cross = abroad & (verdict == Verdict.WITHIN.value)
    verdict[cross] = Verdict.BORDERLINE.value
    _join_note(
        reason,
        abroad & (verdict != Verdict.UNKNOWN.value),
        "outside the United States: a border crossing is not in the drive time",
    )
    verdict[~checked] = ""
    reason[~checked] = [f"left out: site status {s.replace('_', ' ')}" for s in status[~checked]]

    drive_min = np.round(drive_s / 60.0, 1)
    site_frame = sites.assign(
        lon=xy[:, 0],
        lat=xy[:, 1],
        coord_precision=precision.astype(str),
        checked=checked,
        straight_km=np.round(straight_km, 1),
        drive_min=drive_min,
        spare_min=np.round(spare, 1),
        margin_min=margin,
        limit_min=limit_min,
        verdict=verdict.astype(str),
        basis=basis.astype(str),
        engine=np.where(in_reach, engine_label, "").astype(str),
        reason=reason.astype(str),
        is_us=is_us,
        beyond_reach=beyond,
        sort_min=np.where(np.isfinite(drive_s), drive_s / 60.0, lower_min),
    )
    studies_frame = _assemble(studies, study_rules, site_frame)
    order = pd.Series(np.arange(len(studies_frame)), index=studies_frame["nct_id"].to_numpy())
    site_frame = site_frame.assign(_order=order.reindex(site_frame["nct_id"].to_numpy()).to_numpy())
    site_frame = _best_first(site_frame, ["_order"])
    geometry = gpd.points_from_xy(site_frame["lon"], site_frame["lat"])
    site_gdf = gpd.GeoDataFrame(
        site_frame.drop(columns=["_order"]).reset_index(drop=True),
        geometry=geometry,
        crs="EPSG:4326",
    )
    return TrialRanking(
        studies=studies_frame,
        sites=site_gdf,
        engine=router.describe(),
        notes=_search_notes(site_frame),
    )


__all__ = ["PLACE_SLACK_KM", "STUDY_COLUMNS", "TrialRanking", "rank_trials", "study_drive_text"]
