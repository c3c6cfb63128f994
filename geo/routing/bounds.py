"""What no drive can do: the plausibility bounds every engine and every caller share.

* :data:`MAX_PLAUSIBLE_SPEED_KMH` and :func:`reach_bound_m` — no drive covers more straight-line
  distance than this speed allows, so a site farther than the bound cannot be within a limit
  (the data-edge rule, the ``auto`` engine, coverage, the trial search);
* :data:`SAME_POINT_M` and :func:`validate_durations` — an engine's table holding a time no
  drive can take (negative, infinite, 0 s between distant points) is refused as an engine fault.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

from geo.errors import EngineFaultError
from geo.geodesy import pairwise_km
from geo.types import FloatArray

MAX_PLAUSIBLE_SPEED_KMH = 130.0
"""No drive covers more straight-line distance per hour than this (used to rule sites out)."""


@overload
def reach_bound_m(horizon_s: float, max_speed_kmh: float = ...) -> float: ...
@overload
def reach_bound_m(horizon_s: FloatArray, max_speed_kmh: float = ...) -> FloatArray: ...
def reach_bound_m(
    horizon_s: float | FloatArray, max_speed_kmh: float = MAX_PLAUSIBLE_SPEED_KMH
) -> float | FloatArray:
    """Straight-line metres beyond which no drive can take at most ``horizon_s`` seconds.

    The one place this bound is computed: the data-edge rule, the ``auto`` engine's choice of
    the sites a place could reach, coverage's reach-bounded routing and the trial search all
    rule out what lies farther than ``horizon_s`` at ``max_speed_kmh`` as the crow flies.

    Parameters
    ----------
    horizon_s
        The drive time that matters (seconds), e.g. the rule's limit; a float or an array
        (elementwise). NaN gives NaN.
    max_speed_kmh
        The straight-line speed no drive exceeds (km/h); default
        :data:`MAX_PLAUSIBLE_SPEED_KMH`.

    Returns
    -------
    float or numpy.ndarray
        The distance in metres (``inf`` for an infinite horizon), shaped like ``horizon_s``.
    """
    metres_per_s = float(max_speed_kmh) / 3.6
    if isinstance(horizon_s, np.ndarray):
        return np.asarray(horizon_s, dtype=float) * metres_per_s
    return float(horizon_s) * metres_per_s


SAME_POINT_M = 500.0
"""Ends closer than this (straight line, metres) may get a drive time of 0 s: an engine snaps
both to the same road point. Farther apart, 0 s is an engine fault, never a drive time."""


def validate_durations(
    duration_s: npt.ArrayLike,
    origins: FloatArray,
    destinations: FloatArray,
    engine: str,
) -> FloatArray:
    """Refuse an engine's answer that holds a time no drive can take; return it as floats.

    Every engine passes its raw durations (seconds, origins as rows, destinations as columns)
    through here before they become a :class:`~geo.types.DriveTimeMatrix` or a
    :class:`~geo.types.Route`. NaN stays NaN (no route). A time that is infinite, negative, or
    0 s between ends more than :data:`SAME_POINT_M` apart is an engine fault: the whole answer
    is refused with :class:`~geo.errors.EngineFaultError` (an engine that says 0 s for 560 km
    cannot be trusted for its other cells either), so it never becomes a verdict and, under
    ``auto``, never replaces another engine's answers.

    Parameters
    ----------
    duration_s
        Drive times in seconds, shape (len(origins), len(destinations)).
    origins, destinations
        (n, 2) lon/lat arrays (degrees).
    engine
        The engine's name for the message (e.g. ``"openrouteservice"``).

    Returns
    -------
    numpy.ndarray
        The durations as a float array (unchanged).
    """
    d = np.array(duration_s, dtype=float)
    if d.shape != (len(origins), len(destinations)):
        raise EngineFaultError(
            f"{engine} answered a table of shape {d.shape} for "
            f"{len(origins)} × {len(destinations)} places"
        )
    known = ~np.isnan(d)
    bad = known & (~np.isfinite(d) | (d < 0))
    rows, cols = np.nonzero(known & (d == 0))
    km = np.zeros(0)
    if len(rows):
        km = pairwise_km(origins[rows], destinations[cols])
        far = ~(km * 1000.0 <= SAME_POINT_M)  # NaN coordinates count as far
        bad[rows[far], cols[far]] = True
    if bad.any():
        i, j = (int(x[0]) for x in np.nonzero(bad))
        apart = float(pairwise_km(origins[i : i + 1], destinations[j : j + 1])[0])
        where = f"points {apart:,.0f} km apart" if np.isfinite(apart) else "points"
        raise EngineFaultError(
            f"{engine} answered {d[i, j]:g} s for a drive between {where} "
            f"({int(bad.sum())} of {d.size} times are zero, negative or infinite): "
            "an engine fault, not a drive time"
        )
    return d


__all__ = ["MAX_PLAUSIBLE_SPEED_KMH", "SAME_POINT_M", "reach_bound_m", "validate_durations"]
