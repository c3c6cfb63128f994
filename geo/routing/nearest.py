"""The answer of :meth:`~geo.routing.base.Router.nearest`: each origin's quickest destination.

:class:`NearestResult` carries bounds as well as times (an engine that screens reports "under
1 h 45 min" without a time) and per-row provenance where engines differ by row;
:func:`nearest_from_matrix` reduces a full matrix to it, :func:`concat_nearest` joins chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.geodesy import haversine_km
from geo.routing.bounds import reach_bound_m
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, FloatArray


@dataclass(frozen=True)
class NearestResult:
    """For each origin: the quickest destination and bounds on its drive time.

    ``duration_s`` is exact where known (NaN otherwise). ``lower_s``/``upper_s`` bound the time
    to the nearest destination; they equal ``duration_s`` for exact answers and differ where an
    engine only screened the origin (e.g. "under 1 h 45 min" from an isochrone). ``index`` is -1
    where no destination is reachable or known.
    """

    index: npt.NDArray[np.int64]
    duration_s: FloatArray
    lower_s: FloatArray
    upper_s: FloatArray
    distance_m: FloatArray
    engine: EngineInfo
    edge_warning: BoolArray
    method: npt.NDArray[np.str_]
    """How each answer was obtained: ``routed``, ``screened`` or ``estimated``."""
    labels: npt.NDArray[np.str_] | None = None
    """Per-origin engine label where engines differ by row (the ``auto`` engine); else None."""
    estimated: BoolArray | None = None
    """Per-origin: True where the answer is an estimate (its margin is widened)."""
    notes: npt.NDArray[np.str_] | None = None
    """Per-origin: what a reader must know about how the row was answered, e.g.
    ``"openrouteservice failed (HTTP 500 after 3 tries); estimated instead"``; else None."""
    second_s: FloatArray | None = None
    """Per-origin: a second engine's time to its nearest destination (s), NaN where it was not
    asked; None when no second engine was consulted (see :mod:`geo.routing.second_opinion`)."""
    second_labels: npt.NDArray[np.str_] | None = None
    """Per-origin: the second engine's name ("" where it was not asked)."""
    second_failed: BoolArray | None = None
    """Per-origin: True where a second opinion was wanted but its engine failed (``second_s`` is
    NaN there and the primary's answer stands). Such an answer is never remembered as complete
    (:mod:`geo.routing.memory`): the next ask tries the second engine again."""

    def row_labels(self) -> npt.NDArray[np.str_]:
        """The engine label of every row."""
        if self.labels is not None:
            return self.labels
        return np.full(len(self.index), self.engine.label)

    def row_estimated(self) -> BoolArray:
        """Whether each row is an estimate."""
        if self.estimated is not None:
            return self.estimated
        return np.full(len(self.index), self.engine.is_estimate)

    def row_notes(self) -> npt.NDArray[np.str_]:
        """The note of every row (empty string where there is none)."""
        if self.notes is not None:
            return self.notes
        return np.full(len(self.index), "", dtype=object).astype(str)

    def row_second(self) -> tuple[FloatArray, npt.NDArray[np.str_]]:
        """The second engine's time (s, NaN where not asked) and name of every row."""
        n = len(self.index)
        seconds = self.second_s if self.second_s is not None else np.full(n, np.nan)
        names = (
            self.second_labels
            if self.second_labels is not None
            else np.full(n, "", dtype=object).astype(str)
        )
        return seconds, names

    def row_second_failed(self) -> BoolArray:
        """Whether each row's wanted second opinion failed (False where none was wanted)."""
        if self.second_failed is not None:
            return self.second_failed
        return np.zeros(len(self.index), dtype=bool)


def nearest_from_matrix(
    matrix: DriveTimeMatrix,
    method: str = "routed",
    origins: FloatArray | None = None,
    destinations: FloatArray | None = None,
) -> NearestResult:
    """Reduce a full matrix to each origin's quickest destination (vectorised).

    With the points given, a destination the engine could not answer (off its data) only casts
    doubt on an origin's answer when it could plausibly be quicker: closer in a straight line
    than :data:`MAX_PLAUSIBLE_SPEED_KMH` allows in the time found.
    """
    d = matrix.duration_s
    n = d.shape[0]
    has_any = np.isfinite(d).any(axis=1) if d.shape[1] else np.zeros(n, dtype=bool)
    filled = np.where(np.isfinite(d), d, np.inf)
    idx = np.argmin(filled, axis=1) if d.shape[1] else np.zeros(n, dtype=np.int64)
    idx = np.where(has_any, idx, -1).astype(np.int64)
    rows = np.arange(n)
    safe = np.clip(idx, 0, None)
    duration = np.where(has_any, d[rows, safe] if d.shape[1] else np.nan, np.nan)
    distance = np.where(has_any, matrix.distance_m[rows, safe] if d.shape[1] else np.nan, np.nan)
    if matrix.edge_warning is not None and d.shape[1]:
        # The nearest answer is doubtful if its own cell touched the data edge, or if any
        # destination that might be quicker was cut off by it.
        edge = matrix.edge_warning[rows, safe] & has_any
        doubtful = matrix.edge_warning & ~np.isfinite(d)
        if origins is not None and destinations is not None and doubtful.any():
            best_s = np.where(has_any, duration, np.inf)
            reach_km = reach_bound_m(best_s[:, None]) / 1000.0
            doubtful &= haversine_km(origins, destinations) < reach_km
        edge |= doubtful.any(axis=1)
    else:
        edge = np.zeros(n, dtype=bool)
    # Per-cell provenance (the auto engine mixes engines within one matrix) follows the
    # chosen cell; a row without any answer keeps the matrix's own provenance.
    labels = estimated = notes = None
    row_method = np.full(n, method if not matrix.engine.is_estimate else "estimated")
    if d.shape[1] and (
        matrix.labels is not None or matrix.estimated is not None or matrix.notes is not None
    ):
        labels = matrix.cell_labels()[rows, safe]
        estimated = matrix.cell_estimated()[rows, safe] & has_any
        notes = matrix.cell_notes()[rows, safe]
        row_method = np.where(estimated, "estimated", row_method)
    return NearestResult(
        index=idx,
        duration_s=duration.astype(float),
        lower_s=duration.astype(float),
        upper_s=duration.astype(float),
        distance_m=distance.astype(float),
        engine=matrix.engine,
        edge_warning=edge,
        method=row_method,
        labels=labels,
        estimated=estimated,
        notes=notes,
    )


def concat_nearest(parts: Sequence[NearestResult]) -> NearestResult:
    """Join per-chunk results in order."""
    return NearestResult(
        index=np.concatenate([p.index for p in parts]),
        duration_s=np.concatenate([p.duration_s for p in parts]),
        lower_s=np.concatenate([p.lower_s for p in parts]),
        upper_s=np.concatenate([p.upper_s for p in parts]),
        distance_m=np.concatenate([p.distance_m for p in parts]),
        engine=parts[0].engine,
        edge_warning=np.concatenate([p.edge_warning for p in parts]),
        method=np.concatenate([p.method for p in parts]),
        labels=(
            np.concatenate([p.row_labels() for p in parts])
            if any(p.labels is not None for p in parts)
            else None
        ),
        estimated=(
            np.concatenate([p.row_estimated() for p in parts])
            if any(p.estimated is not None for p in parts)
            else None
        ),
        notes=(
            np.concatenate([p.row_notes() for p in parts])
            if any(p.notes is not None for p in parts)
            else None
        ),
        second_s=(
            np.concatenate([p.row_second()[0] for p in parts])
            if any(p.second_s is not None for p in parts)
            else None
        ),
        second_labels=(
            np.concatenate([p.row_second()[1] for p in parts])
            if any(p.second_s is not None for p in parts)
            else None
        ),
        second_failed=(
            np.concatenate([p.row_second_failed() for p in parts])
            if any(p.second_failed is not None for p in parts)
            else None
        ),
    )


__all__ = ["NearestResult", "concat_nearest", "nearest_from_matrix"]
