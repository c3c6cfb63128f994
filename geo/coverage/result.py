"""The coverage result: bands, states, per-unit answers, and the totals that must add up."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.coverage.inputs import (
    DEFAULT_BANDS_MIN,
    IntArray,
    _band_index,
    _check_bands,
    _column_or_index,
    band_labels,
    lonlat_of,
    population_frame,
    seconds_to_minutes,
    site_points,
)
from geo.coverage.reach import (
    ReachStats,
    _empty_nearest,
)
from geo.errors import ValidationError
from geo.population import PopulationKind
from geo.routing.base import NearestResult
from geo.rules import ProximityRule
from geo.settings import Settings
from geo.types import EngineInfo, FloatArray


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
