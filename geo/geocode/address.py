"""Offline address parsing: an address located at its ZIP centroid, else its city centroid.

An address without state or ZIP code that ends in a town found in one state only is located at
that town, the state inferred and said (:func:`geo.geocode.towns.town_of_address`).

The tail of a one-line address (country, ZIP code, state) is split by rules, the rest tagged by
``usaddress``; the city is only trusted when the gazetteer knows it in that state.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import GeocodeError
from geo.geocode.gazetteer import city_key, city_result, gazetteer, zip_result
from geo.geocode.towns import town_of_address
from geo.geocode.us import BARE_ZIP, TRAILING_COUNTRY, TRAILING_STATE, TRAILING_ZIP, state_abbr
from geo.types import GeocodeResult

__all__ = ["address_fields", "offline_address"]


@dataclass(frozen=True)
class _AddressParts:
    body: str  # the text without country, ZIP code and state
    zip5: str | None
    state: str | None  # postal abbreviation


def _split_tail(text: str) -> _AddressParts:
    """Cheap split of a one-line address: trailing country, ZIP code and state by rules."""
    body = TRAILING_COUNTRY.sub("", text).strip(" ,")
    zip5: str | None = None
    m = TRAILING_ZIP.search(body)
    if m:
        zip5 = m.group("zip")
        body = body[: m.start()].strip(" ,")
    state: str | None = None
    sm = TRAILING_STATE.search(body)
    if sm:
        state = state_abbr(sm.group("state"))
        body = body[: sm.start()].strip(" ,")
    return _AddressParts(body=body, zip5=zip5, state=state)


def _parse_city(text: str, tail: _AddressParts) -> tuple[str | None, str | None, str | None]:
    """``(city, state, zip5)`` of an address by ``usaddress``, completed by ``tail``'s rules.

    ``city`` is only returned when the gazetteer knows it in ``state``.
    """
    import usaddress

    try:
        tagged, _kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        tagged = {}
    state = state_abbr(str(tagged["StateName"])) if tagged.get("StateName") else None
    state = state or tail.state
    zip5 = tail.zip5
    if zip5 is None and tagged.get("ZipCode"):
        zm = BARE_ZIP.match(str(tagged["ZipCode"]).strip())
        zip5 = zm.group("zip") if zm else None
    if state is None:
        return None, None, zip5
    candidates = [str(tagged.get("PlaceName", "")), tail.body.rsplit(",", 1)[-1]]
    for candidate in candidates:
        city = _known_city(candidate, state)
        if city is not None:
            return city, state, zip5
    return None, state, zip5


def _known_city(candidate: str, state: str) -> str | None:
    """The longest run of trailing words of ``candidate`` that is a city in ``state``."""
    words = candidate.replace(",", " ").split()
    cities = gazetteer().cities
    for start in range(len(words)):
        name = " ".join(words[start:])
        if (city_key(name), state) in cities:
            return name
    return None


def offline_address(text: str, prefix: str = "") -> GeocodeResult:
    """ZIP centroid of the address, else its city centroid; ``prefix`` starts the note."""
    gaz = gazetteer()
    tail = _split_tail(text)
    zip_problem = ""
    if tail.zip5 is not None:
        entry = gaz.zips.get(tail.zip5)
        if entry is not None and entry.located:
            return zip_result(tail.zip5, entry, prefix, tail.state)
    city, state, zip5 = _parse_city(text, tail)
    if zip5 is not None:
        entry = gaz.zips.get(zip5)
        if entry is not None and entry.located:
            return zip_result(zip5, entry, prefix, state)
        zip_problem = (
            f"ZIP {zip5} is not a known US ZIP code"
            if entry is None
            else f"ZIP {zip5} has no location in the ZIP gazetteer"
        )
    if city is not None and state is not None:
        found = gaz.cities[(city_key(city), state)]
        return city_result(found, prefix + (f"{zip_problem}; " if zip_problem else ""))
    if zip_problem:
        raise GeocodeError(zip_problem)
    if state is None:
        town = town_of_address(tail.body, prefix)
        if isinstance(town, GeocodeError):
            raise town
        if town is not None:
            return town
    if state is not None:
        raise GeocodeError(
            f"no ZIP code and no known city of {state} found in the address; "
            "add the ZIP code or check the city's spelling"
        )
    raise GeocodeError(
        "could not locate this text offline: give 'lat, lon', a 5-digit ZIP code, or an "
        "address ending in city, state and ZIP"
    )


def address_fields(text: str) -> tuple[str, str, str, str]:
    """``(street, city, state, zip)`` of a one-line address, for a batch geocoder's columns.

    Trailing country, ZIP code and state are split by rules; the city is the longest run of
    trailing words that the gazetteer knows in that state. What cannot be split stays in the
    street field; unknown parts are empty strings.
    """
    tail = _split_tail(text)
    body, city = tail.body, ""
    if tail.state is not None:
        known = _known_city(body.rsplit(",", 1)[-1], tail.state)
        if known is not None:
            city = known
            body = body[: len(body) - len(known)].rstrip(" ,")
    return body, city, tail.state or "", tail.zip5 or ""
