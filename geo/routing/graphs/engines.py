"""The two engines' plumbing: binaries, versions, Valhalla's configuration, OSRM's usability."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

from geo.errors import EngineNotAvailableError
from geo.routing.graphs.folders import _write_atomic
from geo.routing.graphs.manifest import DEFAULT_MAX_ISOCHRONE_MIN, GraphManifest

CONFIG_STAMP = "valhalla.json.version"

_VALHALLA_MISSING = (
    "the Valhalla engine is not installed; install it with `pip install 'pyvalhalla>=3.9.1,<4'`"
)
_OSRM_MISSING = (
    "the OSRM engine is not installed; install it with `pip install 'osrm-bindings>=26.10,<27'`"
)


def valhalla_bin_dir() -> Path:
    """Folder of the Valhalla binaries shipped in the ``pyvalhalla`` wheel."""
    try:
        from valhalla._scripts import PYVALHALLA_BIN_DIR
    except ImportError as exc:
        raise EngineNotAvailableError(_VALHALLA_MISSING) from exc
    return Path(PYVALHALLA_BIN_DIR)


def osrm_bin_dir() -> Path:
    """Folder of the OSRM binaries (``osrm-extract`` …) shipped in the ``osrm-bindings`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("osrm")
    if spec is None or not spec.submodule_search_locations:
        raise EngineNotAvailableError(_OSRM_MISSING)
    return Path(next(iter(spec.submodule_search_locations))) / "bin"


def osrm_car_profile() -> Path:
    """The car profile bundled with ``osrm-bindings``."""
    return osrm_bin_dir().parent / "share" / "profiles" / "car.lua"


@functools.cache
def _dist_version(*names: str) -> str:
    """The first installed distribution's version among ``names`` ("" if none); read once per
    process (package metadata does not change under a running process)."""
    from importlib.metadata import PackageNotFoundError, version

    for n in names:
        try:
            return version(n)
        except PackageNotFoundError:
            continue
    return ""


def valhalla_version() -> str:
    """Installed Valhalla version (``pyvalhalla``; "" when not installed)."""
    return _dist_version("pyvalhalla", "pyvalhalla-weekly")


def osrm_version() -> str:
    """Installed OSRM version (``osrm-bindings``; "" when not installed)."""
    return _dist_version("osrm-bindings")


def valhalla_config(
    tile_dir: Path,
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN,
    *,
    for_build: bool = False,
) -> dict[str, Any]:
    """Engine configuration for tiles in ``tile_dir`` (which must exist).

    Uses the one-to-many ``timedistancematrix`` algorithm (several times faster than the default
    for places × sites), large matrix limits (the router chunks requests itself), and isochrone
    contours up to ``max_isochrone_min``.
    """
    try:
        from valhalla.config import get_config
    except ImportError as exc:
        raise EngineNotAvailableError(_VALHALLA_MISSING) from exc
    cfg: dict[str, Any] = get_config(tile_extract="", tile_dir=tile_dir, verbose=False)
    cfg["mjolnir"]["tile_dir"] = str(tile_dir)
    cfg["mjolnir"]["tile_extract"] = ""
    cfg["mjolnir"]["traffic_extract"] = ""
    cfg["thor"]["source_to_target_algorithm"] = "timedistancematrix"
    # Queries log nothing (type ""); the tile build logs to its captured stdout.
    for section in ("mjolnir", "loki", "thor", "odin", "meili"):
        if isinstance(cfg.get(section), dict):
            cfg[section]["logging"] = {"type": "", "color": False, "long_request": 1e9}
    if for_build:
        cfg["mjolnir"]["logging"] = {"type": "std_out", "color": False}
    limits = cfg["service_limits"]
    limits["auto"]["max_matrix_location_pairs"] = 1_000_000
    limits["auto"]["max_matrix_distance"] = 3_000_000.0
    limits["auto"]["max_locations"] = 50
    limits["isochrone"]["max_time_contour"] = math.ceil(max_isochrone_min)
    limits["isochrone"]["max_contours"] = 4
    return cfg


def ensure_valhalla_config(manifest: GraphManifest) -> Path:
    """Make ``valhalla.json`` fit this folder and the installed Valhalla; return its path.

    The config is rewritten (atomically) when it is missing, names another tile folder (the cache
    was moved or copied: the copy must use its own tiles) or was written by another Valhalla
    version (3.9 rejects a 3.5 config on every query; the tiles themselves still load).
    """
    cfg_path = manifest.config_path
    stamp = manifest.path / CONFIG_STAMP
    installed = valhalla_version()
    try:
        current = json.loads(cfg_path.read_text())
        fits = (
            current["mjolnir"]["tile_dir"] == str(manifest.tile_dir)
            and stamp.read_text().strip() == installed
        )
    except (OSError, ValueError, KeyError, TypeError):
        fits = False
    if not fits:
        cfg = valhalla_config(manifest.tile_dir, manifest.max_isochrone_min)
        try:
            _write_atomic(cfg_path, json.dumps(cfg, indent=1))
            _write_atomic(stamp, installed)
        except OSError as exc:
            raise EngineNotAvailableError(
                f"cannot write the Valhalla configuration of graph {manifest.name!r} in "
                f"{manifest.path}: {exc}"
            ) from exc
    return cfg_path


def osrm_problem(manifest: GraphManifest) -> str:
    """Why the graph's OSRM dataset cannot be used here ("" when it can)."""
    if not manifest.has_osrm:
        return (
            f"road graph {manifest.name!r} has no OSRM data (built by an older trialreach or "
            f"without it); rebuild it with {manifest.rebuild_hint}"
        )
    installed = osrm_version()
    if not installed:
        return _OSRM_MISSING
    if installed != manifest.osrm_version:
        return (
            f"road graph {manifest.name!r} holds OSRM data of osrm-bindings "
            f"{manifest.osrm_version}, but {installed} is installed (OSRM reads only its own "
            f"version's files); rebuild it with {manifest.rebuild_hint}"
        )
    return ""
