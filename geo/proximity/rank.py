"""Sites ranked by drive time from one place (a patient's question), judged as check() judges."""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from geo.proximity.fallback import fill_cut_cells, outside_data_reason
from geo.proximity.judge import judge
from geo.routing.base import Router, as_lonlat_array
from geo.rules import ProximityRule
from geo.types import LonLat, Precision, Verdict


def rank_sites(
    place: LonLat,
    sites: gpd.GeoDataFrame,
    router: Router,
    rule: ProximityRule | None = None,
    *,
    precision: str = Precision.COORDINATES.value,
) -> gpd.GeoDataFrame:
    """Sites ordered by drive time from ``place`` (quickest first), for a patient.

    Parameters
    ----------
    place
        The patient's place (lon, lat in degrees).
    sites
        Sites with point geometry (EPSG:4326); ``coord_precision`` when a site's point is only
        approximate (a city centre).
    router
        The engine. Where it estimates what it cannot route (``auto``) and the road data stops
        between the place and a site, that pair is estimated and labelled so
        (:mod:`geo.proximity.fallback`).
    rule
        With a rule, every site gets the verdict :func:`geo.proximity.check` would give the
        place against that site alone (one rule: :func:`geo.proximity.judge.judge`).
    precision
        How exact ``place`` is (a :class:`~geo.types.Precision` value): a ZIP or city centroid
        cannot make a confident ``within`` that its error could eat.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites with ``drive_min`` (minutes, NaN when there is no time), ``distance_km``,
        ``engine`` (per site: ``auto`` may route some sites and estimate others),
        ``estimated`` and, with a rule, ``verdict``, ``spare_min``, ``margin_min`` (minutes)
        and ``reason``. Sites without a time come last.
    """
    origin = as_lonlat_array([place], "place")
    site_xy = np.column_stack([sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()])
    matrix = fill_cut_cells(router, origin, site_xy, router.drive_times(origin, site_xy))
    seconds = matrix.duration_s[0]
    estimated = matrix.cell_estimated()[0]
    labels = matrix.cell_labels()[0]
    out = sites.copy()
    out["drive_min"] = np.round(seconds / 60.0, 1)
    out["distance_km"] = np.round(matrix.distance_m[0] / 1000.0, 1)
    out["engine"] = labels
    out["estimated"] = estimated
    if rule is not None:
        n = len(seconds)
        second_s = np.full(n, np.nan)
        second_names = np.full(n, "", dtype=object)
        second = router.second_opinion(origin, site_xy, matrix, rule.max_drive_s)
        if second is not None:
            second_s = np.where(estimated, np.nan, second.duration_s[0])
            second_names = second.cell_labels()[0]
        edge = (
            matrix.edge_warning[0] if matrix.edge_warning is not None else np.zeros(n, dtype=bool)
        )
        site_precision = (
            sites["coord_precision"].fillna("").astype(str).to_numpy()
            if "coord_precision" in sites.columns
            else np.full(n, "")
        )
        judged = judge(
            rule,
            matrix.engine,
            lower_s=seconds,
            upper_s=seconds,
            drive_s=seconds,
            estimated=estimated,
            edge=edge,
            place_precision=np.full(n, precision),
            site_precision=site_precision,
            second_s=second_s,
            labels=labels,
            second_labels=second_names,
            notes=matrix.cell_notes()[0],
            no_route="no road route found to this site",
        )
        if not router.covers(origin)[0]:  # no road data at the place: say so, as check() does
            unknown = judged.verdict == Verdict.UNKNOWN.value
            judged.reason[unknown] = outside_data_reason(router)
        out["verdict"] = judged.verdict.astype(str)
        out["spare_min"] = np.round(rule.spare_min(seconds), 1)
        out["margin_min"] = judged.margin_min
        out["reason"] = judged.reason.astype(str)
    return out.sort_values("drive_min", na_position="last", kind="stable")
