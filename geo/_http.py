"""The one HTTP layer for every online service (ClinicalTrials.gov, geocoders, ORS, downloads).

One retry policy (:class:`RetryPolicy`, run by ``tenacity``): retries with jittered exponential
backoff on connection errors, timeouts, HTTP 429 and 5xx, honouring ``Retry-After`` up to
:attr:`RetryPolicy.max_retry_after_s`, inside a total time budget; a try that made progress (a
resumed download that received bytes) does not count against the retries. When the policy gives
up, the caller gets a :mod:`geo.errors` exception that says in plain words what happened — a
service that asks to wait an hour is reported as asking to wait about an hour.

Per-service quota pacing (:class:`MinuteQuota`, one per server and key per process through
:func:`shared_quota`) runs before every try, retries included, so routing and geocoding against
openrouteservice share the key's per-minute quota.

URLs are never logged with their query string, because a query can hold an address.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import tenacity

from geo.errors import (
    NetworkError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    TrialreachError,
    ValidationError,
)
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "ORS_PUBLIC_HOST",
    "ORS_PUBLIC_QUOTA_PER_MIN",
    "RETRY_STATUS",
    "GaveUp",
    "HttpClient",
    "MinuteQuota",
    "RedactQuery",
    "RetryPolicy",
    "Transient",
    "call_with_retries",
    "gave_up_error",
    "install_log_redaction",
    "plain_wait",
    "retry_after_s",
    "shared_quota",
]

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another try: timeout, too many requests, server errors."""

ORS_PUBLIC_HOST = "api.openrouteservice.org"
ORS_PUBLIC_QUOTA_PER_MIN: Mapping[str, int] = {
    "matrix": 40,
    "isochrones": 20,
    "directions": 40,
    "geocode": 100,
}
"""Requests per minute the openrouteservice public API allows per key (free plan)."""


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


# --- plain words -----------------------------------------------------------------------------


def plain_wait(seconds: float) -> str:
    """A wait in words a person would use: ``"40 seconds"``, ``"3 minutes"``, ``"about 1 hour"``.

    Parameters
    ----------
    seconds
        The wait (s); rounded up to whole seconds or minutes; from 1 h, in tenths of an hour.
    """
    if not math.isfinite(seconds):
        return "an unknown time"
    s = max(1, math.ceil(seconds))
    if s < 90:
        return "1 second" if s == 1 else f"{s} seconds"
    minutes = math.ceil(s / 60)
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600, 1)
    text = f"{hours:g}"
    return f"about {text} hour" + ("" if text == "1" else "s")


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


# --- quota pacing ----------------------------------------------------------------------------


class MinuteQuota:
    """Paces requests so that no endpoint gets more than its quota in any 60-s window.

    Parameters
    ----------
    per_minute
        Requests allowed per minute for each endpoint name (``matrix``, ``isochrones``,
        ``geocode`` ...); an endpoint that is not listed is not paced.
    clock, sleep
        Monotonic clock in seconds and a sleep function (injected for tests).
    window_s
        Length of the window, 60 s.
    service
        Name of the service in log lines.
    """

    def __init__(
        self,
        per_minute: Mapping[str, int],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        window_s: float = 60.0,
        service: str = "openrouteservice",
    ) -> None:
        if any(n < 1 for n in per_minute.values()):
            raise ValidationError(f"quotas per minute must be at least 1, got {dict(per_minute)}")
        self.per_minute = dict(per_minute)
        self.clock = clock
        self.sleep = sleep
        self.window_s = window_s
        self.service = service
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0
        """Total time spent waiting for the quota (for status lines and tests)."""

    def wait(self, endpoint: str) -> float:
        """Block until a request to ``endpoint`` may be sent, record it; return seconds waited.

        Thread-safe: callers sharing one quota (e.g. Streamlit sessions) queue up behind it.
        """
        quota = self.per_minute.get(endpoint)
        if quota is None:
            return 0.0
        with self._lock:
            sent = self._sent.setdefault(endpoint, deque())
            waited = 0.0
            now = self.clock()
            while len(sent) >= quota:
                oldest = sent[0]
                if now - oldest >= self.window_s:
                    sent.popleft()
                    continue
                delay = self.window_s - (now - oldest)
                log.info(
                    "%s %s quota (%d/min): waiting %.1f s", self.service, endpoint, quota, delay
                )
                self.sleep(delay)
                waited += delay
                now = self.clock()
            sent.append(now)
            self.waited_s += waited
        return waited


_SHARED_QUOTAS: dict[tuple[Any, ...], MinuteQuota] = {}
_SHARED_LOCK = threading.Lock()


def shared_quota(
    base_url: str,
    api_key: str | None,
    per_minute: Mapping[str, int],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> MinuteQuota:
    """The one pacer of this process for a server and key (the quota belongs to the key)."""
    key = (base_url.rstrip("/"), api_key, tuple(sorted(per_minute.items())), clock, sleep)
    with _SHARED_LOCK:
        quota = _SHARED_QUOTAS.get(key)
        if quota is None:
            quota = _SHARED_QUOTAS[key] = MinuteQuota(per_minute, clock=clock, sleep=sleep)
        return quota


# --- the retry policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and for how long.

    Parameters
    ----------
    retries
        Tries after the first one that failed without progress.
    backoff_s
        First backoff delay (s); doubles with each failure, jittered to 50–100 %.
    max_total_s
        Give up once the next wait would take one call (retries included) past this many seconds.
    max_retry_after_s
        The longest ``Retry-After`` (s) worth waiting for; a longer one ends the call at once,
        with the wait the service asked for in the message.
    """

    retries: int = 4
    backoff_s: float = 1.0
    max_total_s: float = 120.0
    max_retry_after_s: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> RetryPolicy:
        s = settings or get_settings()
        values: dict[str, Any] = {"retries": s.http_retries, "backoff_s": s.http_backoff_s}
        values.update(overrides)
        return cls(**values)


class Transient(Exception):
    """A try that failed in a way worth retrying.

    Parameters
    ----------
    reason
        What happened, in a few words (``"HTTP 503"``, ``"timed out after 20 s"``).
    status
        The HTTP status, when there was an answer.
    retry_after_s
        The wait the service asked for (s), from its ``Retry-After`` header.
    progressed
        The try got somewhere (bytes of a download): it does not count against the retries.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        progressed: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s
        self.progressed = progressed


class GaveUp(Exception):
    """The policy stopped retrying: the last failure, the tries made and why it stopped."""

    def __init__(
        self, last: Transient, tries: int, refused_wait_s: float | None, failures: int | None = None
    ) -> None:
        super().__init__(last.reason)
        self.last = last
        self.tries = tries
        self.failures = tries if failures is None else failures
        """Tries that failed in a row without progress (``tries`` when none made progress)."""
        self.refused_wait_s = refused_wait_s
        """A wait (s) the policy would not make: a long ``Retry-After`` or the time budget."""


class _Tracker:
    """tenacity's ``after``/``wait``/``stop`` for one call, sharing its failure count."""

    def __init__(
        self, policy: RetryPolicy, clock: Callable[[], float], rng: Callable[[], float]
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.started = clock()
        self.failures = 0  # consecutive failures without progress
        self.refused_wait_s: float | None = None

    @staticmethod
    def _last(rs: tenacity.RetryCallState) -> Transient:
        exc = rs.outcome.exception() if rs.outcome is not None else None
        assert isinstance(exc, Transient)  # retry_if_exception_type(Transient) guarantees it
        return exc

    def after(self, rs: tenacity.RetryCallState) -> None:
        if self._last(rs).progressed:  # neither the retries nor the time budget are used up
            self.failures = 0
            self.started = self.clock()
        else:
            self.failures += 1

    def wait(self, rs: tenacity.RetryCallState) -> float:
        last = self._last(rs)
        if last.retry_after_s is not None:
            return float(last.retry_after_s)
        base = self.policy.backoff_s * 2 ** max(0, self.failures - 1)
        return float(base * (0.5 + self.rng() / 2))

    def stop(self, rs: tenacity.RetryCallState) -> bool:
        if self.failures > self.policy.retries:
            return True
        delay = rs.upcoming_sleep
        last = self._last(rs)
        if last.retry_after_s is not None and delay > self.policy.max_retry_after_s:
            self.refused_wait_s = delay
            return True
        if self.clock() - self.started + delay > self.policy.max_total_s:
            self.refused_wait_s = delay
            return True
        return False


def call_with_retries[T](
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
    before: Callable[[], object] | None = None,
    label: str = "request",
) -> T:
    """Run ``attempt`` until it returns, retrying on :class:`Transient` as ``policy`` says.

    ``before`` runs before every try (quota pacing). Any other exception ends the call at once.

    Raises
    ------
    GaveUp
        The policy stopped retrying; carries the last :class:`Transient` and the tries made.
    """
    tracker = _Tracker(policy, clock, rng)

    def log_retry(rs: tenacity.RetryCallState) -> None:
        log.debug(
            "%s: %s (try %d); retrying in %.2f s",
            label,
            tracker._last(rs).reason,
            rs.attempt_number,
            rs.upcoming_sleep,
        )

    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=tracker.stop,
        wait=tracker.wait,
        after=tracker.after,
        retry=tenacity.retry_if_exception_type(Transient),
        before=_before(before),
        before_sleep=log_retry,
        reraise=False,
    )
    try:
        return retrying(attempt)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        assert isinstance(last, Transient)
        raise GaveUp(
            last, exc.last_attempt.attempt_number, tracker.refused_wait_s, tracker.failures
        ) from last


def _before(hook: Callable[[], object] | None) -> Callable[[tenacity.RetryCallState], None]:
    if hook is None:
        return tenacity.before_nothing

    def run(_rs: tenacity.RetryCallState) -> None:
        hook()

    return run


def gave_up_error(
    service: str,
    gave_up: GaveUp,
    advice: str = "",
    *,
    alternative: str = "",
    unreachable: str = "could not be reached",
) -> NetworkError:
    """The error that ends a call the retry policy gave up on, in plain words.

    Parameters
    ----------
    service
        Who was asked ("ClinicalTrials.gov", "openrouteservice at api.openrouteservice.org").
    gave_up
        What :func:`call_with_retries` raised.
    advice
        The sentence that ends a "could not be reached" error; a default when empty.
    alternative
        What else to do when the service is rate-limiting ("use --engine valhalla (local)").
    unreachable
        The verb phrase for failures other than rate limiting.

    Returns
    -------
    NetworkError
        A :class:`RateLimitError` for HTTP 429, else a :class:`NetworkError`.
    """
    last, tries = gave_up.last, gave_up.tries
    asked = last.retry_after_s
    code = f"HTTP {last.status}" if last.status else last.reason
    if asked is not None and gave_up.refused_wait_s is not None:
        wait = plain_wait(asked)
        text = (
            f"{service} asked to wait {wait} before trying again ({code} with Retry-After, "
            f"after {tries} {'try' if tries == 1 else 'tries'}): longer than trialreach waits. "
            f"Try again in {wait}" + (f", or {alternative}." if alternative else ".")
        )
        return RateLimitError(text) if last.status == 429 else NetworkError(text)
    if last.status == 429:
        wait = plain_wait(asked) if asked else "a minute"
        return RateLimitError(
            f"{service} kept answering 429 (too many requests) after {tries} tries; wait {wait} "
            f"and try again, or {alternative or 'lower the request rate'}."
        )
    reason = last.reason
    if gave_up.refused_wait_s is not None:
        reason += f" (the next retry would wait {plain_wait(gave_up.refused_wait_s)})"
    advice = (
        advice or "Check the network connection (or the service URL in settings) and try again."
    )
    return NetworkError(f"{service} {unreachable}: {reason} after {tries} tries. {advice}")


def transient_from_exception(exc: requests.RequestException, timeout_s: float) -> Transient:
    """A :class:`Transient` for a timeout or connection error of ``requests``."""
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
    session: requests.Session = field(default_factory=requests.Session)
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
