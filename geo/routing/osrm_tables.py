"""The OSRM engine's tables: the in-process ``osrm.OSRM`` and its ``Table`` requests.

:class:`OsrmTables` (a mixin of :class:`~geo.routing.osrm.OsrmRouter`) opens OSRM over a graph's
dataset and asks it for tables of drive times (s) and distances (m), in requests of at most
``chunk_pairs`` pairs, checking every number: a duration that is not finite and positive — 0
only when both ends snap to one road point (:data:`SAME_POINT_M`) — is an engine fault, never a
drive time. A point farther than ``max_snap_m`` from any road gets NaN and a flag.

Speed (docs/engine.md, "Benchmarks"): a single destination for several origins is asked twice,
so that OSRM runs its many-to-many search (its one-to-many search costs graph × origins), and
the waypoints of a result are iterated, never indexed (indexing them is linear per access).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from geo.errors import EngineError, EngineNotAvailableError
from geo.geodesy import pairwise_km
from geo.routing.graph import GraphManifest, osrm_problem
from geo.types import BoolArray, FloatArray

DEFAULT_CHUNK_PAIRS = 250_000
"""Largest table sent in one request (origin × destination pairs)."""
SAME_POINT_M = 5.0
"""Snapped ends closer than this (m) are one road point: a 0 s drive is then genuine."""


def _waypoints(items: Any, n: int) -> FloatArray:
    """(n, 3) snap distance (m), lon, lat of OSRM waypoints (iterated, never indexed)."""
    rows = [(float(w["distance"]), *(float(v) for v in w["location"])) for w in items]
    out = np.asarray(rows, dtype=float).reshape(-1, 3)
    if len(out) != n:
        raise EngineError(f"the local OSRM engine returned {len(out)} waypoints for {n} points")
    return out


class OsrmTables:
    """OSRM in-process over ``graph``'s dataset, and its tables (see the module docstring).

    The engine sets ``graph``, ``max_snap_m`` (m), ``chunk_pairs``, a ``_lock`` and ``_engine``
    (None until first use) before asking anything.
    """

    graph: GraphManifest
    max_snap_m: float
    chunk_pairs: int
    _lock: threading.Lock
    _engine: Any

    @property
    def engine(self) -> Any:
        """The in-process ``osrm.OSRM`` over the graph's dataset (opened on first use)."""
        with self._lock:
            if self._engine is None:
                try:
                    import osrm
                except ImportError as exc:  # pragma: no cover - the wheel is a dependency
                    raise EngineNotAvailableError(osrm_problem(self.graph) or str(exc)) from exc
                try:
                    self._engine = osrm.OSRM(
                        storage_config=str(self.graph.osrm_path),
                        algorithm=self.graph.osrm_algorithm.upper(),
                        use_shared_memory=False,
                    )
                except (RuntimeError, ValueError) as exc:
                    raise EngineNotAvailableError(
                        f"cannot open the OSRM data of road graph {self.graph.name!r} ({exc}); "
                        f"rebuild it with {self.graph.rebuild_hint}"
                    ) from exc
            return self._engine

    def _table_block(
        self, o: FloatArray, d: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """One OSRM table: durations (s), distances (m), snap distances (m) and snapped points."""
        import osrm

        # One destination for several origins: OSRM's one-to-many search then checks every
        # origin at every node it settles (cost ~ graph × origins: 2,000 places to one site took
        # 42 s on the 150 km grid). Asked twice, the same site goes through the many-to-many
        # search instead (6.0 s there; the two columns are identical) and column 0 is kept.
        twice = len(d) == 1 and len(o) > 1
        ask = np.vstack([d, d]) if twice else d
        coords = [(float(x), float(y)) for x, y in np.vstack([o, ask])]
        params = osrm.TableParameters(
            coordinates=coords,
            sources=list(range(len(o))),
            destinations=list(range(len(o), len(o) + len(ask))),
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        try:
            res = self.engine.Table(params)
        except RuntimeError as exc:
            raise EngineError(f"the local OSRM engine failed on a table: {exc}") from exc
        dur = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in res["durations"]],
            dtype=float,
        ).reshape(len(o), len(ask))[:, : len(d)]
        dist = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in res["distances"]],
            dtype=float,
        ).reshape(len(o), len(ask))[:, : len(d)]
        # Iterate the result arrays: indexing them one by one is linear per access (3,000
        # sources took 19 s that way, 0.03 s iterated).
        wo = _waypoints(res["sources"], len(o))
        wd = _waypoints(res["destinations"], len(ask))[: len(d)]
        return dur, dist, wo[:, 0], wd[:, 0], wo[:, 1:], wd[:, 1:]

    def _check_durations(self, dur: FloatArray, loc_o: FloatArray, loc_d: FloatArray) -> None:
        """Engine output must be NaN (no route) or finite and > 0 (0 only on one road point)."""
        known = ~np.isnan(dur)
        bad = known & (~np.isfinite(dur) | (dur < 0))
        zero = known & (dur == 0)
        if zero.any():
            same = pairwise_km(loc_o[:, None, :], loc_d[None, :, :]) * 1000.0 <= SAME_POINT_M
            bad |= zero & ~same
        if bad.any():
            i, j = (int(v[0]) for v in np.nonzero(bad))
            raise EngineError(
                f"the local OSRM engine answered an impossible drive time ({dur[i, j]!r} s) for "
                f"graph {self.graph.name!r}; this is an engine fault, not a drive time — rebuild "
                f"the graph with {self.graph.rebuild_hint}"
            )

    def _tables(
        self, o: FloatArray, d: FloatArray
    ) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
        """Durations (s) and distances (m) of ``o`` × ``d`` (covered, distinct points) in tables
        of at most ``chunk_pairs`` pairs; NaN beyond the snap guard, with its flags per point."""
        dur = np.full((len(o), len(d)), np.nan)
        dist = np.full((len(o), len(d)), np.nan)
        far_o = np.zeros(len(o), dtype=bool)
        far_d = np.zeros(len(d), dtype=bool)
        cols = min(len(d), self.chunk_pairs)
        rows = max(1, self.chunk_pairs // cols)
        for j in range(0, len(d), cols):
            dj = slice(j, j + cols)
            for i in range(0, len(o), rows):
                oi = slice(i, i + rows)
                a, b, so, sd, lo, ld = self._table_block(o[oi], d[dj])
                self._check_durations(a, lo, ld)
                fo, fd = so > self.max_snap_m, sd > self.max_snap_m
                far_o[oi] |= fo
                far_d[dj] |= fd
                a[fo, :] = np.nan
                a[:, fd] = np.nan
                dur[oi, dj] = a
                dist[oi, dj] = np.where(np.isfinite(a), b, np.nan)
        return dur, dist, far_o, far_d


__all__ = ["DEFAULT_CHUNK_PAIRS", "SAME_POINT_M", "OsrmTables"]
