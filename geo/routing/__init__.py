"""Routing engines behind one interface (:class:`~geo.routing.base.Router`)."""

from __future__ import annotations

from geo.routing.base import NearestResult, Router, as_lonlat_array
from geo.routing.estimate import EstimateParams, EstimateRouter

__all__ = [
    "EstimateParams",
    "EstimateRouter",
    "NearestResult",
    "Router",
    "as_lonlat_array",
    "get_router",
]

ENGINES = ("auto", "valhalla", "ors", "estimate")


def get_router(name: str | None = None, **kwargs: object) -> Router:
    """The routing engine called ``name`` (default: the settings' engine).

    ``estimate`` always works. Other engines are added by their own modules; an engine that cannot
    be used here raises :class:`~geo.errors.EngineNotAvailableError` with what to do.
    """
    from geo.errors import EngineNotAvailableError, ValidationError
    from geo.settings import get_settings

    engine = (name or get_settings().engine).lower()
    if engine == "estimate":
        return EstimateRouter()
    if engine == "auto":
        from geo.routing.auto import AutoRouter

        return AutoRouter(**kwargs)  # type: ignore[arg-type]
    if engine == "ors":
        from geo.routing.ors import OrsRouter

        return OrsRouter(**kwargs)  # type: ignore[arg-type]
    if engine == "valhalla":
        from geo.routing.valhalla import ValhallaRouter

        return ValhallaRouter(**kwargs)  # type: ignore[arg-type]
    if engine in ENGINES:
        raise EngineNotAvailableError(
            f"the {engine!r} engine is not available in this version; use 'estimate'"
        )
    raise ValidationError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
