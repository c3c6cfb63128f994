"""Cache keys: one canonical SHA-256 of what makes an answer (format, kind, engine, request).

Shared by the routing caches (:mod:`geo.routing.cache`) and the process-wide ``nearest`` memory
(:mod:`geo.routing.memory`), so both key the same way. Light: numpy only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from geo.types import EngineInfo

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
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=jsonable)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


__all__ = ["CACHE_FORMAT", "canonical_key", "jsonable"]
