"""Option values as enums, so ``--help`` lists them and shells complete them.

Kept free of heavy imports (no pandas, geopandas or engines): ``trialreach --help`` reads this
module. ``tests/api/test_catalogue.py`` checks the values against their sources of truth (the
engine catalogue, the rule presets, the geocoders).
"""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    """Routing engines (:data:`geo.routing.catalogue.CATALOGUE`)."""

    auto = "auto"
    valhalla = "valhalla"
    osrm = "osrm"
    ors = "ors"
    estimate = "estimate"


class Geocoder(StrEnum):
    """Geocoders (:data:`geo.geocode.GEOCODERS`)."""

    offline = "offline"
    census = "census"
    ors = "ors"


class Rule(StrEnum):
    """Rule presets (:data:`geo.rules.PRESETS`)."""

    resolution = "resolution"
    car_t_label_2025 = "car-t-label-2025"
    car_t_rems = "car-t-rems"


def value(option: StrEnum | str | None) -> str | None:
    """The plain string of an option (typer passes enum members)."""
    return None if option is None else str(option.value if isinstance(option, StrEnum) else option)
