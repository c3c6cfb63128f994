"""Population coverage of a set of sites: who lives within the rule's drive time, who does not.

:func:`coverage` answers a planner's first question: how many people live within the rule's
drive time of the nearest site, and where are the rest? Every population unit (ZCTA, county or
a user's points) gets the drive time to its nearest site, a band (≤ 1 h, 1–2 h, 2–5 h, > 5 h,
unknown) and whether it is within the rule. Totals always add up to the input population.
Where one more site would help most is :mod:`geo.siting`.

Scale: drive times are only computed between points that *can* be within the limit. For the
``estimate`` engine the straight-line radius of the limit is exact (time grows with distance);
for a routing engine no drive is faster than ``max_speed_kmh`` in a straight line, so candidates
beyond that radius are skipped before any routing. Pairs are kept as sparse arrays, never as a
dense matrix of Python objects. :mod:`geo.distributed` runs the same steps on a Dask cluster.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from geo.errors import ValidationError
from geo.geodesy import EARTH_RADIUS_KM, haversine_km, pairwise_km
from geo.population import PopulationKind, load_population
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, NearestResult, Router, concat_nearest
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.types import EngineInfo, FloatArray

IntArray = npt.NDArray[np.int64]
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while population units are routed."""

DEFAULT_BANDS_MIN: tuple[float, ...] = (60.0, 120.0, 300.0)
"""Band edges in minutes: ≤ 1 h, 1–2 h, 2–5 h, > 5 h (and ``unknown``)."""
UNKNOWN_BAND = "unknown"
MAX_SPEED_KMH = MAX_PLAUSIBLE_SPEED_KMH
"""No drive is faster than this in a straight line (used to skip hopeless pairs before routing)."""
DEFAULT_MIN_BEDS = 100
"""Default bed threshold for candidate hospitals in :func:`default_candidates`."""


# --------------------------------------------------------------------------------------------
# Bands and time helpers
# --------------------------------------------------------------------------------------------
def _fmt_edge(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes % 60 == 0 else f"{minutes:g} min"


def band_labels(bands_min: Sequence[float] = DEFAULT_BANDS_MIN) -> list[str]:
    """Band names for edges in minutes, e.g. ``['≤ 1 h', '1–2 h', '2–5 h', '> 5 h', 'unknown']``."""
    edges = list(bands_min)
    hours = all(e % 60 == 0 for e in edges)
    unit = " h" if hours else " min"

    def num(m: float) -> str:
        return f"{m / 60:g}" if hours else f"{m:g}"

    labels = [f"≤ {_fmt_edge(edges[0])}"]
    labels += [f"{num(a)}–{num(b)}{unit}" for a, b in itertools.pairwise(edges)]
    labels.append(f"> {_fmt_edge(edges[-1])}")
    return [*labels, UNKNOWN_BAND]


def seconds_to_minutes(seconds: FloatArray) -> FloatArray:
    """Seconds to minutes, rounded to 1e-6 min so a drive of exactly a limit stays within it."""
    return np.round(np.asarray(seconds, dtype=float) / 60.0, 6)


def _band_index(minutes: FloatArray, edges: FloatArray) -> IntArray:
    """Band index for each time: i where edges[i-1] < t ≤ edges[i] (len(edges) beyond the last)."""
    return np.searchsorted(edges, minutes, side="left").astype(np.int64)


def _check_bands(bands_min: Sequence[float]) -> FloatArray:
    edges = np.asarray(list(bands_min), dtype=float)
    if (
        edges.size == 0
        or not np.all(np.isfinite(edges))
        or np.any(edges <= 0)
        or np.any(np.diff(edges) <= 0)
    ):
        raise ValidationError(
            f"bands_min must be increasing positive minutes, got {list(bands_min)}"
        )
    return edges


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def lonlat_of(frame: gpd.GeoDataFrame, what: str) -> FloatArray:
    """(n, 2) lon/lat of a frame's geometries (points; other shapes → representative point).

    Rows without a geometry get NaN coordinates (they are kept and reported, never dropped).
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValidationError(f"{what} must be a GeoDataFrame with point geometries")
    geoms = frame.geometry
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs("EPSG:4326")
    missing = geoms.isna().to_numpy() | geoms.is_empty.to_numpy()
    xy = np.full((len(frame), 2), np.nan)
    if (~missing).any():
        ok = geoms[~missing]
        not_point = (ok.geom_type != "Point").to_numpy()
        if not_point.any():
            ok = ok.where(~not_point, ok.representative_point())
        xy[~missing, 0] = ok.x.to_numpy(float)
        xy[~missing, 1] = ok.y.to_numpy(float)
    bad = np.isfinite(xy).all(axis=1) & ((np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90))
    if bad.any():
        raise ValidationError(
            f"{what}: coordinates out of lon/lat range at rows "
            f"{np.flatnonzero(bad)[:10].tolist()}; "
            "set the frame's CRS so it can be converted to EPSG:4326"
        )
    return xy


def population_frame(
    population: PopulationKind | gpd.GeoDataFrame,
    population_column: str,
    settings: Settings | None,
) -> tuple[gpd.GeoDataFrame, FloatArray, str]:
    """The population frame, its weights (validated) and a label for the source."""
    if isinstance(population, str):
        frame = load_population(population, settings)  # type: ignore[arg-type]
        label = f"{population} (2020 Census)"
    elif isinstance(population, gpd.GeoDataFrame):
        frame = population
        label = str(population.attrs.get("source", "user population"))
    else:
        raise ValidationError(
            f"population must be 'zcta', 'county' or a GeoDataFrame, got {population!r}"
        )
    if population_column not in frame.columns:
        raise ValidationError(
            f"the population frame has no {population_column!r} column "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    weights = pd.to_numeric(frame[population_column], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        rows = frame.index[bad][:10].tolist()
        raise ValidationError(
            f"population must be a non-negative number on every row; {int(bad.sum())} rows are "
            f"not (first: {rows}). Fix or remove them explicitly: none is dropped silently."
        )
    return frame, weights, label


def site_points(
    sites: gpd.GeoDataFrame, what: str = "sites"
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    xy = lonlat_of(sites, what)
    usable = np.asarray(np.isfinite(xy).all(axis=1), dtype=bool)
    return xy, usable


def _column_or_index(frame: pd.DataFrame, column: str) -> npt.NDArray[np.object_]:
    if column in frame.columns:
        return frame[column].astype(str).to_numpy(object)
    return frame.index.astype(str).to_numpy(object)


# --------------------------------------------------------------------------------------------
# Nearest site for every unit (chunked)
# --------------------------------------------------------------------------------------------
def _empty_nearest(n: int, engine: EngineInfo) -> NearestResult:
    nan = np.full(n, np.nan)
    return NearestResult(
        index=np.full(n, -1, dtype=np.int64),
        duration_s=nan,
        lower_s=nan.copy(),
        upper_s=nan.copy(),
        distance_m=nan.copy(),
        engine=engine,
        edge_warning=np.zeros(n, dtype=bool),
        method=np.full(n, "none"),
    )


def nearest_in_chunks(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    horizon_s: float | None,
    chunk_size: int = 5000,
    progress: Progress | None = None,
) -> NearestResult:
    """:meth:`Router.nearest` over ``origins`` in chunks (for progress and bounded memory)."""
    n = len(origins)
    parts: list[NearestResult] = []
    for start in range(0, n, max(1, chunk_size)):
        parts.append(router.nearest(origins[start : start + chunk_size], destinations, horizon_s))
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    if not parts:
        return _empty_nearest(0, router.info)
    return concat_nearest(parts)


# --------------------------------------------------------------------------------------------
# Reach-bounded routing: only the (unit, site) pairs that can be within the limit
# --------------------------------------------------------------------------------------------
def reach_km(limit_s: float, max_speed_kmh: float = MAX_SPEED_KMH) -> float:
    """Straight-line km beyond which no drive can take at most ``limit_s`` seconds.

    The same bound as the data-edge rule: no drive covers more than ``max_speed_kmh``
    (:data:`geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`) as the crow flies.
    """
    return float(limit_s) / 3600.0 * float(max_speed_kmh)


def _unit_vectors(xy: FloatArray) -> FloatArray:
    lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def pairs_in_reach(
    origins: FloatArray, destinations: FloatArray, radius_km: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (origin, destination) pair at most ``radius_km`` apart on the great circle.

    A 2-D spatial index on the sphere: both point sets go into KD-trees on unit vectors, where
    the chord length is a monotone function of the great-circle distance, so the query radius
    is exact at any latitude (no latitude bands, no projection distortion). The candidates are
    then checked with the haversine distance (km), the same formula as the data-edge rule.
    Points with NaN coordinates never pair.

    Returns
    -------
    origin, destination : numpy.ndarray of int64
        Positions in the inputs, sorted by destination then origin.
    km : numpy.ndarray
        Great-circle km of each pair.
    """
    o_ok = np.flatnonzero(np.isfinite(origins).all(axis=1))
    d_ok = np.flatnonzero(np.isfinite(destinations).all(axis=1))
    empty = np.zeros(0, dtype=np.int64)
    if o_ok.size == 0 or d_ok.size == 0 or not radius_km >= 0:
        return empty, empty.copy(), np.zeros(0)
    angle = min(radius_km / EARTH_RADIUS_KM, math.pi)
    chord = 2.0 * math.sin(angle / 2.0) * (1 + 1e-9) + 1e-12
    t_o = cKDTree(_unit_vectors(origins[o_ok]))
    t_d = cKDTree(_unit_vectors(destinations[d_ok]))
    found = t_d.sparse_distance_matrix(t_o, chord, output_type="ndarray")
    di = d_ok[found["i"].astype(np.int64)]
    oi = o_ok[found["j"].astype(np.int64)]
    km = pairwise_km(origins[oi], destinations[di])
    keep = km <= radius_km
    oi, di, km = oi[keep], di[keep], km[keep]
    order = np.lexsort((oi, di))
    return oi[order], di[order], km[order]


@dataclass(frozen=True)
class PairTimes:
    """Drive times of sparse (origin → destination) pairs, with per-pair provenance."""

    duration_s: FloatArray
    distance_m: FloatArray
    estimated: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.object_]
    edge_warning: npt.NDArray[np.bool_]
    engine: EngineInfo
    calls: int
    """Engine calls made (one block per destination)."""


def route_pairs(
    router: Router, origins: FloatArray, destinations: FloatArray, oi: IntArray, di: IntArray
) -> PairTimes:
    """Drive times for exactly the pairs ``(origins[oi[k]] → destinations[di[k]])``.

    Pairs are blocked per destination: one table call of (its origins × 1 destination) each,
    through :meth:`Router.drive_times` (the exact table engine where the router has one), so
    the engine is asked for ``len(oi)`` cells and no more. Direction: origin (population unit)
    → destination (site).
    """
    n = len(oi)
    dur = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    est = np.zeros(n, dtype=bool)
    labels = np.full(n, router.info.label, dtype=object)
    edge = np.zeros(n, dtype=bool)
    if n == 0:
        return PairTimes(dur, dist, est, labels, edge, router.info, 0)
    order = np.argsort(di, kind="stable")
    dests, starts = np.unique(di[order], return_index=True)
    bounds = [*starts.tolist(), n]
    for b, j in enumerate(dests.tolist()):  # one engine call per destination block
        rows = order[bounds[b] : bounds[b + 1]]
        m = router.drive_times(origins[oi[rows]], destinations[j : j + 1])
        dur[rows] = m.duration_s[:, 0]
        dist[rows] = m.distance_m[:, 0]
        est[rows] = m.cell_estimated()[:, 0]
        labels[rows] = m.cell_labels()[:, 0]
        if m.edge_warning is not None:
            edge[rows] = m.edge_warning[:, 0]
    return PairTimes(dur, dist, est, labels, edge, router.info, len(dests))


def nearest_in_reach_chunks(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    limit_s: float,
    chunk_size: int = 5000,
    progress: Progress | None = None,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[NearestResult, ReachStats]:
    """:func:`nearest_in_reach` over ``origins`` in chunks; the counts are summed."""
    n = len(origins)
    parts: list[NearestResult] = []
    stats: list[ReachStats] = []
    for start in range(0, n, max(1, chunk_size)):
        near, st = nearest_in_reach(
            router,
            origins[start : start + chunk_size],
            destinations,
            limit_s,
            max_speed_kmh=max_speed_kmh,
        )
        parts.append(near)
        stats.append(st)
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    radius = reach_km(limit_s, max_speed_kmh)
    total = ReachStats(
        pairs_asked=sum(s.pairs_asked for s in stats),
        pairs_possible=sum(s.pairs_possible for s in stats),
        reach_km=radius,
        max_speed_kmh=float(max_speed_kmh),
        engine_calls=sum(s.engine_calls for s in stats),
    )
    if not parts:
        return _empty_nearest(0, router.info), total
    return concat_nearest(parts), total


@dataclass(frozen=True)
class ReachStats:
    """How much routing a reach-bounded run asked for."""

    pairs_asked: int
    """Pairs whose drive time the engine was asked for (inside the reach)."""
    pairs_possible: int
    """All located origin × destination pairs (what an unbounded run would route)."""
    reach_km: float
    max_speed_kmh: float
    engine_calls: int


def nearest_in_reach(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    limit_s: float,
    *,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[NearestResult, ReachStats]:
    """Each origin's quickest destination, routing only the pairs inside the limit's reach.

    A destination farther than :func:`reach_km` in a straight line cannot be within
    ``limit_s``; those pairs are never routed. Per origin:

    - a routed time at most the limit is exact (nothing beyond the reach can beat it);
    - a routed time over the limit is exact only if no site beyond the reach could be quicker
      by the straight-line bound; otherwise only bounds are reported (``lower_s`` from the
      bound, ``upper_s`` the routed time), both over the limit;
    - no site within reach: ``outside`` by bound — ``lower_s`` is the straight line to the
      nearest site at ``max_speed_kmh`` (over the limit), ``upper_s`` NaN, method
      ``screened``;
    - sites within reach but no route to any of them: unknown (NaN bounds), never outside
      (an unbounded run might call it outside when a farther site routes; unknown is the
      cautious answer);
    - an unroutable in-reach cell flagged near the data edge sets ``edge_warning``.
    """
    o = np.asarray(origins, dtype=float).reshape(-1, 2)
    d = np.asarray(destinations, dtype=float).reshape(-1, 2)
    n = len(o)
    radius = reach_km(limit_s, max_speed_kmh)
    oi, di, _ = pairs_in_reach(o, d, radius)
    times = route_pairs(router, o, d, oi, di)
    res = _empty_nearest(n, router.info)
    index, duration, lower, upper, distance = (
        res.index.copy(),
        res.duration_s.copy(),
        res.lower_s.copy(),
        res.upper_s.copy(),
        res.distance_m.copy(),
    )
    method = np.full(n, "screened", dtype=object)
    labels = np.full(n, router.info.label, dtype=object)
    estimated = np.zeros(n, dtype=bool)
    edge = np.zeros(n, dtype=bool)
    # Quickest finite routed pair per origin (vectorised: sort by origin, then time).
    finite = np.isfinite(times.duration_s)
    fo = oi[finite]
    order = np.lexsort((times.duration_s[finite], fo))
    best_o, first = np.unique(fo[order], return_index=True)
    pick = np.flatnonzero(finite)[order[first]]
    best_s = times.duration_s[pick]
    # Straight-line bound of the quickest site *beyond* the reach, per origin with a pair.
    ok_d = np.isfinite(d).all(axis=1)
    beyond_s = np.full(n, np.inf)
    located = np.flatnonzero(np.isfinite(o).all(axis=1))
    step = max(1, 2_000_000 // max(1, int(ok_d.sum())))
    for s in range(0, len(located), step):  # bounded-memory blocks of the dense bound
        rows = located[s : s + step]
        km = haversine_km(o[rows], d[ok_d])
        km = np.where(km > radius, km, np.inf)
        if km.shape[1]:
            beyond_s[rows] = km.min(axis=1) / max_speed_kmh * 3600.0
    limit_min = round(limit_s / 60.0, 6)
    over = seconds_to_minutes(best_s) > limit_min
    exact = ~over | (beyond_s[best_o] >= best_s)
    ex_o, ex_p = best_o[exact], pick[exact]
    index[ex_o] = di[ex_p]
    duration[ex_o] = best_s[exact]
    lower[ex_o] = best_s[exact]
    upper[ex_o] = best_s[exact]
    distance[ex_o] = times.distance_m[ex_p]
    bo, bp = best_o[~exact], pick[~exact]
    lower[bo] = beyond_s[bo]
    upper[bo] = times.duration_s[bp]
    for rows_o, rows_p in ((ex_o, ex_p), (bo, bp)):
        estimated[rows_o] = times.estimated[rows_p]
        labels[rows_o] = times.labels[rows_p]
        edge[rows_o] = times.edge_warning[rows_p]
        method[rows_o] = np.where(times.estimated[rows_p], "estimated", "routed")
    # No site within the reach at all: outside by the straight-line bound of the nearest site.
    # Sites within the reach but no route to any of them: unknown (the unit may be off the road
    # data), never outside — more cautious than an unbounded run, which would call it outside
    # if some farther site happened to route.
    has_pair = np.zeros(n, dtype=bool)
    has_pair[oi] = True
    has_best = np.zeros(n, dtype=bool)
    has_best[best_o] = True
    none = np.isfinite(o).all(axis=1) & ~has_pair & np.isfinite(beyond_s)
    lower[none] = beyond_s[none]
    method[has_pair & ~has_best] = "routed"
    doubt = np.zeros(n, dtype=bool)
    doubt[oi[~finite & times.edge_warning]] = True
    edge |= doubt
    nearest = NearestResult(
        index=index,
        duration_s=duration,
        lower_s=lower,
        upper_s=upper,
        distance_m=distance,
        engine=router.info,
        edge_warning=edge,
        method=method.astype(str),
        labels=labels.astype(str),
        estimated=estimated,
    )
    located_d = int(ok_d.sum())
    stats = ReachStats(
        pairs_asked=len(oi),
        pairs_possible=len(located) * located_d,
        reach_km=radius,
        max_speed_kmh=float(max_speed_kmh),
        engine_calls=times.calls,
    )
    return nearest, stats


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoverageResult:
    """Who lives within the rule's drive time of the nearest site.

    Attributes
    ----------
    rule, engine
        The rule applied and the engine that produced the drive times (with its provenance).
    population_source
        Where the population came from (e.g. ``zcta (2020 Census)``).
    total_population
        Sum of the input population; ``covered + outside + unknown`` always equals it.
    covered_population, outside_population, unknown_population
        Within the rule; known to be beyond it; no trustworthy drive time (no point, no route).
    bands
        One row per band: ``band``, ``units``, ``population``, ``share`` (of the total).
    by_state
        Index ``state``; columns ``population``, one per band, ``covered_population``,
        ``uncovered_population`` (outside + unknown), ``share_covered``, and
        ``routed_population``/``share_routed``: people answered by routing on road data (not
        the estimate engine, not a straight-line bound).
    units
        Every input unit (its index and columns kept) plus ``nearest_site_id``,
        ``nearest_site_name``, ``duration_s``, ``duration_min``, ``lower_s``, ``upper_s``,
        ``distance_m``, ``band``, ``within_rule`` (nullable boolean), ``method``, ``engine`` (label
        of the engine that answered the row), ``estimated``, ``note``.
    sites_used, sites_skipped
        Sites with coordinates that were routed to, and sites without usable coordinates.
    elapsed_s, compute
        Wall time and how the work ran (``local, 7 chunks`` or ``dask: 2 workers, ...``).
    """

    rule: ProximityRule
    engine: EngineInfo
    population_source: str
    total_population: float
    covered_population: float
    outside_population: float
    unknown_population: float
    bands: pd.DataFrame
    by_state: pd.DataFrame
    units: gpd.GeoDataFrame
    sites_used: int
    sites_skipped: int
    elapsed_s: float
    compute: str = "local"
    notes: tuple[str, ...] = field(default_factory=tuple)
    reach: ReachStats | None = None
    """Pairs asked vs possible when routing was bounded by the rule's reach (else None)."""

    @property
    def share_covered(self) -> float:
        return (
            self.covered_population / self.total_population if self.total_population else math.nan
        )

    @property
    def estimated_share(self) -> float:
        """Share of the population whose drive time came from the estimate engine."""
        est = self.units["estimated"].to_numpy(bool)
        w = self.units["population_weight"].to_numpy(float)
        return float(w[est].sum() / self.total_population) if self.total_population else 0.0

    @property
    def uncertain_population(self) -> float:
        """People counted as covered on an *estimated* time within the estimate's error of the
        limit (``time × (1 + error_fraction) > limit``): covered by the estimate, but not
        confidently. They stay in ``covered_population`` (so totals add up) and are reported
        here; ``confident_covered_population`` leaves them out."""
        u = self.units
        err = float(self.engine.error_fraction)
        est = u["estimated"].to_numpy(bool)
        within = u["within_rule"].to_numpy(dtype=bool, na_value=False)
        t = u["duration_s"].to_numpy(float)
        near = np.isfinite(t) & (t * (1.0 + err) > self.rule.max_drive_s)
        return float(u["population_weight"].to_numpy(float)[est & within & near].sum())

    @property
    def confident_covered_population(self) -> float:
        """Covered, minus :attr:`uncertain_population`."""
        return self.covered_population - self.uncertain_population

    @property
    def routed_share(self) -> float:
        """Share of the population answered from road data (see ``by_state.share_routed``)."""
        routed = float(self.by_state["routed_population"].sum())
        return routed / self.total_population if self.total_population else math.nan

    @property
    def uncovered_population(self) -> float:
        return self.outside_population + self.unknown_population

    @property
    def uncovered(self) -> gpd.GeoDataFrame:
        """Units not known to be within the rule (outside or unknown), most populous first."""
        mask = ~self.units["within_rule"].fillna(False).astype(bool)
        return self.units[mask].sort_values("population_weight", ascending=False, kind="stable")

    def band_population(self, label: str) -> float:
        row = self.bands.loc[self.bands["band"] == label, "population"]
        if row.empty:
            raise ValidationError(f"no band {label!r}; bands: {', '.join(self.bands['band'])}")
        return float(row.iloc[0])

    def share_within_min(self, minutes: float) -> float:
        """Share of the population whose nearest site is known to be within ``minutes``."""
        t = self.units["duration_min"].to_numpy(float)
        w = self.units["population_weight"].to_numpy(float)
        return float(w[np.isfinite(t) & (t <= minutes)].sum() / self.total_population)

    def median_minutes(self) -> float:
        """Population-weighted median drive time (unknowns counted as longest)."""
        t = self.units["duration_min"].to_numpy(float)
        w = self.units["population_weight"].to_numpy(float)
        t = np.where(np.isfinite(t), t, np.inf)
        order = np.argsort(t, kind="stable")
        cum = np.cumsum(w[order])
        pos = int(np.searchsorted(cum, cum[-1] / 2.0, side="left")) if len(cum) else 0
        return float(t[order][pos]) if len(cum) else math.nan

    def summary(self) -> str:
        return (
            f"{self.covered_population:,.0f} of {self.total_population:,.0f} people "
            f"({self.share_covered:.1%}) live within {self.rule.max_drive_min:g} min of a site "
            f"({self.engine.label}); {self.outside_population:,.0f} beyond, "
            f"{self.unknown_population:,.0f} unknown"
        )


def _assert_totals(total: float, parts: Sequence[float], what: str) -> None:
    """Totals must add up to the input population; anything else is a bug, never ignored."""
    got = math.fsum(parts)
    if not math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-6):
        raise AssertionError(f"{what} add up to {got!r}, not the input population {total!r}")


@dataclass(frozen=True)
class _Prepared:
    frame: gpd.GeoDataFrame
    weights: FloatArray
    label: str
    unit_xy: FloatArray
    unit_ok: npt.NDArray[np.bool_]
    site_xy: FloatArray
    site_ids: npt.NDArray[np.object_]
    site_names: npt.NDArray[np.object_]
    sites_skipped: int


def prepare_coverage(
    sites: gpd.GeoDataFrame,
    population: PopulationKind | gpd.GeoDataFrame,
    population_column: str = "population",
    settings: Settings | None = None,
) -> _Prepared:
    """Validate inputs and extract coordinates (shared by the local and Dask paths)."""
    frame, weights, label = population_frame(population, population_column, settings)
    unit_xy = lonlat_of(frame, "population")
    site_xy, usable = site_points(sites)
    if not usable.any():
        raise ValidationError("no site has coordinates; coverage needs at least one located site")
    return _Prepared(
        frame=frame,
        weights=weights,
        label=label,
        unit_xy=unit_xy,
        unit_ok=np.asarray(np.isfinite(unit_xy).all(axis=1), dtype=bool),
        site_xy=site_xy[usable],
        site_ids=_column_or_index(sites, "site_id")[usable],
        site_names=_column_or_index(sites, "name")[usable],
        sites_skipped=int((~usable).sum()),
    )


def assemble_coverage(
    prep: _Prepared,
    nearest: NearestResult,
    rule: ProximityRule,
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    elapsed_s: float = 0.0,
    compute: str = "local",
) -> CoverageResult:
    """Build the result from each located unit's nearest-site answer (vectorised).

    ``nearest`` covers the units with coordinates (``prep.unit_ok``), in order.
    """
    edges = _check_bands(bands_min)
    labels = band_labels(edges.tolist())
    n = len(prep.frame)
    ok = prep.unit_ok
    full = _empty_nearest(n, nearest.engine)
    index = full.index.copy()
    index[ok] = nearest.index
    cols: dict[str, FloatArray] = {}
    for name in ("duration_s", "lower_s", "upper_s", "distance_m"):
        arr = np.full(n, np.nan)
        arr[ok] = getattr(nearest, name)
        cols[name] = arr
    method = np.full(n, "none", dtype=object)
    method[ok] = nearest.method
    edge = np.zeros(n, dtype=bool)
    edge[ok] = nearest.edge_warning
    row_engine = np.full(n, "", dtype=object)
    row_engine[ok] = nearest.row_labels()
    row_estimated = np.zeros(n, dtype=bool)
    row_estimated[ok] = nearest.row_estimated()

    duration = cols["duration_s"]
    exact = np.isfinite(duration)
    lo_min = seconds_to_minutes(np.where(exact, duration, cols["lower_s"]))
    hi_min = seconds_to_minutes(
        np.where(exact, duration, np.where(np.isfinite(cols["upper_s"]), cols["upper_s"], np.inf))
    )
    # Band: exact time, else bounds that fall in a single band; otherwise unknown.
    band_lo = _band_index(lo_min, edges)
    band_hi = _band_index(hi_min, edges)
    known_band = np.isfinite(lo_min) & (band_lo == band_hi)
    band_idx = np.where(known_band, band_lo, len(edges) + 1)
    limit = float(rule.max_drive_min)
    within = pd.array(np.full(n, pd.NA), dtype="boolean")
    # The rule is decided by the bounds alone: a screening engine may know "over 2 h 15 min"
    # without knowing which site is nearest.
    yes = np.isfinite(hi_min) & (hi_min <= limit)
    no = np.isfinite(lo_min) & (lo_min > limit)
    within[yes] = True
    within[no] = False

    note = np.full(n, "", dtype=object)
    note[~ok] = "no coordinates for this unit"
    bounded = np.isfinite(lo_min) | np.isfinite(hi_min)
    note[ok & ~bounded] = "no route to any site"
    note[ok & bounded & ~known_band] = "only bounds known for the drive time"
    note[edge & (note == "")] = "answer near the edge of the road data"

    safe = np.clip(index, 0, None)
    has = index >= 0
    units = prep.frame.copy()
    units["population_weight"] = prep.weights
    units["nearest_site_id"] = np.where(has, prep.site_ids[safe] if len(prep.site_ids) else "", "")
    units["nearest_site_name"] = np.where(
        has, prep.site_names[safe] if len(prep.site_names) else "", ""
    )
    units["duration_s"] = duration
    units["duration_min"] = duration / 60.0
    units["lower_s"] = cols["lower_s"]
    units["upper_s"] = cols["upper_s"]
    units["distance_m"] = cols["distance_m"]
    units["band"] = np.asarray(labels, dtype=object)[band_idx]
    units["within_rule"] = within
    units["method"] = method
    units["engine"] = row_engine
    units["estimated"] = row_estimated
    units["note"] = note

    w = prep.weights
    total = math.fsum(w)
    band_pop = np.bincount(band_idx, weights=w, minlength=len(labels))
    band_units = np.bincount(band_idx, minlength=len(labels))
    bands = pd.DataFrame(
        {
            "band": labels,
            "units": band_units.astype(np.int64),
            "population": band_pop,
            "share": band_pop / total if total else np.nan,
        }
    )
    covered = float(w[yes].sum())
    outside = float(w[no].sum())
    unknown = float(w[~yes & ~no].sum())
    _assert_totals(total, band_pop.tolist(), "band populations")
    _assert_totals(total, [covered, outside, unknown], "covered + outside + unknown")

    by_state = _by_state(units, w, band_idx, labels, yes)
    _assert_totals(total, by_state["population"].tolist(), "state populations")
    # Where the answers came from, per state: routed on road data, or estimated.
    routed_row = ok & ~row_estimated & (method == "routed") & (not nearest.engine.is_estimate)
    codes = pd.Index(by_state.index).get_indexer(
        units["state"].astype(str).replace({"": "—", "nan": "—"})
        if "state" in units.columns
        else np.full(n, "—", dtype=object)
    )
    by_state["routed_population"] = np.bincount(
        codes, weights=np.where(routed_row, w, 0.0), minlength=len(by_state)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        by_state["share_routed"] = by_state["routed_population"] / by_state["population"]
    notes = []
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} units without coordinates counted as unknown")
    if prep.sites_skipped:
        notes.append(f"{prep.sites_skipped} sites without coordinates were skipped")
    bound_only = ok & (method == "screened") & ~np.isfinite(cols["upper_s"])
    if bound_only.any() and total:
        notes.append(
            f"{float(w[bound_only].sum() / total):.1%} of the population has no site within the "
            "straight-line reach of the limit (or was screened): outside by that bound, not routed"
        )
    if edge.any():
        notes.append(
            f"{float(w[edge].sum() / total) if total else 0.0:.1%} of the population has an answer "
            "near the edge of the road data (the true time may differ)"
        )
    if row_estimated[ok].all() and ok.any() and not nearest.engine.is_estimate:
        notes.append(
            "every drive time came from the estimate engine (no routed data covers these places)"
        )
    elif row_estimated.any() and not row_estimated[ok].all():
        est_share = float(w[row_estimated].sum() / total) if total else 0.0
        notes.append(
            f"{est_share:.1%} of the population was answered by the estimate engine "
            "(outside the routed data); the rest was "
            + ("routed or decided by the straight-line bound" if bound_only.any() else "routed")
        )
    return CoverageResult(
        rule=rule,
        engine=nearest.engine,
        population_source=prep.label,
        total_population=total,
        covered_population=covered,
        outside_population=outside,
        unknown_population=unknown,
        bands=bands,
        by_state=by_state,
        units=units,
        sites_used=len(prep.site_xy),
        sites_skipped=prep.sites_skipped,
        elapsed_s=elapsed_s,
        compute=compute,
        notes=tuple(notes),
    )


def _by_state(
    units: pd.DataFrame,
    w: FloatArray,
    band_idx: IntArray,
    labels: list[str],
    covered: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    state = (
        units["state"].astype(str).replace({"": "—", "nan": "—"}).to_numpy(object)
        if "state" in units.columns
        else np.full(len(units), "—", dtype=object)
    )
    codes, uniques = pd.factorize(pd.Series(state), sort=True)
    n_states = len(uniques)
    table = np.zeros((n_states, len(labels)))
    np.add.at(table, (codes, band_idx), w)
    out = pd.DataFrame(table, columns=labels, index=pd.Index(uniques, name="state"))
    out.insert(0, "population", table.sum(axis=1))
    out["covered_population"] = np.bincount(
        codes, weights=np.where(covered, w, 0.0), minlength=n_states
    )
    out["uncovered_population"] = out["population"] - out["covered_population"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_covered"] = out["covered_population"] / out["population"]
    return out


def coverage(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    population: PopulationKind | gpd.GeoDataFrame = "zcta",
    *,
    population_column: str = "population",
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    chunk_size: int = 5000,
    screen: bool = False,
    reach_bound: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """Population within ``rule``'s drive time of the nearest of ``sites``.

    Parameters
    ----------
    sites
        Site points (GeoDataFrame; ``site_id`` and ``name`` columns used when present).
    rule
        The proximity rule; a unit is covered when its drive is at most ``rule.max_drive_min``
        (a drive of exactly the limit counts as covered, as in the rule's verdicts).
    router
        Any routing engine; the estimate engine handles the whole country in seconds.
    population
        ``"zcta"`` (33,791 ZIP areas), ``"county"`` (3,221 counties) or a GeoDataFrame of points
        with a ``population_column`` (and optionally ``state``). Rows without a point are kept
        as ``unknown``; a missing or negative population is an error, never dropped.
    bands_min
        Band edges in minutes (default 60, 120, 300).
    chunk_size
        Population points routed per call (bounds memory; drives ``progress``).
    screen
        Let engines that can screen (Valhalla) answer only what the rule needs: faster, but a
        unit screened as "within" or "beyond" may land in the ``unknown`` band. Default: exact
        drive times for every unit, so the bands are complete.
    reach_bound
        Route only the (unit, site) pairs inside the rule's reach (:func:`nearest_in_reach`):
        a unit with no site within ``rule.max_drive_s`` × ``MAX_SPEED_KMH`` in a straight line
        is ``outside`` by that bound, never routed. The rule's verdicts are the same as an
        unbounded run; bands beyond the limit are known only where the bound or a routed time
        places the unit in one band (else ``unknown``). ``result.reach`` counts the pairs.
    """
    started = time.perf_counter()
    _check_bands(bands_min)
    prep = prepare_coverage(sites, population, population_column, settings)
    origins = prep.unit_xy[prep.unit_ok]
    if reach_bound:
        nearest, stats = nearest_in_reach_chunks(
            router, origins, prep.site_xy, rule.max_drive_s, chunk_size, progress
        )
        return dataclasses.replace(
            assemble_coverage(
                prep,
                nearest,
                rule,
                bands_min,
                elapsed_s=time.perf_counter() - started,
                compute=f"local, reach-bounded, {stats.engine_calls} engine calls",
            ),
            reach=stats,
        )
    nearest = nearest_in_chunks(
        router,
        origins,
        prep.site_xy,
        rule.max_drive_s if screen else None,
        chunk_size=chunk_size,
        progress=progress,
    )
    chunks = max(1, math.ceil(len(origins) / max(1, chunk_size)))
    return assemble_coverage(
        prep,
        nearest,
        rule,
        bands_min,
        elapsed_s=time.perf_counter() - started,
        compute=f"local, {chunks} chunk{'s' if chunks != 1 else ''}",
    )
