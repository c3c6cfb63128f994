"""The ``ors`` engine: openrouteservice, the public API or a self-hosted server.

Requests are built by the official ``openrouteservice`` Python client and sent by
:class:`geo.routing.ors_connection.OrsConnection` (the key's quota pacing, the project's retry
policy, errors that say what to do); this module checks the limits, plans the requests and reads
the answers.

Endpoints (ORS v2)
------------------
* drive times: ``POST /v2/matrix/driving-car/json`` with ``sources``/``destinations`` index lists,
  chunked so that each request asks for at most ``max_matrix_pairs`` (sources × destinations);
* isochrones: ``POST /v2/isochrones/driving-car/geojson`` (``range_type`` time, ``range`` in
  seconds), batched by locations and contours per request;
* routes: ``POST /v2/directions/driving-car/geojson``.

Limits
------
The public API (``https://api.openrouteservice.org``, key required) answers driving isochrones up
to 60 min, 5 locations and 10 ranges per isochrone request, 3,500 pairs per matrix request; it
allows 40 matrix, 20 isochrone and 40 directions requests per minute (and a daily quota). A
self-hosted server has whatever its ``ors-config.yml`` says; this module assumes the stock
defaults of openrouteservice (``maximum_range_time`` 18,000 s, 2 locations and 1 range per
isochrone request, ``maximum_routes`` 2,500) unless told otherwise with ``limits=`` or
``max_isochrone_min=``. Limits are checked before anything is sent.

A patient's location is never logged: URLs are logged without their query string and request
bodies are never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import (
    EngineError,
    NetworkError,
    RangeLimitError,
    ValidationError,
)
from geo.routing.base import (
    ISOCHRONE_COLUMNS,
    Points,
    Router,
    as_lonlat_array,
    empty_isochrones,
    validate_durations,
)
from geo.routing.ors_connection import PROFILE, OrsConnection
from geo.settings import Settings
from geo.types import DriveTimeMatrix, EngineInfo, EngineLimits, FloatArray, LonLat, Route

log = logging.getLogger(__name__)

PUBLIC_LIMITS = EngineLimits(
    max_isochrone_min=60.0,
    max_isochrone_contours=10,
    max_isochrone_locations=5,
    max_matrix_pairs=3_500,
)
"""What one request to the public API may ask for (openrouteservice.org, API restrictions)."""

SELF_HOSTED_LIMITS = EngineLimits(
    max_isochrone_min=300.0,
    max_isochrone_contours=1,
    max_isochrone_locations=2,
    max_matrix_pairs=2_500,
)
"""The stock defaults of a self-hosted openrouteservice (``ors.endpoints.*`` in ors-config.yml)."""

CAP_HELP = (
    "Ways around it: use the embedded local engine (--engine valhalla, road graphs from "
    "`trialreach graph build`), which draws 120-minute contours; or run your own "
    "openrouteservice and point ORS_BASE_URL at it, where the cap "
    "(ors.endpoints.isochrones.maximum_range_time) can be raised. Drive-time verdicts are not "
    "affected: they use the matrix endpoint, which has no 1-hour cap."
)

# --- request planning (pure) -------------------------------------------------------------


def matrix_blocks(n_rows: int, n_cols: int, max_pairs: int) -> list[tuple[slice, slice]]:
    """Split an ``n_rows × n_cols`` matrix into blocks of at most ``max_pairs`` cells.

    Whole rows are kept together when they fit, so a 100 × 50 matrix with 3,500 pairs per
    request becomes two requests (70 × 50 and 30 × 50).
    """
    if n_rows == 0 or n_cols == 0:
        return []
    if max_pairs < 1:
        raise ValidationError(f"max_matrix_pairs must be at least 1, got {max_pairs}")
    cols_per = min(n_cols, max_pairs)
    rows_per = max(1, max_pairs // cols_per)
    return [
        (slice(r, min(r + rows_per, n_rows)), slice(c, min(c + cols_per, n_cols)))
        for r in range(0, n_rows, rows_per)
        for c in range(0, n_cols, cols_per)
    ]


def _batches(n: int, size: int | None) -> list[slice]:
    step = n if size is None else max(1, size)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)] if n else []


def _as_table(values: Any, shape: tuple[int, int], what: str) -> FloatArray:
    """An ORS ``durations``/``distances`` table as floats, null -> NaN (never 0)."""
    if values is None:
        return np.full(shape, np.nan)
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise NetworkError(
            f"openrouteservice answered a matrix whose {what} are not numbers"
        ) from exc
    if arr.shape != shape:
        raise NetworkError(
            f"openrouteservice answered a {what} table of shape {arr.shape}, expected {shape}"
        )
    return arr


# --- the router --------------------------------------------------------------------------


class OrsRouter(Router):
    """Drive times, isochrones and routes from openrouteservice.

    Parameters
    ----------
    settings
        Key, URL and HTTP values (default: :func:`geo.settings.get_settings`).
    limits
        What one request may ask for; default :data:`PUBLIC_LIMITS` on the public API and
        :data:`SELF_HOSTED_LIMITS` on a self-hosted server (set this to match your
        ``ors-config.yml``).
    max_isochrone_min
        Shortcut to change only the isochrone range limit (self-hosted servers).
    connection
        A ready :class:`~geo.routing.ors_connection.OrsConnection`; otherwise one is made from
        ``settings`` and
        ``connection_kwargs`` (``api_key``, ``base_url``, ``public``, ``quota_per_min``,
        ``sleep``, ``clock`` ...).
    """

    name = "ors"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        limits: EngineLimits | None = None,
        max_isochrone_min: float | None = None,
        profile: str = PROFILE,
        connection: OrsConnection | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.connection = connection or OrsConnection(settings, **connection_kwargs)
        public = self.connection.is_public
        lim = limits or (PUBLIC_LIMITS if public else SELF_HOSTED_LIMITS)
        if max_isochrone_min is not None:
            lim = replace(lim, max_isochrone_min=float(max_isochrone_min))
        self.limits = lim
        self.profile = profile

    @property
    def client(self) -> Any:
        """The ``openrouteservice.Client`` that builds the requests."""
        return self.connection.client

    @property
    def info(self) -> EngineInfo:
        if self.connection.is_public:
            data = "openrouteservice public API (OpenStreetMap)"
        else:
            data = f"self-hosted openrouteservice at {self.connection.host}"
        return EngineInfo(name="ors", data=data)

    # -- drive times -----------------------------------------------------------------------
    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o = as_lonlat_array(origins, "origins")
        d = as_lonlat_array(destinations, "destinations")
        duration = np.full((len(o), len(d)), np.nan)
        distance = np.full((len(o), len(d)), np.nan)
        # Rows without coordinates (e.g. a failed geocode) stay NaN and are never sent.
        o_ok = np.flatnonzero(np.isfinite(o).all(axis=1))
        d_ok = np.flatnonzero(np.isfinite(d).all(axis=1))
        max_pairs = self.limits.max_matrix_pairs or len(o_ok) * len(d_ok) or 1
        for rows, cols in matrix_blocks(len(o_ok), len(d_ok), max_pairs):
            r_idx, c_idx = o_ok[rows], d_ok[cols]
            locations = np.vstack([o[r_idx], d[c_idx]]).tolist()
            n_r, n_c = len(r_idx), len(c_idx)
            answer = self.client.distance_matrix(
                locations=locations,
                profile=self.profile,
                sources=list(range(n_r)),
                destinations=list(range(n_r, n_r + n_c)),
                metrics=["duration", "distance"],
                units="m",
                validate=False,
            )
            if not isinstance(answer, dict):
                raise NetworkError("openrouteservice answered a matrix that is not a JSON object")
            block = np.ix_(r_idx, c_idx)
            # Zero/negative seconds for distinct places are a fault, never a drive time.
            duration[block] = validate_durations(
                _as_table(answer.get("durations"), (n_r, n_c), "durations"),
                o[r_idx],
                d[c_idx],
                "openrouteservice",
            )
            distance[block] = _as_table(answer.get("distances"), (n_r, n_c), "distances")
        return DriveTimeMatrix(duration_s=duration, distance_m=distance, engine=self.info)

    # -- isochrones ------------------------------------------------------------------------
    def check_isochrone_request(self, minutes: Any, n_points: int = 1) -> list[float]:
        """Validate contours; refuse ranges beyond the server's cap with the way around it.

        Locations and contours beyond the per-request limits are not refused: they are split
        over several requests.
        """
        contours = sorted({float(m) for m in minutes})
        if not contours or any(not np.isfinite(m) or m <= 0 for m in contours):
            raise ValidationError(
                f"isochrone minutes must be positive numbers, got {list(minutes)}"
            )
        cap = self.limits.max_isochrone_min
        if cap is not None and contours[-1] > cap:
            if self.connection.is_public:
                raise RangeLimitError(
                    f"the public openrouteservice API draws driving isochrones up to {cap:g} "
                    f"minutes (a 1-hour cap); {contours[-1]:g} minutes was asked. " + CAP_HELP
                )
            raise RangeLimitError(
                f"the openrouteservice at {self.connection.host} is set up here for isochrones "
                f"up to {cap:g} minutes; {contours[-1]:g} minutes was asked. If the server "
                "allows more (ors.endpoints.isochrones.maximum_range_time in its ors-config.yml), "
                "pass max_isochrone_min= to OrsRouter; or use --engine valhalla (local)."
            )
        return contours

    def isochrones(self, points: Points, minutes: Sequence[float]) -> gpd.GeoDataFrame:
        pts = as_lonlat_array(points)
        contours = self.check_isochrone_request(minutes, len(pts))
        if len(pts) == 0:
            return empty_isochrones()
        if not np.isfinite(pts).all():
            bad = ", ".join(str(i) for i in np.flatnonzero(~np.isfinite(pts).all(axis=1))[:10])
            raise ValidationError(f"isochrone points without coordinates at positions {bad}")
        ranges_s = [round(m * 60.0) for m in contours]
        frames: list[gpd.GeoDataFrame] = []
        for loc in _batches(len(pts), self.limits.max_isochrone_locations):
            for rng in _batches(len(ranges_s), self.limits.max_isochrone_contours):
                answer = self.client.isochrones(
                    locations=pts[loc].tolist(),
                    profile=self.profile,
                    range_type="time",
                    range=ranges_s[rng],
                    validate=False,
                )
                frames.append(self._parse_isochrones(answer, offset=loc.start))
        out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
        out = out.sort_values(["point_index", "minutes"], kind="stable", ignore_index=True)
        return out[ISOCHRONE_COLUMNS]

    def _parse_isochrones(self, answer: Any, offset: int) -> gpd.GeoDataFrame:
        features = answer.get("features") if isinstance(answer, dict) else None
        if not isinstance(features, list):
            raise NetworkError("openrouteservice answered isochrones without GeoJSON features")
        props = [f.get("properties") or {} for f in features]
        try:
            group = np.array([int(p["group_index"]) for p in props], dtype=np.int64)
            value_s = np.array([float(p["value"]) for p in props], dtype=float)
            geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
        except (KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            raise NetworkError(f"openrouteservice answered unreadable isochrones ({exc})") from exc
        return gpd.GeoDataFrame(
            {
                "point_index": group + offset,
                "minutes": value_s / 60.0,
                "engine": self.info.label,
                "approximate": False,
            },
            geometry=list(geoms) if len(features) else [],
            crs="EPSG:4326",
        )

    # -- route -----------------------------------------------------------------------------
    def route(self, origin: LonLat, destination: LonLat) -> Route:
        answer = self.client.directions(
            coordinates=[list(origin.as_tuple()), list(destination.as_tuple())],
            profile=self.profile,
            format="geojson",
            instructions=False,
            validate=False,
        )
        features = answer.get("features") if isinstance(answer, dict) else None
        if not features:
            raise EngineError("openrouteservice answered no route")
        feature = features[0]
        summary = (feature.get("properties") or {}).get("summary") or {}
        coords = (feature.get("geometry") or {}).get("coordinates") or []
        if len(coords) < 2:
            coords = [origin.as_tuple(), destination.as_tuple()]
        try:
            duration_s = float(summary.get("duration", np.nan))
        except (TypeError, ValueError):
            duration_s = np.nan
        ends = as_lonlat_array([origin, destination])
        if not np.isfinite(duration_s):
            raise EngineError("openrouteservice answered a route without a duration")
        validate_durations([[duration_s]], ends[:1], ends[1:], "openrouteservice")
        return Route(
            duration_s=duration_s,
            distance_m=float(summary.get("distance", 0.0)),
            geometry=shapely.LineString([c[:2] for c in coords]),
            engine=self.info,
        )
