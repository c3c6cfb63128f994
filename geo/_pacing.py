"""Per-service quota pacing: no endpoint of a service gets more than its quota per minute.

One :class:`MinuteQuota` per server and key per process (:func:`shared_quota`): the quota belongs
to the key, so the openrouteservice engine and the openrouteservice geocoder queue up behind the
same pacer. The HTTP layer (:mod:`geo._http`) waits on it before every try, retries included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from geo.errors import ValidationError

log = logging.getLogger(__name__)

__all__ = ["ORS_PUBLIC_HOST", "ORS_PUBLIC_QUOTA_PER_MIN", "MinuteQuota", "shared_quota"]

ORS_PUBLIC_HOST = "api.openrouteservice.org"
ORS_PUBLIC_QUOTA_PER_MIN: Mapping[str, int] = {
    "matrix": 40,
    "isochrones": 20,
    "directions": 40,
    "geocode": 100,
}
"""Requests per minute the openrouteservice public API allows per key (free plan)."""


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
