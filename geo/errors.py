"""Every error trialreach raises on purpose.

All derive from :class:`TrialreachError`, so a caller can catch one type. Messages say what went
wrong and what to do next; they never contain a patient's address.
"""

from __future__ import annotations

from collections.abc import Sequence


class TrialreachError(Exception):
    """Base class of every error raised on purpose by trialreach."""


class ValidationError(TrialreachError, ValueError):
    """Input data is wrong. ``problems`` lists every problem found, one line each."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        text = message
        if self.problems:
            text += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class SiteFileError(ValidationError):
    """A site file (CSV/GeoJSON) cannot be used as it is."""


class UnknownSiteSetError(TrialreachError, KeyError):
    """A named site set does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class GeocodeError(TrialreachError):
    """Text could not be turned into a point."""


class NetworkError(TrialreachError):
    """An online service could not be reached or kept failing after retries."""


class RateLimitError(NetworkError):
    """An online service kept answering HTTP 429 (too many requests) after retries."""


class QuotaExceededError(NetworkError):
    """An online service refused the request for quota or key reasons (HTTP 401/403)."""


class NotFoundError(TrialreachError, LookupError):
    """An online service answered that the requested thing does not exist (HTTP 404)."""


class EngineError(TrialreachError):
    """A routing engine failed or is not set up."""


class EngineFaultError(EngineError):
    """An engine answered something that cannot be a drive time (e.g. 0 s for 560 km)."""


class EngineNotAvailableError(EngineError):
    """A routing engine cannot be used here (missing package, key, or road graph)."""


class RangeLimitError(EngineError):
    """A request exceeds what an engine can answer (e.g. a 2-hour isochrone on public ORS)."""


class OutsideDataError(EngineError):
    """A location lies outside the road data an engine has."""


class GraphBuildError(EngineError):
    """A road graph could not be downloaded, verified or built."""
