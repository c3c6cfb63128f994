"""Lodging ranked by the drive *from the lodging to the site* under a proximity rule.

OpenStreetMap candidates that cannot comply are left out (and counted); a user's preferred
places are always listed first, whatever their verdict. Each row carries the engine that answered
it and whether it is an estimate (the estimate's wider margin then applies to that row).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import ValidationError
from geo.geodesy import haversine_km
from geo.lodging.catalogue import (
    KINDS,
    LODGING_COLUMNS,
    OSM_NOTICE,
    RULE_POPULATIONS,
    eligibility_group,
    squash_name,
)
from geo.lodging.extract import empty_lodging
from geo.lodging.phones import phone_labels
from geo.lodging.result import RESULT_COLUMNS, LodgingSearch
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, Router
from geo.rules import ProximityRule
from geo.types import EngineInfo, LonLat, Verdict

__all__ = [
    "PRESCREEN_KMH",
    "RESULT_COLUMNS",
    "LodgingSearch",
    "find_lodging",
    "search_lodging",
]

PRESCREEN_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""Upper bound of an average road speed: a place farther than the rule's minutes at this speed
(straight line) cannot be reached in time and is not routed."""


def _kinds(kinds: Iterable[str] | str | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    items = [kinds] if isinstance(kinds, str) else list(kinds)
    parts = [k for i in items for k in str(i).split(",")]
    wanted = [k.strip().lower().replace(" ", "_").replace("-", "_") for k in parts if k.strip()]
    bad = [k for k in wanted if k not in KINDS]
    if bad:
        raise ValidationError(
            f"unknown lodging kind(s): {', '.join(bad)}; choose from {', '.join(KINDS)}"
        )
    return tuple(dict.fromkeys(wanted)) or KINDS


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    geoms = frame.geometry
    xy = np.full((len(frame), 2), np.nan)
    ok = ~(geoms.isna().to_numpy() | geoms.is_empty.to_numpy())
    if ok.any():
        xy[ok, 0] = geoms[ok].x.to_numpy()
        xy[ok, 1] = geoms[ok].y.to_numpy()
    return xy


def _route(
    router: Router, xy: np.ndarray[Any, Any], site: LonLat, horizon_s: float | None = None
) -> _Routed:
    """Drive seconds from each lodging (rows) to the site, with per-row provenance.

    NaN where unknown. ``auto`` may answer some rows from a graph and others with the
    estimate: each row carries its own engine label and estimate flag (its verdict then uses
    the estimate's margin). With ``horizon_s`` (the rule's limit), a graph's second engine is
    asked for the rows whose verdict it could change (``second_s``; NaN elsewhere).
    """
    n = len(xy)
    seconds = np.full(n, np.nan)
    edge = np.zeros(n, dtype=bool)
    estimated = np.full(n, router.info.is_estimate)
    labels = np.full(n, router.info.label, dtype=object)
    engine = router.info
    second = np.full(n, np.nan)
    finite = np.isfinite(xy).all(axis=1) if n else np.zeros(0, dtype=bool)
    if finite.any():
        matrix = router.drive_times(xy[finite], [site])
        seconds[finite] = matrix.duration_s[:, 0]
        if matrix.edge_warning is not None:
            edge[finite] = matrix.edge_warning[:, 0]
        estimated[finite] = matrix.cell_estimated()[:, 0]
        labels[finite] = matrix.cell_labels()[:, 0]
        engine = matrix.engine
        if horizon_s is not None:
            other = router.second_opinion(xy[finite], [site], matrix, horizon_s)
            if other is not None:
                second[finite] = other.duration_s[:, 0]
    return _Routed(seconds, edge, engine, estimated, labels.astype(str), second)


@dataclass(frozen=True)
class _Routed:
    seconds: np.ndarray[Any, np.dtype[np.float64]]
    edge: np.ndarray[Any, np.dtype[np.bool_]]
    engine: EngineInfo
    estimated: np.ndarray[Any, np.dtype[np.bool_]]
    labels: np.ndarray[Any, np.dtype[np.str_]]
    second_s: np.ndarray[Any, np.dtype[np.float64]]


def _rule_note(rule: ProximityRule, names: pd.Series, notes: pd.Series) -> pd.Series:
    """Eligibility notes, plus why a restricted house does not fit this rule's patients."""
    pop = RULE_POPULATIONS.get(rule.name)
    if pop is None or len(names) == 0:
        return notes
    groups = names.map(eligibility_group)
    clash = groups.isin(pop.not_in_groups)
    out = notes.copy()
    out[clash] = notes[clash] + f". {pop.description}: they would not qualify"
    return out


def _same_place(osm: gpd.GeoDataFrame, preferred: gpd.GeoDataFrame, within_m: float = 150.0) -> Any:
    """OSM rows that are one of the preferred places (close by and with a matching name)."""
    dup = np.zeros(len(osm), dtype=bool)
    if len(osm) == 0 or len(preferred) == 0:
        return dup
    pxy, oxy = _xy(preferred), _xy(osm)
    km = haversine_km(pxy, oxy)  # (n_pref, n_osm)
    near = np.nan_to_num(km, nan=np.inf) * 1000.0 <= within_m
    onames = osm["name"].map(squash_name).to_numpy()
    for i, pname in enumerate(preferred["name"].map(squash_name)):
        if not pname:
            continue
        for j in np.flatnonzero(near[i]):
            if onames[j] and (pname in onames[j] or onames[j] in pname):
                dup[j] = True
    return dup


def search_lodging(
    site: LonLat,
    lodging: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    kinds: Iterable[str] | str | None = None,
    limit: int | None = 50,
    preferred: gpd.GeoDataFrame | None = None,
    prescreen_kmh: float = PRESCREEN_KMH,
) -> LodgingSearch:
    """Lodging within the rule's drive time of ``site``, ranked, with what was left out.

    Parameters
    ----------
    site
        The study site.
    lodging
        OSM lodging (:func:`extract_lodging`, :func:`lodging_for_graph`); may be empty.
    rule
        The proximity rule; verdicts use :meth:`ProximityRule.verdicts` with the engine's info.
    router
        Any engine. Drive times are asked **from each lodging to the site** (the daily trip
        that matters is to the hospital).
    kinds
        Kinds to keep (``"hotel,apartment"`` or a list); default all of :data:`KINDS`.
        Applies to OSM places only.
    limit
        Most OSM places to list (``None``: all). Preferred places are always listed.
    preferred
        A site's own list (:func:`sites.lodging_lists.read_lodging_list`): listed first,
        whatever the verdict.
    prescreen_kmh
        Straight-line speed bound of the pre-screen (default :data:`PRESCREEN_KMH`).
    """
    wanted = _kinds(kinds)
    if limit is not None and limit < 0:
        raise ValidationError(f"limit must be 0 or more, got {limit}")
    if not (np.isfinite(prescreen_kmh) and prescreen_kmh > 0):
        raise ValidationError(f"prescreen_kmh must be a positive speed, got {prescreen_kmh}")
    base = lodging if lodging is not None else empty_lodging()
    missing = [c for c in ("kind", "name") if c not in base.columns]
    if missing:
        raise ValidationError(f"the lodging frame lacks column(s) {', '.join(missing)}")
    osm = base[base["kind"].isin(wanted)].copy()
    considered = len(osm)
    pref = preferred if preferred is not None else empty_lodging()
    dup = _same_place(osm, pref)
    osm = osm[~dup]

    site_xy = np.array([[site.lon, site.lat]])
    reach_km = rule.max_drive_min / 60.0 * prescreen_kmh
    oxy = _xy(osm)
    straight = haversine_km(oxy, site_xy)[:, 0] if len(osm) else np.zeros(0)
    keep = np.isfinite(straight) & (straight <= reach_km)
    beyond = int((~keep).sum())
    osm = osm[keep]
    osm_straight = straight[keep]

    routed = _route(router, oxy[keep], site, rule.max_drive_s)
    seconds, edge, engine = routed.seconds, routed.edge, routed.engine
    # Per row: an estimated time gets the estimate's margin even when others are routed.
    verdict = rule.verdicts(seconds, engine, routed.estimated).astype(object)
    # Where the graph's two engines fall on different sides of the limit: borderline.
    disagree = ~routed.estimated & rule.contradicted(verdict, routed.second_s)
    verdict[disagree] = Verdict.BORDERLINE.value
    verdict = verdict.astype(str)
    disagree_n = int(disagree.sum())
    no_route = int((verdict == Verdict.UNKNOWN.value).sum())
    outside = int((verdict == Verdict.OUTSIDE.value).sum())
    ok = np.isin(verdict, [Verdict.WITHIN.value, Verdict.BORDERLINE.value])
    osm = osm.assign(
        preferred=False,
        drive_min=seconds / 60.0,
        spare_min=rule.spare_min(seconds),
        verdict=verdict,
        edge_warning=edge,
        straight_km=osm_straight,
        engine=routed.labels,
        estimated=routed.estimated,
    )[ok]
    osm = osm.sort_values(["drive_min", "name"], kind="mergesort")
    truncated = 0
    if limit is not None and len(osm) > limit:
        truncated = len(osm) - limit
        osm = osm.iloc[:limit]

    if len(pref):
        pxy = _xy(pref)
        p = _route(router, pxy, site, rule.max_drive_s)
        p_seconds = p.seconds
        engine = p.engine if len(osm) == 0 else engine
        p_verdict = rule.verdicts(p_seconds, p.engine, p.estimated).astype(object)
        p_disagree = ~p.estimated & rule.contradicted(p_verdict, p.second_s)
        p_verdict[p_disagree] = Verdict.BORDERLINE.value
        disagree_n += int(p_disagree.sum())
        pref = pref.assign(
            preferred=True,
            drive_min=p_seconds / 60.0,
            spare_min=rule.spare_min(p_seconds),
            verdict=p_verdict.astype(str),
            edge_warning=p.edge,
            engine=p.labels,
            estimated=p.estimated,
            straight_km=haversine_km(pxy, site_xy)[:, 0],
        ).sort_values(["drive_min", "name"], kind="mergesort", na_position="last")

    parts = [p for p in (pref, osm) if len(p)]
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = empty_lodging().assign(
            preferred=pd.Series([], dtype=bool),
            drive_min=pd.Series([], dtype=float),
            spare_min=pd.Series([], dtype=float),
            verdict=pd.Series([], dtype=object),
            edge_warning=pd.Series([], dtype=bool),
            straight_km=pd.Series([], dtype=float),
            engine=pd.Series([], dtype=object),
            estimated=pd.Series([], dtype=bool),
        )
    for col in RESULT_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    frame["preferred"] = frame["preferred"].astype(bool)
    frame["edge_warning"] = frame["edge_warning"].astype(bool)
    for col in ("drive_min", "spare_min", "straight_km"):
        frame[col] = frame[col].astype(float)
    text_cols = [c for c in (*LODGING_COLUMNS, "note") if c in frame.columns]
    frame[text_cols] = frame[text_cols].fillna("").astype(str)
    frame["phone"] = phone_labels(frame["phone"])  # "(614) 280-1234": nothing to neutralise
    frame["eligibility_note"] = _rule_note(rule, frame["name"], frame["eligibility_note"])
    frame["estimated"] = frame["estimated"].astype(bool)
    frame["engine_data_date"] = engine.data_date
    out = gpd.GeoDataFrame(frame[RESULT_COLUMNS], geometry=frame.geometry.values, crs="EPSG:4326")

    notices = [OSM_NOTICE]
    if disagree_n:
        notices.append(
            f"{disagree_n} drive time(s) near the limit differ between the graph's two engines "
            "(OSRM and Valhalla) across the limit: marked borderline; check those places"
        )
    if engine.is_estimate or (len(out) and out["estimated"].all()):
        notices.append(
            "drive times are estimates from straight-line distance, not routed; "
            "confirm a chosen place with a routed check"
        )
    elif out["estimated"].any():
        notices.append(
            f"{int(out['estimated'].sum())} of {len(out)} drive times are estimates (no road "
            "graph covers them; marked, with a wider margin); confirm them with a routed check"
        )
    if out["edge_warning"].any():
        notices.append(
            "some drive times run into the edge of the road data and may be wrong (marked)"
        )
    return LodgingSearch(
        frame=out,
        site=site,
        rule=rule,
        engine=engine,
        considered=considered,
        beyond_reach=beyond,
        outside=outside,
        no_route=no_route,
        truncated=truncated,
        duplicates_of_preferred=int(dup.sum()),
        notices=tuple(notices),
    )


def find_lodging(
    site_point: LonLat,
    lodging: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    kinds: Iterable[str] | str | None = None,
    limit: int | None = 50,
    preferred: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Candidates within the rule's drive time of the site, preferred first, then by drive time.

    The frame of :func:`search_lodging` (columns :data:`RESULT_COLUMNS` + geometry); its
    ``attrs["counts"]`` holds the counts of what was left out (``considered``, ``beyond_reach``,
    ``outside``, ``no_route``, ``truncated``, ``duplicates_of_preferred``); use
    :func:`search_lodging` for them as a typed result with the notices.
    """
    result = search_lodging(site_point, lodging, rule, router, kinds, limit, preferred)
    frame = result.frame
    frame.attrs["counts"] = result.counts
    return frame
