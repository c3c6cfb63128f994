"""The ``ors`` engine: openrouteservice, the public API or a self-hosted server.

Requests are built by the official ``openrouteservice`` Python client (``Client.distance_matrix``,
``Client.isochrones``, ``Client.directions``, ``Client.pelias_search``); they are *sent* by
:class:`OrsConnection` through the project's one HTTP layer (:mod:`geo._http`): the key's
per-minute quota pacing (shared with the openrouteservice geocoder), the retry policy (jittered
backoff on HTTP 429/5xx/timeouts, ``Retry-After`` honoured) and :mod:`geo.errors` exceptions with
messages that say what to do.

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
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import openrouteservice
import pandas as pd
import requests
import shapely

from geo._http import (
    RETRY_STATUS,
    HttpClient,
    transient_from_exception,
    transient_from_response,
)
from geo._pacing import ORS_PUBLIC_HOST, ORS_PUBLIC_QUOTA_PER_MIN, shared_quota
from geo._retry import GaveUp, gave_up_error
from geo.errors import (
    EngineError,
    EngineNotAvailableError,
    NetworkError,
    OutsideDataError,
    QuotaExceededError,
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
from geo.settings import Settings, get_settings
from geo.types import DriveTimeMatrix, EngineInfo, EngineLimits, FloatArray, LonLat, Route

log = logging.getLogger(__name__)

PUBLIC_URL = "https://api.openrouteservice.org"
PROFILE = "driving-car"

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

PUBLIC_QUOTA_PER_MIN: Mapping[str, int] = ORS_PUBLIC_QUOTA_PER_MIN
"""Requests per minute the public API allows per key (free plan); paced by :mod:`geo._http`."""

CAP_HELP = (
    "Ways around it: use the embedded local engine (--engine valhalla, road graphs from "
    "`trialreach graph build`), which draws 120-minute contours; or run your own "
    "openrouteservice and point ORS_BASE_URL at it, where the cap "
    "(ors.endpoints.isochrones.maximum_range_time) can be raised. Drive-time verdicts are not "
    "affected: they use the matrix endpoint, which has no 1-hour cap."
)

_COORDS = re.compile(r"-?\d{1,3}\.\d{3,}")


def _scrub(text: str) -> str:
    """A server message without coordinates in it (they could locate a patient)."""
    return _COORDS.sub("…", text)[:300]


# --- transport ---------------------------------------------------------------------------


def _endpoint_of(path: str) -> str:
    """``/v2/matrix/driving-car/json`` -> ``matrix``; ``/geocode/search`` -> ``geocode``."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts and parts[0] == "v2" and len(parts) > 1:
        return parts[1]
    return parts[0] if parts else ""


class _Client(openrouteservice.Client):  # type: ignore[misc]
    """The official client with its transport replaced by :meth:`OrsConnection.send`.

    The client's API functions (``distance_matrix``, ``isochrones``, ``directions``,
    ``pelias_search`` ...) build the ORS request and call :meth:`request`, which hands the path,
    query and JSON body over to the connection.
    """

    def __init__(self, send: Callable[[str, Any, Any], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._send = send

    def request(
        self,
        url: str,
        get_params: Any = None,
        first_request_time: Any = None,
        retry_counter: int = 0,
        requests_kwargs: Any = None,
        post_json: Any = None,
        dry_run: Any = None,
    ) -> Any:
        return self._send(url, get_params or None, post_json)


class OrsConnection:
    """An openrouteservice client with the project's pacing, retry and error policy.

    Geocoding and routing share it; use :attr:`client` (an ``openrouteservice.Client``), e.g.
    ``OrsConnection(settings).client.pelias_search(text=..., size=1)``.

    Parameters
    ----------
    settings
        Source of ``ors_api_key``, ``ors_base_url`` and the HTTP timeout/retry values.
    api_key, base_url
        Override the settings. The public API needs a key; a self-hosted server does not.
    public
        Whether ``base_url`` is the public API (its key rule, quotas and limits apply); default:
        detected from the URL. Set it for a proxy in front of the public API.
    quota_per_min
        Requests per minute per endpoint; default :data:`PUBLIC_QUOTA_PER_MIN` on the public
        API and no pacing on a self-hosted server.
    timeout_s, retries, backoff_s
        Per-request timeout, retries after the first try, first backoff delay (doubles each
        retry, jittered to 50–100 %). Default from settings.
    max_total_s
        Give up on one request (retries included) once this much time would be spent.
    session, sleep, clock, rng
        Injected for tests: the requests session, sleep function, monotonic clock and a source of
        uniform random numbers in [0, 1) for the jitter.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        public: bool | None = None,
        quota_per_min: Mapping[str, int] | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        backoff_s: float | None = None,
        max_total_s: float = 300.0,
        max_retry_after_s: float = 120.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        s = settings or get_settings()
        self.api_key = api_key if api_key is not None else s.ors_api_key
        self.base_url = (base_url or s.ors_base_url).rstrip("/")
        self.is_public = ORS_PUBLIC_HOST in self.base_url if public is None else public
        if self.is_public and not self.api_key:
            raise EngineNotAvailableError(
                "the openrouteservice public API needs an API key. Get a free one at "
                "https://openrouteservice.org/dev/#/signup and set ORS_API_KEY in the environment "
                'or in .streamlit/secrets.toml (ORS_API_KEY = "..."); or set ORS_BASE_URL to a '
                "self-hosted openrouteservice (no key needed); or use --engine valhalla (local) "
                "or --engine estimate."
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise ValidationError(
                f"ORS_BASE_URL must start with http:// or https://, got {self.base_url!r}"
            )
        self.host = urlparse(self.base_url).netloc
        self.timeout_s = s.http_timeout_s if timeout_s is None else timeout_s
        self.retries = s.http_retries if retries is None else retries
        self.backoff_s = s.http_backoff_s if backoff_s is None else backoff_s
        self.max_total_s = max_total_s
        self.max_retry_after_s = max_retry_after_s
        self.session = session or requests.Session()
        if quota_per_min is None:
            quota_per_min = PUBLIC_QUOTA_PER_MIN if self.is_public else {}
        # Routers made one after another (a CLI run, Streamlit reruns) and the ORS geocoder share
        # the key's quota.
        self.pacer = shared_quota(self.base_url, self.api_key, quota_per_min, clock, sleep)
        self.http = HttpClient(
            service=f"openrouteservice at {self.host}",
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_s=self.backoff_s,
            max_total_s=max_total_s,
            max_retry_after_s=max_retry_after_s,
            session=self.session,
            pacer=self.pacer,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )
        self.client = _Client(
            self.send,
            key=self.api_key or None,
            base_url=self.base_url,
            timeout=self.timeout_s,
            retry_over_query_limit=False,
        )
        self.sent = 0
        """Number of HTTP requests sent (retries included)."""

    # -- one request, under the HTTP layer's retry policy and the key's pacing ----------------
    def send(self, path: str, params: Any = None, body: Any = None) -> Any:
        """Send one ORS request (GET with ``params`` or POST with JSON ``body``); return its JSON.

        Paced per endpoint and retried by :class:`geo._http.HttpClient` (429/5xx/timeouts/
        connection errors, jittered exponential backoff, ``Retry-After`` honoured). Raises
        :class:`QuotaExceededError` (401/403), :class:`RateLimitError` (429 after the retries),
        :class:`NetworkError` (unreachable, timeouts, 5xx after the retries) or an
        :class:`EngineError` subclass for a request the server refused (400).
        """
        endpoint = _endpoint_of(path)
        method = "GET" if body is None else "POST"
        headers = {"Accept": "application/json, application/geo+json"}
        if self.api_key:
            headers["Authorization"] = self.api_key

        def attempt() -> requests.Response:
            self.sent += 1
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.timeout_s,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise transient_from_exception(exc, self.timeout_s) from exc
            status = response.status_code
            if status < 400:
                return response
            if status in RETRY_STATUS:
                raise transient_from_response(response)
            if status in (401, 403):
                raise QuotaExceededError(
                    f"openrouteservice refused the request (HTTP {status}): daily quota used "
                    "up or key invalid. Check ORS_API_KEY (a free key allows e.g. 500 matrix "
                    "and 500 isochrone requests a day), wait for the quota to reset, or use "
                    "--engine valhalla (local road graph) or --engine estimate."
                )
            raise _refusal(status, response, endpoint)

        try:
            response = self.http.retrying(attempt, endpoint=endpoint, label=f"ORS {method} {path}")
        except GaveUp as gave_up:
            raise gave_up_error(
                f"openrouteservice at {self.host}",
                gave_up,
                "Check the network connection and ORS_BASE_URL, or use --engine valhalla (local).",
                alternative="use --engine valhalla (local)",
                unreachable="could not answer",
            ) from gave_up.last
        return _json(response)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise NetworkError("openrouteservice answered with something that is not JSON") from exc


def _refusal(status: int, response: requests.Response, endpoint: str) -> EngineError:
    """The error for a request the server refused (4xx other than 401/403/429)."""
    code: int | None = None
    message = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            raw_code = str(err.get("code", ""))
            code = int(raw_code) if raw_code.isdigit() else None
            message = str(err.get("message", ""))
        else:
            message = str(err)
    # Geocoder messages may echo the searched text (an address): never repeat them.
    detail = "" if endpoint == "geocode" else _scrub(message)
    text = f"openrouteservice refused the {endpoint} request (HTTP {status}"
    text += f", error {code})" if code is not None else ")"
    text += f": {detail}" if detail else ""
    # ORS error codes end in 04 for "exceeds the server's limits", 09 for "no route found" and
    # 10 for "no road near a location" (the last two come with HTTP 404).
    kind = None if code is None else code % 100
    if kind == 4:
        return RangeLimitError(text + ". The server's limits are lower than this engine assumed.")
    if kind == 10:
        return OutsideDataError(text + ". A location is too far from any road the server knows.")
    if kind == 9:
        return EngineError(text + ". There is no drivable route between these places.")
    if status == 404:
        return EngineError(
            text + f". Check ORS_BASE_URL and that the server offers the {PROFILE} profile."
        )
    return EngineError(text)


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
        A ready :class:`OrsConnection`; otherwise one is made from ``settings`` and
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
