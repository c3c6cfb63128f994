"""How the Valhalla engine speaks to Valhalla: locations, polylines, and its error words.

Pure helpers with no engine state: a location with a snap cut-off, the polyline6 decoder for
route shapes, and the translation of the ``Actor``'s error text into :mod:`geo.errors`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from geo.errors import EngineError, OutsideDataError, RangeLimitError
from geo.types import FloatArray


class UnconnectedError(EngineError):
    """Internal: Valhalla says two locations lie in road networks that do not connect."""


def decode_polyline6(encoded: str) -> FloatArray:
    """Decode a Valhalla/Google polyline with 6 decimals into an (n, 2) lon/lat array."""
    values: list[int] = []
    current = shift = 0
    for ch in encoded.encode("ascii"):
        b = ch - 63
        current |= (b & 0x1F) << shift
        shift += 5
        if b < 0x20:
            values.append(~(current >> 1) if current & 1 else current >> 1)
            current = shift = 0
    latlon = np.cumsum(np.asarray(values, dtype=np.int64).reshape(-1, 2), axis=0) / 1e6
    return np.asarray(latlon[:, ::-1], dtype=float)


def location(p: npt.NDArray[np.float64], cutoff_m: float | None = None) -> dict[str, float]:
    """A Valhalla location; with ``cutoff_m``, no road farther than that is used (m)."""
    out = {"lon": float(p[0]), "lat": float(p[1])}
    if cutoff_m is not None:
        out["search_cutoff"] = float(cutoff_m)
    return out


def raise_for_error(text: str, graph_name: str) -> None:
    """Turn the text of a failed ``Actor`` call into an error of :mod:`geo.errors`.

    Returns (without raising) when the text means "no route": the caller answers None.
    """
    low = text.lower()
    if "no path could be found" in low or "no route" in low:
        return
    if "unconnected regions" in low:
        raise UnconnectedError(text)
    if "no suitable edges" in low:
        raise OutsideDataError(
            f"no road of graph {graph_name!r} near a location ({text}); check the "
            "coordinates, or build a graph whose extract covers them "
            "(`trialreach graph build --pbf FILE`)"
        )
    if "exceeded max" in low or "max distance" in low or "exceeds" in low:
        raise RangeLimitError(f"the local Valhalla engine refused the request: {text}")
    raise EngineError(f"the local Valhalla engine failed: {text}")


def durations_table(answer: dict[str, Any], n_rows: int, n_cols: int) -> FloatArray:
    """The ``durations`` of a ``matrix`` answer as an (n_rows, n_cols) float array (NaN: none)."""
    rows = answer["sources_to_targets"]["durations"]
    return np.array(
        [[np.nan if v is None else float(v) for v in row] for row in rows], dtype=float
    ).reshape(n_rows, n_cols)


__all__ = ["UnconnectedError", "decode_polyline6", "durations_table", "location", "raise_for_error"]
