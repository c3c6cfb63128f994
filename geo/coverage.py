"""Population coverage of a set of sites, and where more sites would help most.

:func:`coverage` answers a planner's first question: how many people live within the rule's
drive time of the nearest site, and where are the rest? Every population unit (ZCTA, county or
a user's points) gets the drive time to its nearest site, a band (≤ 1 h, 1–2 h, 2–5 h, > 5 h,
unknown) and whether it is within the rule. Totals always add up to the input population.

:func:`suggest_sites` answers the second: which ``k`` candidate sites would bring the most people
newly within the rule? That is the maximal covering location problem (MCLP, Church & ReVelle
1974). It is solved exactly as an integer program (PuLP with its bundled CBC solver) and
compared with the greedy answer, which is quick but can miss the optimum.

Scale: drive times are only computed between points that *can* be within the limit. For the
``estimate`` engine the straight-line radius of the limit is exact (time grows with distance);
for a routing engine no drive is faster than ``max_speed_kmh`` in a straight line, so candidates
beyond that radius are skipped before any routing. Pairs are kept as sparse arrays, never as a
dense matrix of Python objects. :mod:`geo.distributed` runs the same steps on a Dask cluster.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import ValidationError
from geo.population import PopulationKind, load_population
from geo.routing.base import NearestResult, Router, concat_nearest
from geo.routing.estimate import EARTH_RADIUS_KM, EstimateRouter, haversine_km
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.types import EngineInfo, FloatArray

IntArray = npt.NDArray[np.int64]
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while population units are routed."""

DEFAULT_BANDS_MIN: tuple[float, ...] = (60.0, 120.0, 300.0)
"""Band edges in minutes: ≤ 1 h, 1–2 h, 2–5 h, > 5 h (and ``unknown``)."""
UNKNOWN_BAND = "unknown"
MAX_SPEED_KMH = 130.0
"""No drive is faster than this in a straight line (used to skip hopeless pairs before routing)."""
DEFAULT_MIN_BEDS = 100
"""Default bed threshold for candidate hospitals in :func:`default_candidates`."""
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


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


def _minutes(seconds: FloatArray) -> FloatArray:
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
def _lonlat_of(frame: gpd.GeoDataFrame, what: str) -> FloatArray:
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


def _population_frame(
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


def _site_points(
    sites: gpd.GeoDataFrame, what: str = "sites"
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    xy = _lonlat_of(sites, what)
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
        ``uncovered_population`` (outside + unknown) and ``share_covered``.
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
    frame, weights, label = _population_frame(population, population_column, settings)
    unit_xy = _lonlat_of(frame, "population")
    site_xy, usable = _site_points(sites)
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
    lo_min = _minutes(np.where(exact, duration, cols["lower_s"]))
    hi_min = _minutes(
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
    notes = []
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} units without coordinates counted as unknown")
    if prep.sites_skipped:
        notes.append(f"{prep.sites_skipped} sites without coordinates were skipped")
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
            "(outside the routed data); the rest was routed"
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
    """
    started = time.perf_counter()
    _check_bands(bands_min)
    prep = prepare_coverage(sites, population, population_column, settings)
    origins = prep.unit_xy[prep.unit_ok]
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


# --------------------------------------------------------------------------------------------
# Coverage sets: which units each candidate covers (sparse)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoverageSets:
    """Sparse unit × candidate pairs with a drive of at most ``limit_s``.

    Parallel arrays ``unit``, ``candidate`` (positions in the inputs) and ``duration_s``,
    sorted by candidate then unit.
    """

    unit: IntArray
    candidate: IntArray
    duration_s: FloatArray
    n_units: int
    n_candidates: int
    limit_s: float
    engine: EngineInfo
    pairs_routed: int = 0
    """Pairs whose drive time was computed (after the straight-line screen)."""

    def __len__(self) -> int:
        return len(self.unit)

    def units_covered_by(self, candidate: int) -> IntArray:
        lo, hi = np.searchsorted(self.candidate, [candidate, candidate + 1])
        return self.unit[lo:hi]


def screening_radius_km(
    router: Router, limit_s: float, max_speed_kmh: float = MAX_SPEED_KMH
) -> float:
    """Straight-line km beyond which no drive can be within ``limit_s``.

    Exact for the estimate engine (its time grows with distance); for routed engines, the
    distance covered at ``max_speed_kmh`` as the crow flies.
    """
    if isinstance(router, EstimateRouter):
        km = float(router.km_for_seconds(np.array([limit_s]))[0])
        return km * (1 + 1e-9) + 1e-9
    return limit_s / 3600.0 * max_speed_kmh


def _finish_sets(
    unit: list[IntArray],
    cand: list[IntArray],
    secs: list[FloatArray],
    n_units: int,
    n_cand: int,
    limit_s: float,
    engine: EngineInfo,
    routed: int,
) -> CoverageSets:
    u = np.concatenate(unit) if unit else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cand) if cand else np.zeros(0, dtype=np.int64)
    s = np.concatenate(secs) if secs else np.zeros(0)
    order = np.lexsort((u, c))
    return CoverageSets(
        unit=u[order].astype(np.int64),
        candidate=c[order].astype(np.int64),
        duration_s=s[order],
        n_units=n_units,
        n_candidates=n_cand,
        limit_s=limit_s,
        engine=engine,
        pairs_routed=routed,
    )


def pairs_within(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    unit_offset: int = 0,
    max_speed_kmh: float = MAX_SPEED_KMH,
) -> tuple[IntArray, IntArray, FloatArray, int]:
    """Pairs (unit, candidate, seconds) with a drive of at most ``limit_s`` for one chunk.

    Screens by straight-line distance first (see :func:`screening_radius_km`), then routes only
    the remaining pairs. Units/candidates with NaN coordinates never pair. Returns unit
    positions shifted by ``unit_offset`` and the number of pairs routed.
    """
    if len(unit_xy) == 0 or len(cand_xy) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), 0
    radius_km = screening_radius_km(router, limit_s, max_speed_kmh)
    lat_pad = radius_km / KM_PER_DEG
    cand_ok = np.flatnonzero(np.isfinite(cand_xy).all(axis=1))
    unit_ok = np.isfinite(unit_xy).all(axis=1)
    lat = unit_xy[unit_ok, 1]
    if lat.size == 0 or cand_ok.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), 0
    lat_lo, lat_hi = float(lat.min()) - lat_pad, float(lat.max()) + lat_pad
    cands = cand_ok[(cand_xy[cand_ok, 1] >= lat_lo) & (cand_xy[cand_ok, 1] <= lat_hi)]
    units = np.flatnonzero(unit_ok)
    if cands.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0), 0
    km = haversine_km(unit_xy[units], cand_xy[cands])
    ui, ci = np.nonzero(km <= radius_km)
    limit_min = round(limit_s / 60.0, 6)
    if isinstance(router, EstimateRouter):
        seconds = router.seconds_for_km(km[ui, ci])
        routed = int(ui.size)
    else:
        # Route only the screened block: the candidates that pair with at least one unit.
        used_c = np.unique(ci)
        used_u = np.unique(ui)
        matrix = router.drive_times(unit_xy[units[used_u]], cand_xy[cands[used_c]]).duration_s
        routed = int(matrix.size)
        seconds = matrix[np.searchsorted(used_u, ui), np.searchsorted(used_c, ci)]
    keep = np.isfinite(seconds) & (_minutes(seconds) <= limit_min)
    return (
        units[ui[keep]].astype(np.int64) + unit_offset,
        cands[ci[keep]].astype(np.int64),
        np.asarray(seconds, dtype=float)[keep],
        routed,
    )


def coverage_sets(
    router: Router,
    unit_xy: FloatArray,
    cand_xy: FloatArray,
    limit_s: float,
    *,
    chunk_size: int = 1000,
    max_speed_kmh: float = MAX_SPEED_KMH,
    progress: Progress | None = None,
) -> CoverageSets:
    """Which units each candidate covers (drive ≤ ``limit_s``), as sparse pairs.

    Units are processed in chunks of nearby points (sorted by latitude) so each chunk only meets
    the candidates in its latitude band: 33,791 ZCTAs × 8,013 hospitals take seconds with the
    estimate engine and never build the dense matrix.
    """
    n = len(unit_xy)
    order = np.argsort(np.where(np.isfinite(unit_xy[:, 1]), unit_xy[:, 1], np.inf), kind="stable")
    units: list[IntArray] = []
    cands: list[IntArray] = []
    secs: list[FloatArray] = []
    routed = 0
    for start in range(0, n, max(1, chunk_size)):
        idx = order[start : start + chunk_size]
        u, c, s, r = pairs_within(
            router, unit_xy[idx], cand_xy, limit_s, max_speed_kmh=max_speed_kmh
        )
        units.append(idx[u])
        cands.append(c)
        secs.append(s)
        routed += r
        if progress is not None:
            progress(min(n, start + chunk_size), n)
    return _finish_sets(units, cands, secs, n, len(cand_xy), limit_s, router.info, routed)


# --------------------------------------------------------------------------------------------
# Maximal covering location problem
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MclpSolution:
    """Chosen candidates (positions) of one method, with gains in the order listed."""

    method: str
    chosen: tuple[int, ...]
    gains: tuple[float, ...]
    """Population newly covered by each chosen candidate, in the order listed (they sum to
    :attr:`gain`). For the ILP the order is the greedy order within the chosen set."""
    unique: tuple[float, ...]
    """Population only that candidate covers (among the existing sites and the chosen ones)."""
    gain: float
    status: str
    solve_s: float


def _unique_gains(
    chosen: Sequence[int], sets: CoverageSets, weights: FloatArray, covered0: npt.NDArray[np.bool_]
) -> tuple[float, ...]:
    """Population that only this chosen candidate covers (existing sites count as covering)."""
    count = covered0.astype(np.int64) * (len(chosen) + 1)
    for c in chosen:
        np.add.at(count, sets.units_covered_by(c), 1)
    return tuple(
        float(weights[u][count[u] == 1].sum()) for u in (sets.units_covered_by(c) for c in chosen)
    )


def _marginal_order(
    chosen: Sequence[int], sets: CoverageSets, weights: FloatArray, covered0: npt.NDArray[np.bool_]
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Order chosen candidates by marginal gain (greedy within the set), with those gains."""
    remaining = list(chosen)
    covered = covered0.copy()
    order: list[int] = []
    gains: list[float] = []
    while remaining:
        g = [
            float(weights[u][~covered[u]].sum())
            for u in (sets.units_covered_by(c) for c in remaining)
        ]
        best = int(np.argmax(g))
        cand = remaining.pop(best)
        order.append(cand)
        gains.append(g[best])
        covered[sets.units_covered_by(cand)] = True
    return tuple(order), tuple(gains)


def greedy_mclp(
    sets: CoverageSets, weights: FloatArray, k: int, covered0: npt.NDArray[np.bool_] | None = None
) -> MclpSolution:
    """Greedy MCLP: repeatedly add the candidate covering the most still-uncovered population.

    Ties go to the lower candidate position. Stops early when no candidate adds anyone.
    """
    started = time.perf_counter()
    covered = np.zeros(sets.n_units, dtype=bool) if covered0 is None else covered0.copy()
    start_covered = covered.copy()
    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(k):
        open_w = np.where(covered[sets.unit], 0.0, weights[sets.unit])
        by_cand = np.bincount(sets.candidate, weights=open_w, minlength=sets.n_candidates)
        best = int(np.argmax(by_cand)) if by_cand.size else -1
        if best < 0 or by_cand[best] <= 0:
            break
        chosen.append(best)
        gains.append(float(by_cand[best]))
        covered[sets.units_covered_by(best)] = True
    return MclpSolution(
        method="greedy",
        chosen=tuple(chosen),
        gains=tuple(gains),
        unique=_unique_gains(chosen, sets, weights, start_covered),
        gain=math.fsum(gains),
        status="heuristic",
        solve_s=time.perf_counter() - started,
    )


def solve_mclp(
    sets: CoverageSets,
    weights: FloatArray,
    k: int,
    covered0: npt.NDArray[np.bool_] | None = None,
    *,
    time_limit_s: float = 120.0,
    warm_start: MclpSolution | None = None,
) -> MclpSolution:
    """Exact MCLP as an integer program (PuLP + CBC).

    maximise Σ wᵢ yᵢ  subject to  Σ xⱼ ≤ k,  yᵢ ≤ Σ_{j covers i} xⱼ,  xⱼ ∈ {0, 1},  0 ≤ yᵢ ≤ 1

    over the units not already covered (``covered0``). Units with the same set of candidates
    are merged first (their weights add), which shrinks national instances a lot. ``status`` is
    ``optimal`` when CBC proved optimality, else what it reached (e.g. a time limit).
    """
    import pulp

    started = time.perf_counter()
    covered = np.zeros(sets.n_units, dtype=bool) if covered0 is None else covered0
    open_pair = ~covered[sets.unit] & (weights[sets.unit] > 0)
    u, c = sets.unit[open_pair], sets.candidate[open_pair]
    if u.size == 0 or k <= 0:
        return MclpSolution(
            "ilp", (), (), (), 0.0, "nothing to gain", time.perf_counter() - started
        )
    # Group units by their candidate set (pairs sorted by unit, then candidate).
    by_unit = np.lexsort((c, u))
    u, c = u[by_unit], c[by_unit]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    ends = np.r_[starts[1:], u.size]
    groups: dict[bytes, int] = {}
    group_w: list[float] = []
    group_c: list[npt.NDArray[np.int64]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        key = c[s:e].tobytes()
        g = groups.get(key)
        if g is None:
            groups[key] = len(group_w)
            group_w.append(float(weights[u[s]]))
            group_c.append(c[s:e])
        else:
            group_w[g] += float(weights[u[s]])
    useful = np.unique(c)
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    add = getattr(prob, "add_variable", None)  # PuLP ≥ 3.3 attaches variables to the model
    if add is None:  # pragma: no cover - older PuLP
        add = pulp.LpVariable
    x = {int(j): add(f"x_{int(j)}", 0, 1, cat=pulp.LpBinary) for j in useful}
    y = [add(f"y_{g}", 0, 1) for g in range(len(group_w))]
    prob += pulp.lpSum(w * yv for w, yv in zip(group_w, y, strict=True))
    prob += pulp.lpSum(x.values()) <= k, "k_sites"
    for g, cands in enumerate(group_c):
        prob += y[g] <= pulp.lpSum(x[int(j)] for j in cands), f"cover_{g}"
    if warm_start is not None:
        picked = set(warm_start.chosen)
        for j, var in x.items():
            var.setInitialValue(1 if j in picked else 0)
    with warnings.catch_warnings():
        # PuLP 3.x announces that PULP_CBC_CMD (the CBC binary bundled in the wheel) moves to an
        # extra in 4.0; it is the solver that works offline here, so keep using it quietly.
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(
            msg=False, timeLimit=time_limit_s, warmStart=warm_start is not None
        )
        prob.solve(solver)
    chosen = [j for j, var in x.items() if (var.value() or 0) > 0.5]
    sol_status = {
        pulp.LpSolutionOptimal: "optimal",
        pulp.LpSolutionIntegerFeasible: "feasible (time limit; not proven optimal)",
    }.get(prob.sol_status, pulp.LpStatus.get(prob.status, "unknown").lower())
    order, gains = _marginal_order(chosen, sets, weights, covered)
    return MclpSolution(
        method="ilp",
        chosen=order,
        gains=gains,
        unique=_unique_gains(order, sets, weights, covered),
        gain=math.fsum(gains),
        status=sol_status,
        solve_s=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------
# Suggest sites
# --------------------------------------------------------------------------------------------
def default_candidates(
    hospitals: gpd.GeoDataFrame, min_beds: int = DEFAULT_MIN_BEDS
) -> gpd.GeoDataFrame:
    """Open general acute care hospitals with at least ``min_beds`` beds (unknown beds excluded).

    Takes the ``hospitals`` site set (HIFLD columns ``status``, ``type``, ``beds``).
    """
    missing = [c for c in ("status", "type", "beds") if c not in hospitals.columns]
    if missing:
        raise ValidationError(
            f"candidate hospitals need columns status, type and beds; missing: {', '.join(missing)}"
        )
    beds = pd.to_numeric(hospitals["beds"], errors="coerce")
    keep = (
        (hospitals["status"].astype(str).str.lower() == "open")
        & (hospitals["type"].astype(str).str.upper() == "GENERAL ACUTE CARE")
        & (beds >= min_beds)
    )
    out = hospitals[keep.to_numpy()].reset_index(drop=True)
    out.attrs["selection"] = f"open general acute care hospitals with ≥ {min_beds} beds"
    return out


@dataclass(frozen=True)
class SuggestResult:
    """Where ``k`` more sites would bring the most people within the rule.

    ``ilp`` is the exact answer (when CBC proved it), ``greedy`` the quick heuristic; each lists
    candidate positions with their gains. :meth:`table` joins them with the candidates' columns.
    """

    rule: ProximityRule
    engine: EngineInfo
    k: int
    population_source: str
    total_population: float
    baseline_covered_population: float
    coverable_population: float
    """Population the existing sites plus *all* candidates would cover (the ceiling)."""
    ilp: MclpSolution
    greedy: MclpSolution
    candidates: gpd.GeoDataFrame
    n_candidates: int
    pairs: int
    elapsed_s: float

    def plan(self, method: Literal["ilp", "greedy"] = "ilp") -> MclpSolution:
        return self.ilp if method == "ilp" else self.greedy

    def table(self, method: Literal["ilp", "greedy"] = "ilp") -> gpd.GeoDataFrame:
        """Chosen candidates (their columns) with ``rank``, ``gain_population``,
        ``unique_population`` and ``cumulative_covered_population``."""
        sol = self.plan(method)
        out = self.candidates.iloc[list(sol.chosen)].copy()
        out.insert(0, "rank", np.arange(1, len(sol.chosen) + 1))
        out["gain_population"] = list(sol.gains)
        out["unique_population"] = list(sol.unique)
        out["cumulative_covered_population"] = self.baseline_covered_population + np.cumsum(
            np.asarray(sol.gains, dtype=float)
        )
        out["method"] = sol.method
        return out

    def summary(self) -> str:
        base = self.baseline_covered_population
        return (
            f"baseline {base:,.0f} of {self.total_population:,.0f} people within "
            f"{self.rule.max_drive_min:g} min; with {self.k} more sites: ILP +{self.ilp.gain:,.0f} "
            f"({self.ilp.status}), greedy +{self.greedy.gain:,.0f}"
        )


def suggest_sites(
    sites: gpd.GeoDataFrame | None,
    candidates: gpd.GeoDataFrame,
    k: int,
    rule: ProximityRule,
    router: Router,
    population: PopulationKind | gpd.GeoDataFrame = "county",
    *,
    population_column: str = "population",
    time_limit_s: float = 120.0,
    chunk_size: int = 1000,
    progress: Progress | None = None,
    settings: Settings | None = None,
    sets: CoverageSets | None = None,
) -> SuggestResult:
    """Choose ``k`` of ``candidates`` that bring the most people newly within ``rule``.

    Parameters
    ----------
    sites
        Existing sites (their coverage is the baseline); ``None`` or empty for a green field.
    candidates
        Candidate sites, e.g. :func:`default_candidates` of the ``hospitals`` set, or a user list.
    k
        How many sites to add.
    population
        ``"county"`` (default; fast), ``"zcta"`` or a GeoDataFrame with ``population_column``.
    time_limit_s
        CBC's time limit; the status says whether optimality was proven.
    sets
        Precomputed :class:`CoverageSets` (e.g. from :mod:`geo.distributed`) for the same
        population rows and candidates.
    """
    started = time.perf_counter()
    if k < 1:
        raise ValidationError(f"k must be at least 1, got {k}")
    frame, weights, label = _population_frame(population, population_column, settings)
    unit_xy = _lonlat_of(frame, "population")
    cand_xy = _lonlat_of(candidates, "candidates")
    if not np.isfinite(cand_xy).all(axis=1).any():
        raise ValidationError("no candidate has coordinates")
    covered0 = np.zeros(len(frame), dtype=bool)
    if sites is not None and len(sites):
        site_xy, usable = _site_points(sites)
        if usable.any():
            ok = np.isfinite(unit_xy).all(axis=1)
            near = nearest_in_chunks(router, unit_xy[ok], site_xy[usable], rule.max_drive_s)
            hi = np.where(np.isfinite(near.duration_s), near.duration_s, near.upper_s)
            covered0[ok] = np.isfinite(hi) & (_minutes(hi) <= round(rule.max_drive_min, 6))
    if sets is None:
        sets = coverage_sets(
            router, unit_xy, cand_xy, rule.max_drive_s, chunk_size=chunk_size, progress=progress
        )
    elif sets.n_units != len(frame) or sets.n_candidates != len(candidates):
        raise ValidationError(
            "precomputed coverage sets do not match the population and candidates"
        )
    greedy = greedy_mclp(sets, weights, k, covered0)
    ilp = solve_mclp(sets, weights, k, covered0, time_limit_s=time_limit_s, warm_start=greedy)
    reach = covered0.copy()
    reach[sets.unit] = True
    total = math.fsum(weights)
    return SuggestResult(
        rule=rule,
        engine=router.info,
        k=k,
        population_source=label,
        total_population=total,
        baseline_covered_population=float(weights[covered0].sum()),
        coverable_population=float(weights[reach].sum()),
        ilp=ilp,
        greedy=greedy,
        candidates=candidates,
        n_candidates=len(candidates),
        pairs=len(sets),
        elapsed_s=time.perf_counter() - started,
    )
