"""Where ``auto`` turns when an engine cannot answer: online, else the fallback, faults named.

:class:`RemoteFallback` (a mixin of :class:`~geo.routing.auto.AutoRouter`) asks the online
engine (openrouteservice, when configured) and, when it fails, the fallback (the estimate),
with a note naming the fault ("openrouteservice failed (HTTP 500 after 3 tries); estimated
instead"). After a failure the online engine is not asked again for
:data:`ONLINE_RETRY_AFTER_S`, so a batch does not wait through its retries in every chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from geo.errors import TrialreachError
from geo.routing.base import ENGINE_NAMES, NearestResult, Router
from geo.settings import Settings

_T = TypeVar("_T")

ONLINE_RETRY_AFTER_S = 300.0
"""After the online engine failed, it is not asked again for this long (seconds)."""


class RemoteFallback:
    """The online engine, else the fallback (see the module docstring).

    The engine sets ``online`` (or None), ``fallback``, ``clock`` (seconds) and
    ``_online_fault`` (None: no recent failure) before asking anything.
    """

    online: Router | None
    fallback: Router
    clock: Callable[[], float]
    _online_fault: tuple[float, str] | None

    def _remote(self) -> Router:
        return self.online if self.online is not None else self.fallback

    def _ask_remote(self, call: Callable[[Router], _T]) -> tuple[Router, _T, str]:
        """``call`` on the online engine, else on the fallback with a note naming the fault."""
        remote = self._remote()
        if remote is not self.fallback and self._online_fault is not None:
            since, note = self._online_fault
            if self.clock() - since < ONLINE_RETRY_AFTER_S:
                return self.fallback, call(self.fallback), note
            self._online_fault = None
        try:
            return remote, call(remote), ""
        except TrialreachError as exc:
            if remote is self.fallback:
                raise
            note = self._fell_back(remote, exc)
            self._online_fault = (self.clock(), note)
            return self.fallback, call(self.fallback), note

    def _remote_nearest(
        self, o: np.ndarray, d: np.ndarray, horizon_s: float | None
    ) -> tuple[Router, NearestResult, str]:
        return self._ask_remote(lambda r: r.nearest(o, d, horizon_s))

    def _fell_back(self, failed: Router, exc: Exception) -> str:
        """'openrouteservice failed (HTTP 500 after 3 tries); estimated instead'."""
        name = ENGINE_NAMES.get(failed.info.name, failed.info.name)
        detail = str(exc).strip() or type(exc).__name__
        instead = (
            "estimated instead"
            if self.fallback.info.is_estimate
            else f"answered by {self.fallback.info.label} instead"
        )
        return f"{name} failed ({detail}); {instead}"


def default_online(settings: Settings) -> Router | None:
    """openrouteservice when the settings configure it (an API key or a server), else None."""
    if not settings.ors_configured:
        return None
    from geo.routing.ors import OrsRouter

    return OrsRouter(settings)


__all__ = ["ONLINE_RETRY_AFTER_S", "RemoteFallback", "default_online"]
