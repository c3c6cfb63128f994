"""Nearest site by route time, with Valhalla's matrix only to find the candidates.

Valhalla's matrices are not its route times: its ``timedistancematrix`` with places as sources
was measured up to +46 % (and down to −1.7 %) against ``route`` for the same pairs, its
``costmatrix`` −4 %…+6 % and far slower (upstream valhalla/valhalla#4979, #5330). So one
``timedistancematrix`` only *finds candidates* — every site whose matrix time is within
``candidate_factor`` (default 1.5, i.e. +50 %) of the place's best matrix time, plus
``candidate_slack_s`` — then those pairs are routed and the quickest route is reported. The
factor covers the matrix's measured error; a true nearest site whose matrix time is off by more
than that would be missed, and the answer would then be an exact drive to another site, i.e. too
long, never too short. With at most :data:`DIRECT_MAX_SITES` sites every pair is routed (no
matrix at all). Also here: where places meet the road network (``locate``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import OutsideDataError
from geo.geodesy import haversine_km
from geo.routing.base import NearestResult, reach_bound_m
from geo.routing.valhalla.core import ValhallaCore
from geo.routing.valhalla.wire import UnconnectedError, durations_table, location
from geo.types import BoolArray, FloatArray

DEFAULT_CHUNK_PAIRS = 50_000
DEFAULT_CANDIDATE_FACTOR = 1.5
"""A site is routed for a place when its matrix time is within this factor of the place's best
matrix time (covers the measured matrix error: up to +46 % on real roads)."""
DEFAULT_CANDIDATE_SLACK_S = 180.0
"""Added to the candidate band (s): short town trips have the largest relative matrix error."""
DIRECT_MAX_SITES = 3
"""With this many sites or fewer, every (place, site) pair is routed: no candidate matrix."""


class CandidateSearch(ValhallaCore):
    """Exact nearest sites: matrix candidates, then routes (see the module docstring)."""

    chunk_pairs: int
    candidate_factor: float
    candidate_slack_s: float

    # --- candidate matrix (never reported) -------------------------------------------------
    def _matrix_block(self, o: FloatArray, d: FloatArray) -> FloatArray:
        req = {
            "sources": [location(p, self.max_snap_m) for p in o],
            "targets": [location(p, self.max_snap_m) for p in d],
            "costing": "auto",
            "verbose": False,
        }
        try:
            res = self._call("matrix", req)
        except (OutsideDataError, UnconnectedError):
            if len(o) * len(d) == 1:
                return np.full((1, 1), np.nan)
            # A location with no road near it, or an island: bisect until it is isolated.
            if len(o) > 1:
                h = len(o) // 2
                return np.vstack([self._matrix_block(o[:h], d), self._matrix_block(o[h:], d)])
            h = len(d) // 2
            return np.hstack([self._matrix_block(o, d[:h]), self._matrix_block(o, d[h:])])
        if res is None:
            return np.full((len(o), len(d)), np.nan)
        return durations_table(res, len(o), len(d))

    def _candidate_matrix(self, o: FloatArray, d: FloatArray, allowed: BoolArray) -> FloatArray:
        """Matrix seconds (place → site) for rows with an allowed cell, one part at a time."""
        out = np.full((len(o), len(d)), np.nan)
        po, pd_ = self.part_of(o), self.part_of(d)
        for part in np.unique(po[po >= 0]):
            rows = np.flatnonzero((po == part) & allowed.any(axis=1))
            cols = np.flatnonzero((pd_ == part) & allowed[rows].any(axis=0))
            if not len(rows) or not len(cols):
                continue
            step_c = min(len(cols), self.chunk_pairs)
            step_r = max(1, self.chunk_pairs // step_c)
            for j in range(0, len(cols), step_c):
                for i in range(0, len(rows), step_r):
                    r, c = rows[i : i + step_r], cols[j : j + step_c]
                    out[np.ix_(r, c)] = self._matrix_block(o[r], d[c])
                    self.stats["matrix_pairs"] += len(r) * len(c)
        return out

    def _exact_nearest(
        self, o: FloatArray, d: FloatArray, allowed: BoolArray | None = None
    ) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, BoolArray]:
        """Quickest site per place by ``route``: index, seconds, metres (-1/NaN where none).

        Candidates come from the matrix (module docstring); only ``allowed`` cells are
        considered. The times returned are route times, never matrix cells. The fourth array
        (places × sites) marks sites the engine could not answer for a place (off the data, in
        another part of it, or routed without a route): they may hide a quicker drive.
        """
        n, m = len(o), len(d)
        part_o, part_d = self.part_of(o), self.part_of(d)
        answerable = (part_o[:, None] >= 0) & (part_o[:, None] == part_d[None, :])
        ok = answerable & allowed if allowed is not None else answerable.copy()
        cand = ok.copy()
        if m > DIRECT_MAX_SITES and ok.any():
            mat = np.where(ok, self._candidate_matrix(o, d, ok), np.nan)
            has = np.isfinite(mat).any(axis=1)
            best = np.min(np.where(np.isfinite(mat), mat, np.inf), axis=1)
            band = np.where(has, best * self.candidate_factor + self.candidate_slack_s, np.inf)
            # A row the matrix could not answer at all is routed to every allowed site.
            cand = ok & (~has[:, None] | (mat <= band[:, None]))
        rows, cols = np.nonzero(cand)
        times = np.full((n, m), np.nan)
        dists = np.full((n, m), np.nan)
        if len(rows):
            times[rows, cols], dists[rows, cols] = self.route_pairs(o[rows], d[cols])
        unanswered = ~answerable | (cand & ~np.isfinite(times))
        if not m:
            empty = np.full(n, np.nan)
            return np.full(n, -1, dtype=np.int64), empty, empty.copy(), unanswered
        filled = np.where(np.isfinite(times), times, np.inf)
        index = np.argmin(filled, axis=1)
        at = np.arange(n)
        found = np.isfinite(filled[at, index])
        duration = np.where(found, times[at, index], np.nan)
        distance = np.where(found, dists[at, index], np.nan)
        return np.where(found, index, -1).astype(np.int64), duration, distance, unanswered

    def _exact_result(self, o: FloatArray, d: FloatArray) -> NearestResult:
        """:meth:`nearest` without screening: every answer a route time.

        ``edge_warning`` follows the data-edge rule for the answer found, and is also set when
        a site the engine could not answer could plausibly be quicker (closer in a straight
        line than :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH` allows in that time).
        """
        index, duration, distance, unanswered = self._exact_nearest(o, d)
        has = index >= 0
        edge = ~has
        if len(d) and has.any():
            edge_d = self.edge_distance_m(d)[np.clip(index, 0, None)]
            detour_s = (self.edge_distance_m(o) + edge_d) / (self.edge_speed_kmh / 3.6)
            edge = edge | (has & (detour_s < duration))
            reach_km = reach_bound_m(np.where(has, duration, np.inf)) / 1000.0
            doubtful = unanswered & (haversine_km(o, d) < reach_km[:, None])
            edge = edge | doubtful.any(axis=1)
        return NearestResult(
            index=index,
            duration_s=duration,
            lower_s=duration.copy(),
            upper_s=duration.copy(),
            distance_m=distance,
            engine=self.info,
            edge_warning=np.asarray(edge, dtype=bool),
            method=np.full(len(o), "routed", dtype="<U8"),
        )

    # --- where places meet the roads -----------------------------------------------------------
    def locate_roads(self, points: FloatArray, chunk: int = 5_000) -> tuple[FloatArray, BoolArray]:
        """Where each point meets the road network (Valhalla ``locate``) and whether it does.

        A point with no road within ``max_snap_m`` keeps its coordinates and gets False.
        """
        out = np.array(points, dtype=float, copy=True)
        found = np.zeros(len(out), dtype=bool)
        for start in range(0, len(out), chunk):
            block = out[start : start + chunk]
            res = self._call(
                "locate",
                {
                    "locations": [location(p, self.max_snap_m) for p in block],
                    "costing": "auto",
                    "verbose": False,
                },
            )
            for i, loc in enumerate(res or []):
                edges: list[dict[str, Any]] = (
                    (loc.get("edges") or []) if isinstance(loc, dict) else []
                )
                if not edges:
                    continue
                cand = np.array([[e["correlated_lon"], e["correlated_lat"]] for e in edges])
                k = int(np.argmin(np.hypot(*(cand - block[i]).T)))
                out[start + i] = cand[k]
                found[start + i] = True
        return out, found

    def snap(self, points: FloatArray, chunk: int = 5_000) -> FloatArray:
        """Where each point meets the road network; unchanged where no road is near."""
        return self.locate_roads(points, chunk)[0]


__all__ = [
    "DEFAULT_CANDIDATE_FACTOR",
    "DEFAULT_CANDIDATE_SLACK_S",
    "DEFAULT_CHUNK_PAIRS",
    "DIRECT_MAX_SITES",
    "CandidateSearch",
]
