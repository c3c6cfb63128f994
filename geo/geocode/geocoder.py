"""The geocoder: text to point, with an in-memory LRU cache and an online service's fallback.

See :mod:`geo.geocode` for what a text becomes and the privacy rules. The online service itself
(its HTTP client, requests and pause after a failure) is :mod:`geo.geocode.service`, imported
with its HTTP layer only when a geocoder is configured to go online.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo.errors import GeocodeError, TrialreachError, ValidationError
from geo.geocode.address import address_fields, offline_address
from geo.geocode.census_batch import CENSUS_BATCH_MAX_ROWS, BatchAnswer, batch_result
from geo.geocode.gazetteer import not_a_zip_message, zip_centroid
from geo.geocode.literals import format_degrees, parse_literal
from geo.geocode.online import UnexpectedAnswer
from geo.geocode.towns import town_name
from geo.geocode.us import BARE_ZIP
from geo.settings import Settings, get_settings
from geo.types import GeocodeResult, Precision

if TYPE_CHECKING:  # the HTTP layer is imported only when a geocoder goes online
    from geo._http import HttpClient
    from geo.geocode.service import OnlineService

log = logging.getLogger(__name__)

__all__ = ["GEOCODERS", "CacheInfo", "Geocoder", "geocode"]

COORDINATES_SOURCE = "coordinates"
GEOCODERS = ("offline", "census", "ors")


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a :class:`Geocoder`'s in-memory cache."""

    hits: int
    misses: int
    size: int
    max_size: int


type _Outcome = GeocodeResult | GeocodeError
"""What the cache holds: a result, or the (deterministic) error for a text."""


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _key(text: object) -> str | None:
    """The cache key of a text; None for an empty one (None, NaN, blank)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    return _normalise(str(text)) or None


_NO_ANSWER = {
    "No_Match": "found no match",
    "Tie": "found several equally good matches (a tie) and chose none",
}
"""What a batch row's status means, after the service's name, for the fallback's note."""
_NO_LINE = "gave no answer for this address"


class Geocoder:
    """Turns text into points, as configured by :class:`~geo.settings.Settings`.

    Parameters
    ----------
    settings
        ``settings.geocoder`` picks the address geocoder: ``offline`` (default), ``census`` or
        ``ors``; URLs, key and HTTP timeouts come from the same object.
    cache_size
        Entries kept in the in-memory LRU cache (never on disk). 0 disables it.
    http
        HTTP client for the online geocoder (injected in tests); built from settings otherwise.
    clock
        Monotonic clock in seconds (injected in tests).

    Examples
    --------
    >>> g = Geocoder(Settings(geocoder="offline"))
    >>> r = g.geocode("Hampton Inn, Rochester MN 55902")
    >>> r.precision.value, r.matched
    ('zip', '55902 Rochester, MN')
    """

    online_retry_after_s: float = 300.0
    """After the online geocoder failed, use the offline fallback for this long without asking."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        cache_size: int = 10_000,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or get_settings()
        mode = self.settings.geocoder.strip().lower()
        if mode not in GEOCODERS:
            raise ValidationError(
                f"unknown geocoder {self.settings.geocoder!r}: use one of {', '.join(GEOCODERS)} "
                "(setting TRIALREACH_GEOCODER)"
            )
        self._offline_reason = ""
        if mode == "ors" and not self.settings.ors_configured:
            self._offline_reason = (
                "openrouteservice geocoding needs ORS_API_KEY (or a self-hosted ORS_BASE_URL); "
                "located offline"
            )
            log.warning("geocoder 'ors' is not configured (no ORS_API_KEY); using offline")
            mode = "offline"
        self.mode = mode
        self._online_service: OnlineService | None = None
        if mode != "offline":
            from geo.geocode.service import OnlineService

            self._online_service = OnlineService(
                self.settings, mode, http=http, clock=clock, retry_after_s=self.online_retry_after_s
            )
        self._cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[str, _Outcome] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    # ---- public -----------------------------------------------------------------------------

    @property
    def service(self) -> str:
        """Name of the address geocoder in use ("offline", "U.S. Census Geocoder" ...)."""
        return self._online_service.name if self._online_service is not None else "offline"

    def geocode(self, text: str) -> GeocodeResult:
        """The point for ``text`` (coordinates, ZIP code, or address), with precision and source.

        Raises
        ------
        GeocodeError
            Empty text, out-of-range coordinates, unknown ZIP code, or nothing to locate. The
            message never contains the address.
        """
        if not isinstance(text, str):  # None / NaN from a table, or a ZIP read as a number
            if text is None or (isinstance(text, float) and math.isnan(text)):
                raise GeocodeError("empty address")
            text = str(text)
        key = _normalise(text)
        if not key:
            raise GeocodeError("empty address")
        outcome = self._cache_get(key)
        if outcome is None:
            outcome, cacheable = self._geocode(key)
            if cacheable:
                self._cache_put(key, outcome)
        if isinstance(outcome, GeocodeError):
            log.debug("geocoded 1 address, failed")
            raise GeocodeError(str(outcome))
        log.debug("geocoded 1 address, precision %s", outcome.precision.value)
        return outcome

    def geocode_many(
        self,
        texts: Iterable[str],
        progress: Callable[[int], None] | None = None,
    ) -> list[GeocodeResult | GeocodeError]:
        """Geocode every text; a text that fails gives its :class:`GeocodeError` in its place.

        Never aborts on a bad item. ``progress(n_done)`` is called as items are done (after
        each item; with the Census geocoder, after each batch request). With the Census
        geocoder the addresses go in batches of up to
        :data:`~geo.geocode.census_batch.CENSUS_BATCH_MAX_ROWS` per request, not one per row.
        """
        items = list(texts)
        memo: dict[str, _Outcome] = {}
        reported = [0]

        def report(n_done: int) -> None:
            if progress is not None and n_done > reported[0]:
                reported[0] = n_done
                progress(n_done)

        if self.mode == "census":
            memo = self._census_many([_key(t) for t in items], report)
        out: list[GeocodeResult | GeocodeError] = []
        counts: dict[str, int] = {}
        for n, text in enumerate(items, start=1):
            key = _key(text)
            try:
                outcome = memo.get(key) if key is not None else None
                if outcome is None:
                    result = self.geocode(text)
                elif isinstance(outcome, GeocodeError):
                    raise GeocodeError(str(outcome))
                else:
                    result = outcome
            except GeocodeError as exc:
                out.append(exc)
                counts["failed"] = counts.get("failed", 0) + 1
            except TrialreachError as exc:  # defensive: any other error of ours becomes the row's
                out.append(GeocodeError(str(exc)))
                counts["failed"] = counts.get("failed", 0) + 1
            else:
                out.append(result)
                counts[result.precision.value] = counts.get(result.precision.value, 0) + 1
            if not memo:
                report(n)
        report(len(items))
        log.debug(
            "geocoded %d addresses: %s",
            len(out),
            ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
        )
        return out

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache), self._cache_size)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0

    # ---- cache ------------------------------------------------------------------------------

    def _cache_get(self, key: str) -> _Outcome | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                self._misses += 1
                return None
            self._cache.move_to_end(key)
            self._hits += 1
            return hit

    def _cache_put(self, key: str, value: _Outcome) -> None:
        if self._cache_size == 0:
            return
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # ---- the work ---------------------------------------------------------------------------

    def _geocode(self, text: str) -> tuple[_Outcome, bool]:
        """``(result or error, cacheable)``: answers after an online failure are not cached."""
        local = self._local(text)
        if local is not None:
            return local, True
        prefix = self._base_prefix()
        if self._online_service is not None:
            from geo.geocode.service import OnlineFallback

            try:
                online = self._online_service.ask(text)
            except OnlineFallback as why:
                return self._offline(text, f"{why}; "), False
            if online is not None:
                return online, True
            prefix = f"{self.service} found no match; "
        return self._offline(text, prefix), True

    def _base_prefix(self) -> str:
        return self._offline_reason + "; " if self._offline_reason else ""

    def _local(self, text: str) -> _Outcome | None:
        """What never goes online: coordinates, ZIP codes, bare town names; None otherwise."""
        try:
            literal = parse_literal(text)
            if literal is not None:
                point, note = literal
                return GeocodeResult(
                    point=point,
                    precision=Precision.COORDINATES,
                    source=COORDINATES_SOURCE,
                    matched=f"{format_degrees(point.lat)}, {format_degrees(point.lon)}",
                    note=note,
                )
            if BARE_ZIP.match(text):
                return zip_centroid(text)
            if text.isdigit():
                return GeocodeError(not_a_zip_message(text))
        except GeocodeError as exc:
            return exc
        return town_name(text, self._base_prefix())  # a place name is no address

    @staticmethod
    def _offline(text: str, prefix: str) -> _Outcome:
        try:
            return offline_address(text, prefix)
        except GeocodeError as exc:
            return GeocodeError(f"{prefix}{exc}")

    def _census_many(
        self, keys: list[str | None], progress: Callable[[int], None] | None
    ) -> dict[str, _Outcome]:
        """The outcome of each key (None: empty text), addresses through the Census batch endpoint.

        One request per :data:`CENSUS_BATCH_MAX_ROWS` distinct addresses; coordinates, ZIP
        codes and town names are resolved here and never sent. ``Tie`` and ``No_Match`` rows
        fall back offline with a note saying so. When the service cannot be reached, the rest
        fall back offline (not cached) and the service is not asked again for a while.
        """
        memo: dict[str, _Outcome] = {}
        pending: list[str] = []
        for key in dict.fromkeys(k for k in keys if k is not None):  # distinct, in order
            known = self._cache_get(key)
            if known is None:
                known = self._local(key)
                if known is not None:
                    self._cache_put(key, known)
            if known is None:
                pending.append(key)
            else:
                memo[key] = known
        repeats = Counter(keys)  # a text given twice is done when its first copy is
        done = len(keys) - sum(repeats[key] for key in pending)
        if progress is not None and done:
            progress(done)
        failure = ""
        online = self._require_online()
        for start in range(0, len(pending), CENSUS_BATCH_MAX_ROWS):
            chunk = pending[start : start + CENSUS_BATCH_MAX_ROWS]
            if not failure:
                failure = online.down_reason()
            answers: list[BatchAnswer | None] = [None] * len(chunk)
            if not failure:
                try:
                    rows = [address_fields(key) for key in chunk]
                    answers = online.census_batch(rows)
                except (TrialreachError, UnexpectedAnswer) as exc:
                    failure = online.went_down(exc)
            for key, answer in zip(chunk, answers, strict=True):
                if failure:  # not cached: a later call gets the street once the service is back
                    memo[key] = self._offline(key, f"{failure}; ")
                    continue
                outcome: _Outcome | None = batch_result(answer) if answer is not None else None
                if outcome is None:
                    why = _NO_ANSWER[answer.status] if answer is not None else _NO_LINE
                    outcome = self._offline(key, f"{self.service} {why}; ")
                if answer is not None:  # a row missing from the answer is asked again next time
                    self._cache_put(key, outcome)
                memo[key] = outcome
            done += sum(repeats[key] for key in chunk)
            if progress is not None:
                progress(done)
        return memo

    def _require_online(self) -> OnlineService:
        if self._online_service is None:  # only the census mode batches
            raise ValidationError("this geocoder is offline: nothing to ask online")
        return self._online_service

    def _client(self) -> HttpClient:
        """The online geocoder's HTTP client (made on first use)."""
        return self._require_online().client()


def geocode(text: str, settings: Settings | None = None) -> GeocodeResult:
    """Geocode one text with a fresh :class:`Geocoder` (use a Geocoder for many, for its cache)."""
    return Geocoder(settings, cache_size=0).geocode(text)
