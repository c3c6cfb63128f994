"""The one HTTP layer for every online service (ClinicalTrials.gov, geocoders, ORS, downloads).

:class:`HttpClient` sends requests with a timeout, under the project's one retry policy
(:mod:`geo._retry`: jittered backoff on connection errors, timeouts, HTTP 408/429/5xx,
``Retry-After`` honoured or reported in plain words, a time budget) and the service's per-minute
quota (:mod:`geo._pacing`, waited on before every try), and ends in a :mod:`geo.errors`
exception that says what happened and what to do.

URLs are never logged with their query string, because a query can hold an address.

``requests`` is imported when a client is made or a request sent, not with this module: most
runs (a check with the offline geocoder, ``--help``) send nothing and should not pay for it
(``tests/api/test_cli_imports.py``).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from geo._pacing import MinuteQuota
from geo._retry import GaveUp, RetryPolicy, Transient, call_with_retries, gave_up_error
from geo.errors import NetworkError, NotFoundError, QuotaExceededError, TrialreachError
from geo.settings import Settings, get_settings

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

__all__ = [
    "RETRY_STATUS",
    "HttpClient",
    "RedactQuery",
    "default_refusal",
    "install_log_redaction",
    "retry_after_s",
    "transient_from_exception",
    "transient_from_response",
]

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another try: timeout, too many requests, server errors."""


# --- privacy ---------------------------------------------------------------------------------


class RedactQuery(logging.Filter):
    """Strip query strings from the arguments of a log record (urllib3 logs full URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                a.split("?", 1)[0] + "?…" if isinstance(a, str) and "?" in a else a
                for a in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg and "=" in record.msg:
            record.msg = re.sub(r"\?[^\s'\"]*", "?…", record.msg)
        return True


_REDACTED_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry", "requests")


def install_log_redaction() -> None:
    """Keep query strings (which can hold an address) out of third-party debug logs."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuery) for f in logger.filters):
            logger.addFilter(RedactQuery())


install_log_redaction()


def _safe_url(url: str) -> str:
    """The URL without its query string (which may hold an address)."""
    return url.split("?", 1)[0]


def retry_after_s(response: requests.Response) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def transient_from_exception(exc: requests.RequestException, timeout_s: float) -> Transient:
    """A :class:`Transient` for a timeout or connection error of ``requests``."""
    import requests

    if isinstance(exc, requests.Timeout):
        return Transient(f"timed out after {timeout_s:g} s")
    return Transient(f"could not connect ({type(exc).__name__})")


def transient_from_response(response: requests.Response) -> Transient:
    """A :class:`Transient` for a retryable HTTP status (see :data:`RETRY_STATUS`)."""
    return Transient(
        f"HTTP {response.status_code}",
        status=response.status_code,
        retry_after_s=retry_after_s(response),
    )


# --- the client ------------------------------------------------------------------------------


def _new_session() -> requests.Session:
    """A fresh ``requests`` session (``requests`` is imported here, on first use)."""
    import requests

    return requests.Session()


def default_refusal(service: str, response: requests.Response, url: str) -> TrialreachError:
    """The error for a status that is not worth retrying (404, 401/403, other 4xx)."""
    status = response.status_code
    if status == 404:
        return NotFoundError(f"{service}: not found ({_safe_url(url)})")
    if status in (401, 403):
        return QuotaExceededError(
            f"{service} refused the request (HTTP {status}): the API key is "
            "missing or invalid, or its daily quota is used up. Check the key, wait "
            "for the quota to reset, or use another engine."
        )
    return NetworkError(f"{service} answered HTTP {status}: {_short_body(response)}")


@dataclass
class HttpClient:
    """A requests session with the project's timeout, retry policy and quota pacing.

    Parameters
    ----------
    service
        Name used in error messages ("ClinicalTrials.gov", "openrouteservice" ...).
    timeout_s, retries, backoff_s
        Per-request timeout (s), number of retries, first backoff delay (s; doubles each retry).
    max_total_s
        Give up once this much time would be spent on one call, retries included (s).
    max_retry_after_s
        The longest ``Retry-After`` worth waiting for (s).
    pacer
        Per-minute quota of the service (see :func:`shared_quota`); None = not paced.
    advice
        The sentence that ends a "could not be reached" error.
    sleep, clock, rng
        Injected for tests: sleep, monotonic clock (s), uniform random numbers for the jitter.
    """

    service: str
    timeout_s: float = 20.0
    retries: int = 4
    backoff_s: float = 1.0
    max_total_s: float = 120.0
    max_retry_after_s: float = 120.0
    headers: Mapping[str, str] = field(default_factory=dict)
    session: requests.Session = field(default_factory=_new_session)
    pacer: MinuteQuota | None = None
    advice: str = ""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random

    @classmethod
    def from_settings(
        cls, service: str, settings: Settings | None = None, **kwargs: Any
    ) -> HttpClient:
        s = settings or get_settings()
        kwargs.setdefault("timeout_s", s.http_timeout_s)
        kwargs.setdefault("retries", s.http_retries)
        kwargs.setdefault("backoff_s", s.http_backoff_s)
        return cls(service=service, **kwargs)

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of this client."""
        return RetryPolicy(
            retries=self.retries,
            backoff_s=self.backoff_s,
            max_total_s=self.max_total_s,
            max_retry_after_s=self.max_retry_after_s,
        )

    def retrying[T](
        self, attempt: Callable[[], T], *, endpoint: str = "", label: str = "request"
    ) -> T:
        """Run ``attempt`` under this client's policy and pacing; :class:`GaveUp` when it stops."""
        pacer = self.pacer
        return call_with_retries(
            attempt,
            self.policy,
            sleep=self.sleep,
            clock=self.clock,
            rng=self.rng,
            before=(lambda: pacer.wait(endpoint)) if pacer is not None else None,
            label=label,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str = "",
        refuse: Callable[[requests.Response], TrialreachError] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; return a 2xx/3xx response or raise a :mod:`geo.errors` exception.

        Parameters
        ----------
        endpoint
            The quota bucket of the request (``"geocode"``, ``"matrix"`` ...) for the pacer.
        refuse
            Maps a response not worth retrying (4xx other than 408/429) to the error to raise;
            default :func:`default_refusal`.
        """
        import requests

        kwargs.setdefault("timeout", self.timeout_s)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        timeout = kwargs["timeout"]

        def attempt() -> requests.Response:
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise transient_from_exception(exc, timeout) from exc
            status = response.status_code
            if status < 400:
                return response
            if status in RETRY_STATUS:
                raise transient_from_response(response)
            if refuse is not None:
                raise refuse(response)
            raise default_refusal(self.service, response, url)

        try:
            return self.retrying(attempt, endpoint=endpoint, label=f"{method} {_safe_url(url)}")
        except GaveUp as gave_up:
            raise gave_up_error(self.service, gave_up, self.advice) from gave_up.last

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return _json(self.request("GET", url, **kwargs), self.service)

    def post_json(self, url: str, body: Any, **kwargs: Any) -> Any:
        return _json(self.request("POST", url, json=body, **kwargs), self.service)


def _short_body(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message", err))[:200]
        return str(err)[:200]
    return str(data)[:200]


def _json(response: requests.Response, service: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise NetworkError(f"{service} answered with something that is not JSON") from exc
