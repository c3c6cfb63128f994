"""The online address geocoder behind :class:`~geo.geocode.Geocoder`: its HTTP client, its
requests (one address, or a Census batch) and its pause after a failure.

The HTTP layer (:mod:`geo._http`, and with it ``requests`` and ``tenacity``) is imported when the
service is first asked, never by a run that geocodes offline: a single ``trialreach check`` of
coordinates sends nothing and does not pay for it (``tests/api/test_cli_imports.py``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from geo._pacing import ORS_PUBLIC_HOST, ORS_PUBLIC_QUOTA_PER_MIN, shared_quota
from geo.errors import TrialreachError
from geo.geocode.census_batch import AddressFields, BatchAnswer, census_batch
from geo.geocode.online import (
    UnexpectedAnswer,
    census_request,
    first_sentence,
    ors_request,
    parse_census,
    parse_ors,
)
from geo.settings import Settings
from geo.types import GeocodeResult

if TYPE_CHECKING:
    from geo._http import HttpClient

log = logging.getLogger("geo.geocode.geocoder")  # the geocoder's log, as before the split

__all__ = ["SERVICE_NAMES", "OnlineFallback", "OnlineService"]

SERVICE_NAMES = {"census": "U.S. Census Geocoder", "ors": "openrouteservice geocoder"}
"""The name of each online geocoder, for notes and errors."""


class OnlineFallback(Exception):
    """The online geocoder could not answer; carries why, for the fallback's note."""


class OnlineService:
    """One online geocoder (``census`` or ``ors``), asked through the project's HTTP layer.

    Parameters
    ----------
    settings
        URLs, key and HTTP timeouts.
    mode
        ``"census"`` or ``"ors"``.
    http
        HTTP client (injected in tests); built from ``settings`` on first use otherwise.
    clock
        Monotonic clock in seconds (injected in tests).
    retry_after_s
        After a failure, the service is not asked again for this long (seconds).
    """

    def __init__(
        self,
        settings: Settings,
        mode: str,
        *,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_after_s: float = 300.0,
    ) -> None:
        self.settings = settings
        self.mode = mode
        self.name = SERVICE_NAMES[mode]
        self.retry_after_s = retry_after_s
        self._http = http
        self._clock = clock
        self._down_until = -math.inf
        self._down_reason = ""
        from geo._http import install_log_redaction  # before anything is sent

        install_log_redaction()

    def down_reason(self) -> str:
        """Why the service is resting after a failure ("" when it may be asked)."""
        return self._down_reason if self._clock() < self._down_until else ""

    def went_down(self, exc: BaseException) -> str:
        """Note a failure: the service rests for :attr:`retry_after_s`; returns the reason."""
        reason = f"{self.name} unavailable ({first_sentence(exc, self.name)})"
        self._down_until = self._clock() + self.retry_after_s
        self._down_reason = reason
        log.warning("%s; using offline centroids for a while", reason)
        return reason

    def ask(self, text: str) -> GeocodeResult | None:
        """The service's answer for one address, ``None`` for no match.

        Raises
        ------
        OnlineFallback
            The service is resting or could not answer; carries why.
        """
        resting = self.down_reason()
        if resting:
            raise OnlineFallback(resting)
        http = self.client()
        try:
            if self.mode == "census":
                url, params = census_request(self.settings.census_base_url, text)
                return parse_census(http.get_json(url, params=params))
            url, params = ors_request(self.settings.ors_base_url, text)
            key = self.settings.ors_api_key
            headers = {"Authorization": key} if key else {}
            return parse_ors(http.get_json(url, params=params, headers=headers, endpoint="geocode"))
        except (TrialreachError, UnexpectedAnswer) as exc:
            raise OnlineFallback(self.went_down(exc)) from exc

    def census_batch(self, rows: Sequence[AddressFields]) -> list[BatchAnswer | None]:
        """One Census batch request (see :func:`~geo.geocode.census_batch.census_batch`).

        Raises :class:`~geo.errors.TrialreachError` or
        :class:`~geo.geocode.online.UnexpectedAnswer` when it fails (the caller notes it with
        :meth:`went_down`).
        """
        return census_batch(self.client(), self.settings.census_base_url, rows)

    def client(self) -> HttpClient:
        """The HTTP client, made on first use (ORS: paced by the key's shared per-minute quota)."""
        if self._http is None:
            from geo._http import HttpClient

            pacer = None
            if self.mode == "ors":  # the key's per-minute quota, shared with the ORS engine
                base_url = self.settings.ors_base_url
                quota = ORS_PUBLIC_QUOTA_PER_MIN if ORS_PUBLIC_HOST in base_url else {}
                pacer = shared_quota(base_url, self.settings.ors_api_key, quota)
            self._http = HttpClient.from_settings(self.name, self.settings, pacer=pacer)
        return self._http
