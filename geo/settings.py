"""One settings object for the whole product.

Values come, in order of precedence, from explicit arguments, environment variables
(``TRIALREACH_*``, ``ORS_API_KEY``) and Streamlit secrets (``.streamlit/secrets.toml``), then the
documented defaults below. Nothing else in the code base reads the environment.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The checkout (or install prefix) that holds ``data/``."""
_WHEEL_DATA = Path(__file__).resolve().parent / "_data"
SHIPPED_DATA_DIR = _WHEEL_DATA if _WHEEL_DATA.is_dir() else PROJECT_ROOT / "data"
"""The shipped data: ``geo/_data`` of an installed wheel (copied by setup.py), else the
checkout's ``data/``."""


def _secrets() -> Mapping[str, Any]:
    """Streamlit secrets (``.streamlit/secrets.toml``) when such a file exists, else empty.

    Inside the app, Streamlit's own reader is used; elsewhere (the CLI, a notebook) the file is
    read as TOML directly, so a command never pays for importing Streamlit.
    """
    secrets_paths = [
        Path.cwd() / ".streamlit" / "secrets.toml",
        Path.home() / ".streamlit" / "secrets.toml",
    ]
    found = [p for p in secrets_paths if p.is_file()]
    if not found:
        return {}
    try:
        if "streamlit" in sys.modules:
            import streamlit as st

            return dict(st.secrets)
        merged: dict[str, Any] = {}
        for path in reversed(found):  # the project's file wins over the user's
            with path.open("rb") as fh:
                merged.update(tomllib.load(fh))
        return merged
    except Exception:  # secrets unreadable: settings still work from the environment
        return {}


def _lookup(name: str, env: Mapping[str, str], secrets: Mapping[str, Any]) -> str | None:
    if name in env and env[name] != "":
        return env[name]
    if name in secrets and secrets[name] not in (None, ""):
        return str(secrets[name])
    return None


@dataclass(frozen=True)
class Settings:
    """Configuration of trialreach.

    Attributes
    ----------
    data_dir
        Shipped data (site sets, population, OSM extracts). Env ``TRIALREACH_DATA_DIR``.
    cache_dir
        Per-user cache for road graphs, tiles and routing answers (never addresses).
        Env ``TRIALREACH_CACHE_DIR``; default from platformdirs.
    engine
        Default routing engine: ``auto`` (local graph where it covers, else ORS if configured,
        else the estimate), ``valhalla``, ``ors`` or ``estimate``. Env ``TRIALREACH_ENGINE``.
    geocoder
        ``offline`` (default: coordinates, ZIP and city centroids; nothing leaves the machine),
        ``census`` (U.S. Census Geocoder, free, no key) or ``ors``. Env ``TRIALREACH_GEOCODER``.
    ors_api_key
        openrouteservice key. Env/secret ``ORS_API_KEY``.
    ors_base_url
        openrouteservice URL; set it to a self-hosted instance (no key needed there).
        Env/secret ``ORS_BASE_URL``.
    ctgov_base_url
        ClinicalTrials.gov API root. Env ``TRIALREACH_CTGOV_URL``.
    census_base_url
        U.S. Census Geocoder root. Env ``TRIALREACH_CENSUS_URL``.
    geofabrik_base_url
        Where OSM extracts are downloaded from. Env ``TRIALREACH_GEOFABRIK_URL``.
    http_timeout_s, http_retries, http_backoff_s
        Network timeout per request, retries on 429/5xx/timeouts, and the first backoff delay
        (doubled each retry, with jitter). Env ``TRIALREACH_HTTP_TIMEOUT_S`` etc.
    map_tiles
        Basemap tiles for maps: ``osm`` (OpenStreetMap) or ``none`` (a drawn outline basemap,
        for offline use). Env ``TRIALREACH_MAP_TILES``.
    """

    data_dir: Path = SHIPPED_DATA_DIR
    cache_dir: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir("trialreach")))
    engine: str = "auto"
    geocoder: str = "offline"
    ors_api_key: str | None = None
    ors_base_url: str = "https://api.openrouteservice.org"
    ctgov_base_url: str = "https://clinicaltrials.gov/api/v2"
    census_base_url: str = "https://geocoding.geo.census.gov/geocoder"
    geofabrik_base_url: str = "https://download.geofabrik.de"
    http_timeout_s: float = 20.0
    http_retries: int = 4
    http_backoff_s: float = 1.0
    map_tiles: str = "osm"

    def __post_init__(self) -> None:
        problem = _number_problem("http_timeout_s", self.http_timeout_s)
        problem = problem or _number_problem("http_retries", self.http_retries)
        problem = problem or _number_problem("http_backoff_s", self.http_backoff_s)
        if problem:
            from geo.errors import ValidationError

            raise ValidationError(f"setting {problem}")

    @property
    def ors_is_public(self) -> bool:
        """True when ORS points at the public API (which needs a key and caps isochrones at 1 h)."""
        return "api.openrouteservice.org" in self.ors_base_url

    @property
    def ors_configured(self) -> bool:
        """True when the ORS engine can be used: a key for the public API, or a self-hosted URL."""
        return bool(self.ors_api_key) or not self.ors_is_public

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values changed."""
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        secrets: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Read settings from environment variables and Streamlit secrets."""
        env = os.environ if env is None else env
        secrets = _secrets() if secrets is None else secrets
        base = cls()
        values: dict[str, Any] = {}
        text_fields = {
            "TRIALREACH_ENGINE": "engine",
            "TRIALREACH_GEOCODER": "geocoder",
            "ORS_API_KEY": "ors_api_key",
            "ORS_BASE_URL": "ors_base_url",
            "TRIALREACH_CTGOV_URL": "ctgov_base_url",
            "TRIALREACH_CENSUS_URL": "census_base_url",
            "TRIALREACH_GEOFABRIK_URL": "geofabrik_base_url",
            "TRIALREACH_MAP_TILES": "map_tiles",
        }
        for key, attr in text_fields.items():
            value = _lookup(key, env, secrets)
            if value is not None:
                values[attr] = value.strip()
        for key, attr in {
            "TRIALREACH_DATA_DIR": "data_dir",
            "TRIALREACH_CACHE_DIR": "cache_dir",
        }.items():
            value = _lookup(key, env, secrets)
            if value is not None:
                values[attr] = Path(value).expanduser()
        numbers = {
            "TRIALREACH_HTTP_TIMEOUT_S": ("http_timeout_s", float),
            "TRIALREACH_HTTP_RETRIES": ("http_retries", int),
            "TRIALREACH_HTTP_BACKOFF_S": ("http_backoff_s", float),
        }
        for key, (attr, kind) in numbers.items():
            value = _lookup(key, env, secrets)
            if value is not None:
                from geo.errors import ValidationError

                try:
                    values[attr] = kind(value.strip())
                except ValueError as exc:
                    what = "a whole number" if kind is int else "a number"
                    raise ValidationError(f"{key}={value!r} is not {what}") from exc
                problem = _number_problem(attr, values[attr])
                if problem:
                    raise ValidationError(f"{key}={value!r}: {problem.split(' ', 1)[1]}")
        return replace(base, **values)


_NUMBER_RULES: dict[str, tuple[float, str]] = {
    "http_timeout_s": (0.0, "must be a number of seconds above 0 (e.g. 20)"),
    "http_retries": (0.0, "must be a whole number, 0 or more (e.g. 4)"),
    "http_backoff_s": (0.0, "must be a number of seconds, 0 or more (e.g. 1)"),
}


def _number_problem(attr: str, value: float) -> str | None:
    """``"<attr> <what is wrong>"`` for a value out of its range, else None."""
    low, rule = _NUMBER_RULES[attr]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{attr} {rule}"
    if not math.isfinite(value) or value < low or (attr == "http_timeout_s" and value <= low):
        return f"{attr} {rule}"
    return None


def get_settings() -> Settings:
    """Current settings from the environment (cheap: call it where needed, never cache it)."""
    return Settings.from_env()
