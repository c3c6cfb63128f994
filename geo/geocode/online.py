"""Online geocoders (U.S. Census Geocoder, openrouteservice/Pelias): pure request builders and
response parsers. The HTTP itself is done by :class:`geo._http.HttpClient`.
"""

from __future__ import annotations

import re
from typing import Any

from geo.errors import ValidationError
from geo.types import GeocodeResult, LonLat, Precision

__all__ = [
    "CENSUS_BENCHMARK",
    "CENSUS_SOURCE",
    "UnexpectedAnswer",
    "census_request",
    "first_sentence",
    "ors_request",
    "parse_census",
    "parse_ors",
]

CENSUS_SOURCE = "U.S. Census Geocoder (Public_AR_Current)"
CENSUS_BENCHMARK = "Public_AR_Current"

# Pelias layers (openrouteservice geocoder) and the precision they stand for; coarser layers
# (county, region, country) are treated as no match.
_ORS_LAYER_PRECISION: dict[str, Precision] = {
    "address": Precision.ADDRESS,
    "venue": Precision.ADDRESS,
    "street": Precision.CITY,
    "postalcode": Precision.ZIP,
    "neighbourhood": Precision.CITY,
    "borough": Precision.CITY,
    "locality": Precision.CITY,
    "localadmin": Precision.CITY,
}


class UnexpectedAnswer(Exception):
    """An online geocoder answered in a shape this code does not know."""


def census_request(base_url: str, text: str) -> tuple[str, dict[str, str]]:
    """URL and query parameters for the Census ``onelineaddress`` endpoint."""
    url = base_url.rstrip("/") + "/locations/onelineaddress"
    return url, {"address": text, "benchmark": CENSUS_BENCHMARK, "format": "json"}


def parse_census(data: Any) -> GeocodeResult | None:
    """The first address match of a Census Geocoder JSON answer, ``None`` when there is none."""
    try:
        matches = data["result"]["addressMatches"]
        if not matches:
            return None
        first = matches[0]
        lon, lat = float(first["coordinates"]["x"]), float(first["coordinates"]["y"])
        matched = str(first.get("matchedAddress", ""))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UnexpectedAnswer("answered in an unexpected format") from exc
    note = f"{len(matches)} matches; used the first" if len(matches) > 1 else ""
    return GeocodeResult(
        point=_checked_point(lon, lat),
        precision=Precision.ADDRESS,
        source=CENSUS_SOURCE,
        matched=matched,
        note=note,
    )


def ors_request(base_url: str, text: str) -> tuple[str, dict[str, str]]:
    """URL and query parameters for the openrouteservice (Pelias) ``/geocode/search`` endpoint."""
    url = base_url.rstrip("/") + "/geocode/search"
    return url, {"text": text, "boundary.country": "USA", "size": "1"}


def parse_ors(data: Any) -> GeocodeResult | None:
    """The first feature of an openrouteservice geocode answer, ``None`` when none is usable."""
    try:
        features = data["features"]
        if not features:
            return None
        first = features[0]
        lon, lat = (float(v) for v in first["geometry"]["coordinates"][:2])
        props = first.get("properties") or {}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UnexpectedAnswer("answered in an unexpected format") from exc
    layer = str(props.get("layer", ""))
    precision = _ORS_LAYER_PRECISION.get(layer)
    if precision is None:
        return None
    note = (
        ""
        if precision is Precision.ADDRESS
        else f"matched only a {layer} — check the exact address"
    )
    data_source = props.get("source")
    return GeocodeResult(
        point=_checked_point(lon, lat),
        precision=precision,
        source="openrouteservice geocoder" + (f" ({data_source})" if data_source else ""),
        matched=str(props.get("label", "")),
        note=note,
    )


def _checked_point(lon: float, lat: float) -> LonLat:
    try:
        return LonLat(lon, lat)
    except ValidationError as exc:
        raise UnexpectedAnswer("answered with coordinates out of range") from exc


def first_sentence(exc: BaseException, service: str) -> str:
    """The gist of an error message: its first sentence, without the service's name."""
    text = str(exc).strip()
    if text.startswith(service):
        text = text[len(service) :].lstrip(" :")
    # "answered HTTP 400: <body>": the body is the service's text and could echo the query
    text = re.sub(r"^(answered HTTP \d{3}):.*$", r"\1", text, flags=re.DOTALL)
    return re.split(r"(?<=[a-z0-9)])\. (?=[A-Z])", text, maxsplit=1)[0].rstrip(".")
