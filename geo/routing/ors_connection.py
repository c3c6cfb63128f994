"""Sending openrouteservice requests: the official client's transport, paced and retried.

Requests are built by the official ``openrouteservice`` Python client (``Client.distance_matrix``,
``Client.isochrones``, ``Client.directions``, ``Client.pelias_search``); they are *sent* by
:class:`OrsConnection` through the project's one HTTP layer (:mod:`geo._http`): the key's
per-minute quota pacing (shared with the openrouteservice geocoder), the retry policy (jittered
backoff on HTTP 429/5xx/timeouts, ``Retry-After`` honoured) and :mod:`geo.errors` exceptions with
messages that say what to do. A patient's location is never logged: URLs are logged without
their query string, request bodies never, and server messages lose their coordinates.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import openrouteservice
import requests

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
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

PUBLIC_URL = "https://api.openrouteservice.org"
PROFILE = "driving-car"

PUBLIC_QUOTA_PER_MIN: Mapping[str, int] = ORS_PUBLIC_QUOTA_PER_MIN
"""Requests per minute the public API allows per key (free plan); paced by :mod:`geo._http`."""

_COORDS = re.compile(r"-?\d{1,3}\.\d{3,}")


def _scrub(text: str) -> str:
    """A server message without coordinates in it (they could locate a patient)."""
    return _COORDS.sub("…", text)[:300]


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
