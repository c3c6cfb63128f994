"""Cache of routing answers, keyed by engine, data version and the canonical request.

Two tiers:

* **memory** (every answer kind): a small LRU per process;
* **disk** (opt-in per kind): files under ``<cache_dir>/routing/<kind>/<sha256>.{json,npz}``,
  written atomically and only on success.

Privacy: a patient's place is health information and must not reach the disk. Persist only
requests whose points are public — isochrones around *sites*, matrices between population
centroids and sites for planners. :class:`CachedRouter` therefore persists nothing unless told
(``persist={"isochrones"}`` for site isochrones, ``{"matrices"}`` for public-point matrices).
Routes are never persisted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.routing.base import NearestResult, Points, Router, as_lonlat_array
from geo.settings import Settings, get_settings
from geo.types import BoolArray, DriveTimeMatrix, EngineInfo, FloatArray, LonLat, Route

CACHE_FORMAT = 1
"""Bump when the stored layout changes; old entries are then simply not found."""


def canonical_key(kind: str, engine: EngineInfo, request: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of (format, kind, engine, data version, request)."""
    payload = {
        "format": CACHE_FORMAT,
        "kind": kind,
        "engine": engine.name,
        "data": engine.data,
        "data_date": engine.data_date,
        "request": request,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _rounded(points: FloatArray) -> list[list[float | None]]:
    """Coordinates at 1e-6° (~0.1 m); NaN as None."""
    return [[None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in points]


class DiskCache:
    """Files keyed by hash under one folder; every write is atomic."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_json(self, kind: str, key: str) -> Any | None:
        path = self._path(kind, key, ".json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put_json(self, kind: str, key: str, value: Any) -> None:
        self._write(self._path(kind, key, ".json"), json.dumps(value).encode("utf-8"))

    def get_arrays(self, kind: str, key: str) -> dict[str, np.ndarray[Any, Any]] | None:
        path = self._path(kind, key, ".npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError):
            return None

    def put_arrays(self, kind: str, key: str, **arrays: np.ndarray[Any, Any]) -> None:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        self._write(self._path(kind, key, ".npz"), buf.getvalue())

    def clear(self) -> int:
        """Delete every cached answer; return how many files were removed."""
        n = 0
        if self.root.is_dir():
            for path in self.root.rglob("*"):
                if path.is_file():
                    path.unlink()
                    n += 1
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

    ``stats`` counts hits and misses per tier (for tests and benchmarks).
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

    @property
    def info(self) -> EngineInfo:
        return self.router.info

    def describe(self) -> str:
        return self.router.describe()

    def covers(self, points: Points) -> BoolArray:
        return self.router.covers(points)

    def nearest(
        self, origins: Points, destinations: Points, horizon_s: float | None = None
    ) -> NearestResult:
        return self.router.nearest(origins, destinations, horizon_s)

    def route(self, origin: LonLat, destination: LonLat) -> Route:
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
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        key = canonical_key("matrix", self.info, {"o": _rounded(o), "d": _rounded(d)})
        hit = self.memory.get(key)
        if hit is not None:
            self.stats["memory"] += 1
            return hit  # type: ignore[no-any-return]
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
                return m
        self.stats["miss"] += 1
        m = self.router.drive_times(o, d)
        self.memory.put(key, m)
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
            [_jsonable(v) if isinstance(v, np.generic) else v for v in row]
            for row in frame[columns].itertuples(index=False, name=None)
        ],
        "wkb": [shapely.to_wkb(g, hex=True) for g in frame.geometry],
    }


def _frame_from_json(data: Mapping[str, Any]) -> gpd.GeoDataFrame:
    import pandas as pd

    table = pd.DataFrame(data["rows"], columns=data["columns"])
    geoms = shapely.from_wkb(np.array(data["wkb"], dtype=object))
    return gpd.GeoDataFrame(table, geometry=list(geoms), crs="EPSG:4326")
