"""Routing engines behind one interface (:class:`~geo.routing.base.Router`)."""

from __future__ import annotations

from typing import Any

from geo.routing.base import NearestResult, Router, as_lonlat_array
from geo.routing.catalogue import ENGINE_NAMES, make_router
from geo.routing.estimate import EstimateParams, EstimateRouter

__all__ = [
    "EstimateParams",
    "EstimateRouter",
    "NearestResult",
    "Router",
    "as_lonlat_array",
    "get_router",
    "make_router",
]

ENGINES = ENGINE_NAMES
"""Engine names, from the catalogue (:mod:`geo.routing.catalogue`)."""


def get_router(name: str | None = None, **kwargs: Any) -> Router:
    """The routing engine called ``name`` (default: the settings' engine).

    A thin alias of :func:`geo.routing.catalogue.make_router`: ``name`` may be an engine name or
    ``valhalla:GRAPH``; keyword arguments (``graph``, ``settings``, engine options) pass through.
    An engine that cannot be used here raises :class:`~geo.errors.EngineNotAvailableError`
    with what to do; an unknown name raises :class:`~geo.errors.ValidationError`.
    """
    return make_router(name, **kwargs)
