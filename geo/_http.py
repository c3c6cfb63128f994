"""One small HTTP layer for every online service (ClinicalTrials.gov, geocoders, ORS, downloads).

Timeouts on every request; retries with jittered exponential backoff on connection errors,
timeouts, HTTP 429 and 5xx (honouring ``Retry-After``) inside a total time budget; then a clear
:mod:`geo.errors` exception. URLs are never logged with their query string, because a query can
hold an address.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from geo.errors import NetworkError, NotFoundError, QuotaExceededError, RateLimitError
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


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


@dataclass
class HttpClient:
    """A requests session with the project's timeout and retry policy.

    Parameters
    ----------
    service
        Name used in error messages ("ClinicalTrials.gov", "openrouteservice" ...).
    timeout_s, retries, backoff_s
        Per-request timeout, number of retries, first backoff delay (doubles each retry).
    max_total_s
        Give up once this much time has been spent on one call, retries included.
    sleep
        Injected for tests.
    """

    service: str
    timeout_s: float = 20.0
    retries: int = 4
    backoff_s: float = 1.0
    max_total_s: float = 120.0
    headers: Mapping[str, str] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_settings(
        cls, service: str, settings: Settings | None = None, **kwargs: Any
    ) -> HttpClient:
        s = settings or get_settings()
        return cls(
            service=service,
            timeout_s=s.http_timeout_s,
            retries=s.http_retries,
            backoff_s=s.http_backoff_s,
            **kwargs,
        )

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After")
            if retry_after:
                try:
                    return min(float(retry_after), 60.0)
                except ValueError:
                    pass
        base = self.backoff_s * (2**attempt)
        return float(base * (0.5 + random.random() / 2))

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request; return a 2xx response or raise a :mod:`geo.errors` exception."""
        kwargs.setdefault("timeout", self.timeout_s)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        started = time.monotonic()
        last: str = ""
        for attempt in range(self.retries + 1):
            response: requests.Response | None = None
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except requests.Timeout:
                last = f"timed out after {kwargs['timeout']} s"
            except requests.ConnectionError as exc:
                last = f"could not connect ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status == 404:
                    raise NotFoundError(f"{self.service}: not found ({_safe_url(url)})")
                if status in (401, 403):
                    raise QuotaExceededError(
                        f"{self.service} refused the request (HTTP {status}): the API key is "
                        "missing or invalid, or its daily quota is used up. Check the key, wait "
                        "for the quota to reset, or use another engine."
                    )
                if status not in RETRY_STATUS:
                    detail = _short_body(response)
                    raise NetworkError(f"{self.service} answered HTTP {status}: {detail}")
                last = f"HTTP {status}"
            log.debug("%s %s: %s (attempt %d)", method, _safe_url(url), last, attempt + 1)
            if attempt == self.retries:
                break
            delay = self._delay(attempt, response)
            if time.monotonic() - started + delay > self.max_total_s:
                break
            self.sleep(delay)
        if last == "HTTP 429":
            raise RateLimitError(
                f"{self.service} kept answering 429 (too many requests) after {self.retries + 1} "
                "tries; wait a minute and try again, or lower the request rate."
            )
        raise NetworkError(
            f"{self.service} could not be reached: {last} after {self.retries + 1} tries. "
            "Check the network connection (or the service URL in settings) and try again."
        )

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
