"""Warm batches: ``nearest`` answers of local road graphs, remembered per process, memory only.

The verdict path asks ``nearest`` (each place's quickest site), and every call of
``trialreach.api.check`` opens its engine afresh, so a per-router cache would be empty on the
second call. :func:`remembered_nearest` keeps ``nearest`` answers of local road graphs in one
**process-wide memory** store (never on disk: the places may be patients'; the keys are SHA-256
digests, the values indices and times, so the store holds no coordinates), keyed by the engine,
its settings, the graph's build and the exact request; a repeat of the same batch in the same
process is answered from it with the same values. :data:`NEAREST_MEMORY_ROWS` bounds it.

The one caller is :class:`geo.routing.cache.CachedRouter` (every engine the catalogue opens on
a local graph is wrapped in one, and so is each engine of ``auto``'s graphs,
:mod:`geo.routing.graph_engines`). An answer whose second opinion failed
(``NearestResult.second_failed``) is not remembered: the next ask tries the second engine again.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from geo.routing.base import NearestResult, Router
from geo.routing.keys import canonical_key
from geo.types import FloatArray

NEAREST_MEMORY_ROWS = 2_000_000
"""Bound of the process-wide ``nearest`` memory (places answered, over all entries; about 100
bytes each, so ~200 MB at most): the least recently used answers go first."""


class _RowLru:
    """LRU of :class:`NearestResult` bounded by the total number of rows held (thread-safe)."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = int(max_rows)
        self.rows = 0
        self.data: OrderedDict[str, NearestResult] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> NearestResult | None:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key: str, value: NearestResult) -> None:
        n = len(value.index)
        if n > self.max_rows:
            return
        with self.lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.rows -= len(old.index)
            self.data[key] = value
            self.rows += n
            while self.rows > self.max_rows:
                _, gone = self.data.popitem(last=False)
                self.rows -= len(gone.index)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.rows = 0


NEAREST_MEMORY = _RowLru(NEAREST_MEMORY_ROWS)
"""The process-wide memory of ``nearest`` answers (:func:`remembered_nearest`); memory only."""

NEAREST_STATS = {"hit": 0, "miss": 0}
"""Hits and misses of :data:`NEAREST_MEMORY` in this process (for tests and benchmarks)."""


def graph_identity(router: Router) -> str:
    """The local graphs a router answers from, each with its folder and build time ("" when it
    answers from none, or from something that is not a built graph: then nothing is remembered,
    e.g. the estimate, openrouteservice or a test's fake engine)."""
    graphs = router.graphs()
    if not graphs or not all(getattr(g, "built_at", "") for g in graphs):
        return ""
    return "|".join(f"{g.name}@{g.path}@{g.built_at}" for g in graphs)


_SCALARS = (int, float, str, bool, type(None))


def router_fingerprint(obj: object, depth: int = 0) -> str:
    """The class and plain settings of a router (numbers, strings, tuples of them), and of the
    objects it holds three levels down (its data-edge rule, a wrapped engine): two routers whose
    settings differ are never taken for one another by :func:`remembered_nearest`. Private
    attributes (``_engine``, a second engine opened on first use, …) are state, not settings."""
    parts = [type(obj).__qualname__]
    for name, value in sorted(vars(obj).items()) if hasattr(obj, "__dict__") else ():
        if name.startswith("_"):
            continue
        if isinstance(value, _SCALARS) or (
            isinstance(value, tuple) and all(isinstance(v, _SCALARS) for v in value)
        ):
            parts.append(f"{name}={value!r}")
        elif (
            depth < 3
            and hasattr(value, "__dict__")
            and not callable(value)
            and type(value).__module__.startswith("geo.routing")
        ):
            parts.append(f"{name}=({router_fingerprint(value, depth + 1)})")
    return " ".join(parts)


def _points_digest(points: FloatArray) -> str:
    """SHA-256 of the coordinates at 1e-6° (~0.1 m), NaN kept (vectorised, no row loop)."""
    a = np.ascontiguousarray(np.round(np.asarray(points, dtype=np.float64), 6))
    return hashlib.sha256(a.tobytes() + str(a.shape).encode()).hexdigest()


def _key(
    router: Router,
    graphs: str,
    origins: FloatArray,
    destinations: FloatArray,
    h: float | None,
) -> str:
    """The :func:`~geo.routing.keys.canonical_key` of everything that makes an answer: the
    engine and its data, its settings (:func:`router_fingerprint`), its graphs' builds
    (``graphs``, :func:`graph_identity`) and digests of the request's points."""
    request = {
        "router": router_fingerprint(router),
        "graphs": graphs,
        "o": _points_digest(origins),
        "d": _points_digest(destinations),
        "horizon_s": None if h is None else float(h),
    }
    return canonical_key("nearest", router.info, request)


def complete(res: NearestResult) -> bool:
    """False when a second opinion was wanted for some row and its engine failed: such an answer
    is not remembered, so that the next ask tries the second engine again."""
    return res.second_failed is None or not bool(np.any(res.second_failed))


def remembered_nearest(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    horizon_s: float | None,
    compute: Callable[[], NearestResult],
) -> NearestResult:
    """``compute()`` — or the same answer from the process-wide memory when ``router`` (or one
    with the same class, settings and graphs) was asked the same thing before in this process.

    Nothing is remembered for a router without a local graph (:func:`graph_identity` is empty),
    nor an answer whose second opinion failed (:func:`complete`). A hit returns a copy: callers
    may not change the remembered arrays. Never written to disk.
    """
    graphs = graph_identity(router)
    if not graphs:
        return compute()
    key = _key(router, graphs, origins, destinations, horizon_s)
    hit = NEAREST_MEMORY.get(key)
    if hit is not None:
        NEAREST_STATS["hit"] += 1
        return copy.deepcopy(hit)
    NEAREST_STATS["miss"] += 1
    res = compute()
    if complete(res):
        NEAREST_MEMORY.put(key, copy.deepcopy(res))
    return res


__all__ = [
    "NEAREST_MEMORY",
    "NEAREST_MEMORY_ROWS",
    "NEAREST_STATS",
    "complete",
    "graph_identity",
    "remembered_nearest",
    "router_fingerprint",
]
