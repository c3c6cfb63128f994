"""Great-circle distances on the one earth radius of the project.

Straight-line distances serve as bounds and pre-filters (no drive is shorter than the straight
line; no car averages more than :data:`geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`) and for the
estimate engine. Points are (lon, lat) in degrees, WGS84; the sphere has the mean earth radius
(IUGG, 6,371.0088 km), within 0.5 % of the ellipsoidal distance anywhere.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_KM", "EARTH_RADIUS_M", "KM_PER_DEG", "haversine_km", "pairwise_km"]

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_KM = 6371.0088
"""Mean earth radius (km), IUGG."""
EARTH_RADIUS_M = EARTH_RADIUS_KM * 1000.0
"""Mean earth radius (m)."""
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0
"""Length of one degree of latitude (or of longitude at the equator), km."""


def pairwise_km(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Great-circle distance (km) between matching points of ``a`` and ``b``.

    Parameters
    ----------
    a, b
        Arrays of (lon, lat) in degrees, shape ``(..., 2)``; broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Distances in km, the broadcast shape without the last axis.
    """
    pa, pb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    lon1, lat1 = np.radians(pa[..., 0]), np.radians(pa[..., 1])
    lon2, lat2 = np.radians(pb[..., 0]), np.radians(pb[..., 1])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    km: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return km


def haversine_km(a: FloatArray, b: FloatArray) -> FloatArray:
    """Great-circle distance in km between every row of ``a`` and every row of ``b`` (lon, lat).

    Returns an array of shape (len(a), len(b)).
    """
    return pairwise_km(np.asarray(a)[:, None, :], np.asarray(b)[None, :, :])
