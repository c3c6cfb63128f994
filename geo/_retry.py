"""The one retry policy of the project, run by ``tenacity``.

Jittered exponential backoff; ``Retry-After`` honoured up to :attr:`RetryPolicy.max_retry_after_s`
(a longer wait ends the call at once, and the message says in plain words how long the service
asked to wait); a total time budget per call; a try that made progress (a resumed download that
received bytes) uses up neither the retries nor the budget. :func:`call_with_retries` runs any
attempt under it; :class:`geo._http.HttpClient` is its usual caller.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from geo.errors import NetworkError, RateLimitError
from geo.settings import Settings, get_settings

log = logging.getLogger(__name__)

__all__ = [
    "GaveUp",
    "RetryPolicy",
    "Transient",
    "call_with_retries",
    "gave_up_error",
    "plain_wait",
]


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
        self,
        last: Transient,
        tries: int,
        refused_wait_s: float | None,
        failures: int | None = None,
        *,
        retry_after_refused: bool = False,
    ) -> None:
        super().__init__(last.reason)
        self.last = last
        self.tries = tries
        self.failures = tries if failures is None else failures
        """Tries that failed in a row without progress (``tries`` when none made progress)."""
        self.refused_wait_s = refused_wait_s
        """A wait (s) the policy would not make: a long ``Retry-After`` or the time budget."""
        self.retry_after_refused = retry_after_refused
        """The service asked (``Retry-After``) for a longer wait than the policy makes."""


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
        self.refused_retry_after = False

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
            self.refused_retry_after = True
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
            last,
            exc.last_attempt.attempt_number,
            tracker.refused_wait_s,
            tracker.failures,
            retry_after_refused=tracker.refused_retry_after,
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
    if asked is not None and gave_up.retry_after_refused:
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
