"""Answers of several engines joined into one, with per-row and per-cell provenance.

The ``auto`` engine answers some places from a local graph, others online or by the estimate;
these helpers put the pieces back together in the caller's order, keeping which engine answered
each row (:class:`~geo.routing.base.NearestResult` ``labels``, ``estimated``, ``notes``) or
each cell of a matrix (:class:`CellAssembly`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from geo.routing.base import NearestResult, Router
from geo.types import DriveTimeMatrix, EngineInfo


class CellAssembly:
    """A matrix assembled block by block from several engines, with per-cell provenance."""

    def __init__(self, n_rows: int, n_cols: int) -> None:
        shape = (n_rows, n_cols)
        self.dur = np.full(shape, np.nan)
        self.dist = np.full(shape, np.nan)
        self.edge = np.zeros(shape, dtype=bool)
        self.labels = np.full(shape, "", dtype=object)
        self.estimated = np.zeros(shape, dtype=bool)
        self.notes = np.full(shape, "", dtype=object)

    def fill(
        self,
        cells: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        m: DriveTimeMatrix,
        router: Router,
    ) -> None:
        """Copy the answer ``m`` for the block ``rows`` × ``cols`` into the cells selected."""
        block = cells[np.ix_(rows, cols)]
        labels = m.cell_labels() if m.labels is not None else np.full(m.shape, router.info.label)
        sources: list[tuple[np.ndarray, np.ndarray]] = [
            (self.dur, m.duration_s),
            (self.dist, m.distance_m),
            (self.labels, labels),
            (self.estimated, m.cell_estimated()),
            (self.notes, m.cell_notes()),
        ]
        if m.edge_warning is not None:
            sources.append((self.edge, m.edge_warning))
        for target, values in sources:
            sub = target[np.ix_(rows, cols)]
            sub[block] = values[block]
            target[np.ix_(rows, cols)] = sub

    def matrix(self, engine: EngineInfo, notes: np.ndarray) -> DriveTimeMatrix:
        joined = np.where(
            (self.notes != "") & (notes != ""),
            notes + "; " + self.notes,
            np.where(notes != "", notes, self.notes),
        )
        return DriveTimeMatrix(
            duration_s=self.dur,
            distance_m=self.dist,
            engine=engine,
            edge_warning=self.edge,
            labels=self.labels.astype(str),
            estimated=self.estimated,
            notes=joined.astype(str),
        )


def with_labels(res: NearestResult, router: Router, note: str = "") -> NearestResult:
    n = len(res.index)
    return replace(
        res,
        labels=np.full(n, router.info.label) if res.labels is None else res.labels,
        estimated=np.full(n, router.info.is_estimate) if res.estimated is None else res.estimated,
        notes=join_notes(np.full(n, note), res.row_notes()) if note else res.notes,
    )


def join_notes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    both = np.char.add(np.char.add(first.astype(str), "; "), second.astype(str))
    return np.where(second == "", first, np.where(first == "", second, both)).astype(str)


def remap_indices(res: NearestResult, held: np.ndarray) -> NearestResult:
    """Map indices into a subset of destinations (``held``) back to all destinations."""
    where = np.flatnonzero(held)
    index = np.where(res.index >= 0, where[np.clip(res.index, 0, None)] if len(where) else -1, -1)
    return replace(res, index=np.asarray(index, dtype=np.int64))


def row_arrays(res: NearestResult) -> dict[str, np.ndarray]:
    """Every per-row array of ``res``, filled in (the optional ones too)."""
    seconds, names = res.row_second()
    return {
        "index": res.index,
        "duration_s": res.duration_s,
        "lower_s": res.lower_s,
        "upper_s": res.upper_s,
        "distance_m": res.distance_m,
        "edge_warning": res.edge_warning,
        "method": res.method.astype(object),
        "labels": res.row_labels().astype(object),
        "estimated": res.row_estimated(),
        "notes": res.row_notes().astype(object),
        "second_s": seconds,
        "second_labels": names.astype(object),
        "second_failed": res.row_second_failed(),
    }


def build_result(arrays: dict[str, np.ndarray], engine: EngineInfo, second: bool) -> NearestResult:
    text = ("method", "labels", "notes", "second_labels")
    out = {k: (v.astype(str) if k in text else v) for k, v in arrays.items()}
    if not second:
        out["second_s"] = out["second_labels"] = None  # type: ignore[assignment]
    if not np.any(out["second_failed"]):
        out["second_failed"] = None  # type: ignore[assignment]
    return NearestResult(engine=engine, **out)


def merge_rows(
    base: NearestResult, other: NearestResult, rows: np.ndarray, switch: np.ndarray
) -> NearestResult:
    """``base`` with the rows in ``switch`` replaced by ``other`` (which covers ``rows``)."""
    pos = np.full(len(base.index), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    take = np.flatnonzero(switch)
    src = pos[take]
    mine, theirs = row_arrays(base), row_arrays(other)
    out = {}
    for key, values in mine.items():
        picked = values.copy()
        picked[take] = theirs[key][src]
        out[key] = picked
    second = base.second_s is not None or other.second_s is not None
    return build_result(out, base.engine, second)


def take_rows(res: NearestResult, idx: np.ndarray, engine: EngineInfo) -> NearestResult:
    out = {key: values[idx] for key, values in row_arrays(res).items()}
    return build_result(out, engine, res.second_s is not None)


__all__ = [
    "CellAssembly",
    "build_result",
    "join_notes",
    "merge_rows",
    "remap_indices",
    "row_arrays",
    "take_rows",
    "with_labels",
]
