"""Inputs of a coverage run: population and site points, band edges and labels.

Shared by :mod:`geo.coverage.reach`, :mod:`geo.coverage.result` and :mod:`geo.siting`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import ValidationError
from geo.population import PopulationKind, load_population
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH
from geo.settings import Settings
from geo.types import FloatArray

IntArray = npt.NDArray[np.int64]
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while population units are routed."""


def progress_in_units(progress: Progress | None, n: int) -> Progress | None:
    """``progress`` for work counted in other steps (pairs as blocks finish), reported as ``n``
    units: ``done`` of ``total`` steps becomes ``done * n // total`` of ``n`` (``n`` at the end).
    """
    if progress is None:
        return None
    report = progress

    def scaled(done: int, total: int) -> None:
        report(n if done >= total else done * n // max(1, total), n)

    return scaled


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
