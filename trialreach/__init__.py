"""trialreach: is this place within 2 hours' drive of a clinical-trial study site?

The front door for notebooks and scripts (the CLI and the app call the same functions)::

    import trialreach
    answer = trialreach.check("44.06, -92.51", sites="resolution")
    answer[["verdict", "drive_min", "nearest_site", "engine"]], answer.attrs

Workflows: :func:`check`, :func:`rank_sites`, :func:`coverage`, :func:`suggest`,
:func:`find_lodging`, :func:`build_graph` (all in :mod:`trialreach.api`). Importing this package is
cheap: pandas, geopandas and the engines load when a function is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from trialreach.api import (
        build_graph,
        check,
        coverage,
        find_lodging,
        load_sites,
        locate,
        open_engine,
        rank_sites,
        suggest,
    )

__all__ = [
    "__version__",
    "build_graph",
    "check",
    "coverage",
    "find_lodging",
    "load_sites",
    "locate",
    "open_engine",
    "rank_sites",
    "suggest",
]

_API = frozenset(__all__) - {"__version__"}
"""The front door's functions, loaded on first use."""


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("trialreach")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """``__version__`` (from the package metadata) and the workflows, loaded on first use."""
    if name == "__version__":
        version = _version()
        globals()["__version__"] = version
        return version
    if name in _API:
        from trialreach import api

        return getattr(api, name)
    raise AttributeError(f"module 'trialreach' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
