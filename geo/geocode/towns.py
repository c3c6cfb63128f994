"""Town names offline: "Hershey", "Hershey PA", "Hershey, Pennsylvania", "Saint Paul MN".

A text that is nothing but a U.S. place name, with or without its state, is located at the
place's centroid from the offline gazetteer (:attr:`~geo.types.Precision.CITY`, the mean of its
ZIP centroids). Without a state:

* a name found in one state only resolves there, and the note says the state was inferred;
* a name found in several states is refused with the candidates, the most populous first
  (2020 ZCTA population of their ZIP codes), never a silent pick ("Springfield: 25 places in
  different states — add the state, e.g. 'Springfield, MO'");
* a text that is only a state's name ("Indiana", "New York") is refused, with the town(s) of
  that name if there are any, since the state and the town are a long way apart.

Messages name the gazetteer's places, never the text as typed.
"""

from __future__ import annotations

import csv
from functools import lru_cache

from geo.errors import GeocodeError
from geo.geocode.gazetteer import CityEntry, city_key, city_result, gazetteer
from geo.geocode.us import STATE_NAMES, TRAILING_COUNTRY, TRAILING_STATE, state_abbr
from geo.settings import get_settings
from geo.types import GeocodeResult

__all__ = ["MAX_LISTED", "places_named", "town_name", "town_of_address"]

ZCTA_FILE = "population/zcta_2020.csv"
"""2020 ZCTA populations under the data directory (see data/README.md): ranks namesakes."""

MAX_LISTED = 6
"""Candidates listed by name in an ambiguity message (the count says how many there are)."""


@lru_cache(maxsize=1)
def _population() -> dict[tuple[str, str], int]:
    """(normalised city, state) → people in its ZIP codes (2020 ZCTAs), to rank namesakes.

    Empty when the shipped ZCTA table is missing; namesakes are then ranked by ZIP count.
    """
    path = get_settings().data_dir / ZCTA_FILE
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            by_zip = {row["ZCTA5"].zfill(5): int(row["Population"]) for row in csv.DictReader(fh)}
    except (OSError, KeyError, ValueError):
        return {}
    out: dict[tuple[str, str], int] = {}
    for zip5, entry in gazetteer().zips.items():
        key = (city_key(entry.city), entry.state)
        out[key] = out.get(key, 0) + by_zip.get(zip5, 0)
    return out


@lru_cache(maxsize=1)
def _by_name() -> dict[str, tuple[CityEntry, ...]]:
    """Normalised place name → its places in every state, the most populous first (people in
    its ZIP codes; GeoNames' figure for a place without a ZIP name of its own).

    A place known under the name only as an alias (Battle Creek, MI is also "Springfield")
    comes after those that bear it as their own name.
    """
    people = _population()
    groups: dict[str, list[CityEntry]] = {}
    for (key, _state), entry in gazetteer().cities.items():
        groups.setdefault(key, []).append(entry)

    def rank(key: str, e: CityEntry) -> tuple[bool, int, int, str]:
        alias = city_key(e.city) != key
        head_count = people.get((city_key(e.city), e.state), 0) or e.population
        return (alias, -head_count, -e.zip_count, e.state)

    return {
        key: tuple(sorted(entries, key=lambda e: rank(key, e))) for key, entries in groups.items()
    }


def places_named(name: str) -> tuple[CityEntry, ...]:
    """Every place of the offline gazetteer called ``name`` (any state), the most populous first.

    ``St``/``Ft``/``Mt`` read as Saint/Fort/Mount; case, dots and hyphens do not matter.
    """
    return _by_name().get(city_key(name), ())


def _label(entry: CityEntry, name: str) -> str:
    if city_key(entry.city) == city_key(name):
        return f"{entry.city}, {entry.state}"
    return f"{name}, {entry.state} ({entry.city})"


def _listed(entries: tuple[CityEntry, ...]) -> str:
    name = entries[0].city
    shown = "; ".join(_label(e, name) for e in entries[:MAX_LISTED])
    more = len(entries) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _ambiguous(entries: tuple[CityEntry, ...]) -> GeocodeError:
    first = entries[0]
    return GeocodeError(
        f"{first.city}: {len(entries)} places in different states — add the state, e.g. "
        f"'{first.city}, {first.state}' ({_listed(entries)})"
    )


def town_name(text: str, prefix: str = "") -> GeocodeResult | GeocodeError | None:
    """The place a text names when the text is only a place name, with or without its state.

    Parameters
    ----------
    text
        What was typed ("Hershey", "Hershey PA", "Saint Paul, Minnesota").
    prefix
        Starts the result's note.

    Returns
    -------
    GeocodeResult or GeocodeError or None
        A :attr:`~geo.types.Precision.CITY` result; the error for an ambiguous name or a bare
        state name; ``None`` when the text is not just a known place name (an address, a
        misspelt town, a venue), which is left to the address parser.
    """
    if any(ch.isdigit() for ch in text):
        return None
    body = TRAILING_COUNTRY.sub("", text).strip(" ,")
    state: str | None = None
    sm = TRAILING_STATE.search(body)
    if sm:
        state = state_abbr(sm.group("state"))
        body = body[: sm.start()].strip(" ,")
    if not body:  # the text is a state's name (or abbreviation) and nothing else
        if state is None:
            return None
        if state == "DC":  # the District is one city
            return city_result(gazetteer().cities[("washington", "DC")], prefix)
        return _state_only(state)
    if "," in body:  # "100 Main St, Hershey": an address, not a bare name
        return None
    entries = places_named(body)
    if not entries:
        return None
    if state is not None:
        here = [e for e in entries if e.state == state]
        if here:
            return city_result(here[0], prefix)
        return GeocodeError(
            f"no place called {entries[0].city} in {STATE_NAMES[state]} in the offline "
            f"gazetteer (places of that name: {_listed(entries)}); check the state, or give a "
            "ZIP code"
        )
    if len(entries) > 1:
        return _ambiguous(entries)
    (only,) = entries
    return city_result(
        only, prefix, inferred=f"state inferred: the only {only.city} in the gazetteer"
    )


def town_of_address(body: str, prefix: str = "") -> GeocodeResult | GeocodeError | None:
    """The town an address without state or ZIP ends in ("100 Main St, Hummelstown").

    The last comma-separated part is read as a place name: one place of that name → its
    centroid, the state inferred and said; several → the ambiguity error; none → ``None``.
    """
    if "," not in body:
        return None
    entries = places_named(body.rsplit(",", 1)[-1])
    if not entries:
        return None
    if len(entries) > 1:
        return _ambiguous(entries)
    (only,) = entries
    return city_result(
        only, prefix, inferred=f"state inferred: the only {only.city} in the gazetteer"
    )


def _state_only(state: str) -> GeocodeError:
    name = STATE_NAMES[state]
    towns = places_named(name)
    hint = f"; for the town say '{towns[0].city}, {towns[0].state}'" if len(towns) == 1 else ""
    if len(towns) > 1:
        hint = f"; towns of that name: {_listed(towns)}"
    return GeocodeError(
        f"{name} is a U.S. state or territory, not a place to drive from: give a town with "
        f"its state, a ZIP code or an address{hint}"
    )
