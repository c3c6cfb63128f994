"""Cache of routing answers, keyed by engine, data version and the canonical request.

Two tiers:

* **memory** (every answer kind): a small LRU per process;
* **disk** (opt-in per kind): a bounded :mod:`diskcache` store under ``<cache_dir>/routing``
  (SQLite index + files, safe across processes; least recently used answers evicted past
  :data:`DEFAULT_SIZE_LIMIT_BYTES`), written only on success. ``trialreach cache info|clear``.

Privacy: a patient's place is health information and must not reach the disk. Persist only
requests whose points are public — isochrones around *sites*, matrices between population
centroids and sites for planners. :class:`CachedRouter` therefore persists nothing unless told
(``persist={"isochrones"}`` for site isochrones, ``{"matrices"}`` for public-point matrices).
Routes are never persisted.

Warm batches: ``nearest`` answers (the verdict path) of local road graphs are remembered
**process-wide**, in memory only, by :mod:`geo.routing.memory` (keys are digests; no
coordinates kept): a new ``CachedRouter`` over the same graph and settings — the next
``trialreach.api.check`` opens its engine afresh — answers a repeat from it. This wrapper is the
one place that memory is asked: the catalogue wraps every local-graph engine it opens in one,
and ``auto`` wraps each graph's engines (:mod:`geo.routing.graph_engines`).
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from geo.routing.base import NearestResult, Points, Router, as_lonlat_array
from geo.routing.keys import canonical_key, jsonable
from geo.routing.memory import remembered_nearest
from geo.settings import Settings, get_settings
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, FloatArray, LonLat, Route

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest


def _rounded(points: FloatArray) -> list[list[float | None]]:
    """Coordinates at 1e-6° (~0.1 m); NaN as None."""
    return [[None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in points]


DEFAULT_SIZE_LIMIT_BYTES = 512 * 1024**2
"""Bound of the routing disk cache (512 MiB): the least recently used answers go first."""

_LEGACY_KINDS = ("isochrones", "matrices", "valhalla-isochrones")
"""Folders of the cache format before ``diskcache`` (one file per answer); cleared with it."""


class DiskCache:
    """A bounded, process-safe store of public answers, on :mod:`diskcache` (SQLite + files).

    Values are stored as bytes only (JSON text or an ``.npz`` archive read with
    ``allow_pickle=False``): nothing read back is unpickled. The store is opened on the first
    write (or the first read once it exists), so a router that persists nothing leaves no file.
    When it grows past ``size_limit_bytes`` the least recently used answers are evicted.
    """

    def __init__(self, root: Path, *, size_limit_bytes: int = DEFAULT_SIZE_LIMIT_BYTES) -> None:
        self.root = Path(root)
        self.size_limit_bytes = int(size_limit_bytes)
        self._store: Any = None

    def _open(self, create: bool) -> Any:
        if self._store is None:
            if not create and not (self.root / "cache.db").is_file():
                return None
            import diskcache

            self._store = diskcache.Cache(
                str(self.root),
                size_limit=self.size_limit_bytes,
                eviction_policy="least-recently-used",
                cull_limit=4,  # evict a few at a time, so the bound holds without a purge
            )
        return self._store

    def close(self) -> None:
        """Close the store (it reopens on next use)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def _get(self, kind: str, key: str) -> bytes | None:
        store = self._open(create=False)
        if store is None:
            return None
        value = store.get(f"{kind}/{key}")
        return value if isinstance(value, bytes) else None

    def _put(self, kind: str, key: str, data: bytes) -> None:
        self._open(create=True).set(f"{kind}/{key}", data)

    def get_json(self, kind: str, key: str) -> Any | None:
        data = self._get(kind, key)
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            return None

    def put_json(self, kind: str, key: str, value: Any) -> None:
        self._put(kind, key, json.dumps(value).encode("utf-8"))

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray[Any, Any]] | None:
        data = self._get(kind, key)
        if data is None:
            return None
        import io

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                return {name: arrays[name] for name in arrays.files}
        except (OSError, ValueError):
            return None

    def put_arrays(self, kind: str, key: str, **arrays: np.ndarray[Any, Any]) -> None:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        self._put(kind, key, buf.getvalue())

    def info(self) -> dict[str, Any]:
        """``path``, ``entries``, ``size_bytes`` and ``size_limit_bytes`` (zeros when empty)."""
        store = self._open(create=False)
        entries = len(store) if store is not None else 0
        size = int(store.volume()) if store is not None else 0
        legacy = [self.root / k for k in _LEGACY_KINDS if (self.root / k).is_dir()]
        for folder in legacy:
            files = [p for p in folder.rglob("*") if p.is_file()]
            entries += len(files)
            size += sum(p.stat().st_size for p in files)
        return {
            "path": str(self.root),
            "entries": entries,
            "size_bytes": size,
            "size_limit_bytes": self.size_limit_bytes,
        }

    def clear(self) -> int:
        """Delete every cached answer; return how many were removed."""
        import shutil

        n = 0
        store = self._open(create=False)
        if store is not None:
            n += int(store.clear())
        for kind in _LEGACY_KINDS:
            folder = self.root / kind
            if folder.is_dir():
                n += sum(1 for p in folder.rglob("*") if p.is_file())
                shutil.rmtree(folder, ignore_errors=True)
        return n


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        return None

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)


class CachedRouter(Router):
    """Wrap any router with the memory cache, and the disk cache for the kinds in ``persist``.

    ``stats`` counts hits and misses per tier (for tests and benchmarks). ``nearest`` is always
    answered through the process-wide memory (:mod:`geo.routing.memory`). With
    ``memory_size=0`` and nothing to persist, that is all it adds: routes, tables and
    isochrones go straight to the engine, with no key built and nothing kept (how the engine
    catalogue opens local engines: a national run's tables would otherwise fill memory).
    """

    def __init__(
        self,
        router: Router,
        settings: Settings | None = None,
        *,
        persist: Iterable[str] = (),
        memory_size: int = 256,
        disk: DiskCache | None = None,
    ) -> None:
        self.router = router
        self.name = router.name
        self.limits = router.limits
        settings = settings or get_settings()
        self.persist = frozenset(persist)
        unknown = self.persist - {"isochrones", "matrices"}
        if unknown:
            raise ValueError(f"cannot persist {sorted(unknown)}; only isochrones and matrices")
        self.disk = disk or DiskCache(settings.cache_dir / "routing")
        self.memory = _Lru(memory_size)
        self.stats = {"memory": 0, "disk": 0, "miss": 0}
        self.nearest_only = memory_size <= 0 and not self.persist

    @property
    def info(self) -> EngineInfo:
        return self.router.info

    def describe(self) -> str:
        return self.router.describe()

    def covers(self, points: Points) -> BoolArray:
        return self.router.covers(points)

    def graphs(self) -> tuple[GraphManifest, ...]:
        return self.router.graphs()

    def reach_bound_m(self, horizon_s: float) -> float:
        return self.router.reach_bound_m(horizon_s)

    def without_second_opinions(self) -> Router:
        """A shallow copy over the quiet engine, sharing this one's caches (else this router)."""
        inner = self.router.without_second_opinions()
        if inner is self.router:
            return self
        quiet = copy.copy(self)
        quiet.router = inner
        return quiet

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        """The wrapped engine's answer, remembered process-wide for local road graphs.

        A repeat of the same request (same engine settings, graph build, points at 1e-6°,
        horizon) in this process is answered from :data:`geo.routing.memory.NEAREST_MEMORY`
        with a copy of the same values; engines without a local graph (the estimate,
        openrouteservice) are always asked. Never written to disk.
        """
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        return remembered_nearest(
            self.router, o, d, horizon_s, lambda: self.router.nearest(o, d, horizon_s)
        )

    def second_opinion(
        self, origins: Points, destinations: Points, matrix: DriveTimeMatrix, horizon_s: float
    ) -> DriveTimeMatrix | None:
        """The wrapped engine's second opinion (not remembered)."""
        return self.router.second_opinion(origins, destinations, matrix, horizon_s)

    def route(self, origin: LonLat, destination: LonLat) -> Route:
        if self.nearest_only:
            return self.router.route(origin, destination)
        key = canonical_key(
            "route",
            self.info,
            {"o": [origin.lon, origin.lat], "d": [destination.lon, destination.lat]},
        )
        hit = self.memory.get(key)
        if hit is not None:
            self.stats["memory"] += 1
            return hit  # type: ignore[no-any-return]
        self.stats["miss"] += 1
        route = self.router.route(origin, destination)
        self.memory.put(key, route)
        return route

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        if self.nearest_only:
            return self.router.drive_times(origins, destinations)
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        key = canonical_key("matrix", self.info, {"o": _rounded(o), "d": _rounded(d)})
        hit = self.memory.get(key)
        if hit is not None:
            self.stats["memory"] += 1
            return copy.deepcopy(hit)  # type: ignore[no-any-return]
        if "matrices" in self.persist:
            arrays = self.disk.get_arrays("matrices", key)
            if arrays is not None:
                self.stats["disk"] += 1
                edge = arrays.get("edge_warning")
                m = DriveTimeMatrix(
                    duration_s=arrays["duration_s"],
                    distance_m=arrays["distance_m"],
                    engine=self.info,
                    edge_warning=edge if edge is not None and edge.size else None,
                )
                self.memory.put(key, m)
                return copy.deepcopy(m)
        self.stats["miss"] += 1
        m = self.router.drive_times(o, d)
        self.memory.put(key, copy.deepcopy(m))
        if "matrices" in self.persist:
            self.disk.put_arrays(
                "matrices",
                key,
                duration_s=m.duration_s,
                distance_m=m.distance_m,
                edge_warning=m.edge_warning
                if m.edge_warning is not None
                else np.zeros(0, dtype=bool),
            )
        return m

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        if self.nearest_only:
            return self.router.isochrones(points, minutes)
        pts = as_lonlat_array(points)
        contours = self.router.check_isochrone_request(minutes, len(pts))
        key = canonical_key("isochrones", self.info, {"p": _rounded(pts), "minutes": contours})
        hit = self.memory.get(key)
        if hit is not None:
            self.stats["memory"] += 1
            return hit.copy()
        if "isochrones" in self.persist:
            stored = self.disk.get_json("isochrones", key)
            if stored is not None:
                self.stats["disk"] += 1
                frame = _frame_from_json(stored)
                self.memory.put(key, frame)
                return frame.copy()
        self.stats["miss"] += 1
        frame = self.router.isochrones(pts, contours)
        self.memory.put(key, frame)
        if "isochrones" in self.persist:
            self.disk.put_json("isochrones", key, _frame_to_json(frame))
        return frame.copy()


def _frame_to_json(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    columns = [c for c in frame.columns if c != "geometry"]
    return {
        "columns": columns,
        "rows": [
            [jsonable(v) if isinstance(v, np.generic) else v for v in row]
            for row in frame[columns].itertuples(index=False, name=None)
        ],
        "wkb": [shapely.to_wkb(g, hex=True) for g in frame.geometry],
    }


def _frame_from_json(data: Mapping[str, Any]) -> gpd.GeoDataFrame:
    import pandas as pd

    table = pd.DataFrame(data["rows"], columns=data["columns"])
    geoms = shapely.from_wkb(np.array(data["wkb"], dtype=object))
    return gpd.GeoDataFrame(table, geometry=list(geoms), crs="EPSG:4326")
