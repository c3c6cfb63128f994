"""The maximal covering location problem (MCLP) on sparse coverage sets: exact and greedy.

:func:`solve_mclp` solves it exactly as an integer program with the HiGHS solver (in-process);
:func:`greedy_mclp` is the quick heuristic it is compared with (it can miss the optimum).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.siting.sets import CoverageSets
from geo.types import FloatArray


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
    """Exact MCLP as an integer program (HiGHS).

    maximise Σ wᵢ yᵢ  subject to  Σ xⱼ ≤ k,  yᵢ ≤ Σ_{j covers i} xⱼ,  xⱼ ∈ {0, 1},  0 ≤ yᵢ ≤ 1

    over the units not already covered (``covered0``). Units with the same set of candidates
    are merged first (their weights add), which shrinks national instances a lot. ``status`` is
    ``optimal`` when HiGHS proved optimality, else what it reached (e.g. a time limit).
    """
    import highspy

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
    n_x, n_y = len(useful), len(group_w)
    # Columns: x_j (binary, one per useful candidate) then y_g (0..1, one per unit group).
    h = highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    cost = np.r_[np.zeros(n_x), np.asarray(group_w, dtype=float)]
    h.addVars(n_x + n_y, np.zeros(n_x + n_y), np.ones(n_x + n_y))
    h.changeColsCost(n_x + n_y, np.arange(n_x + n_y, dtype=np.int32), cost)
    h.changeColsIntegrality(
        n_x,
        np.arange(n_x, dtype=np.int32),
        np.full(n_x, highspy.HighsVarType.kInteger),
    )
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    # Row 0: sum x <= k. Row 1 + g: y_g - sum_{j covers g} x_j <= 0.
    sizes = np.array([len(gc) for gc in group_c], dtype=np.int64)
    cand_cols = np.searchsorted(useful, np.concatenate(group_c)).astype(np.int32)
    row_starts = np.r_[0, n_x, n_x + np.cumsum(sizes + 1)[:-1]].astype(np.int32)
    y_cols = (n_x + np.arange(n_y)).astype(np.int32)
    # Each cover row holds y_g first, then its candidates.
    cover_idx = np.insert(cand_cols, np.r_[0, np.cumsum(sizes)[:-1]], y_cols)
    cover_val = np.ones(cover_idx.size)
    first = np.r_[0, np.cumsum(sizes + 1)[:-1]]
    cover_val[:] = -1.0
    cover_val[first] = 1.0
    indices = np.r_[np.arange(n_x, dtype=np.int32), cover_idx].astype(np.int32)
    values = np.r_[np.ones(n_x), cover_val]
    lower = np.full(n_y + 1, -inf)
    upper = np.r_[float(k), np.zeros(n_y)]
    h.addRows(n_y + 1, lower, upper, indices.size, row_starts, indices, values)
    if warm_start is not None:
        picked = np.isin(useful, np.asarray(warm_start.chosen, dtype=np.int64))
        sol = highspy.HighsSolution()
        sol.col_value = list(np.r_[picked.astype(float), np.zeros(n_y)])
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    values_out = np.asarray(h.getSolution().col_value, dtype=float)
    chosen = [int(j) for j in useful[values_out[:n_x] > 0.5]] if values_out.size >= n_x else []
    if model_status == highspy.HighsModelStatus.kOptimal:
        sol_status = "optimal"
    elif chosen and model_status == highspy.HighsModelStatus.kTimeLimit:
        sol_status = "feasible (time limit; not proven optimal)"
    else:
        sol_status = h.modelStatusToString(model_status).lower()
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
