"""The offline gazetteer: ZIP centroids and city centroids from the ``zipcodes`` package.

The package's GeoNames-derived table is indexed once per process: ZIP → centroid, and
(city, state) → the mean of the city's standard ZIP centroids. Places of 1,000 people or more
that have no postal name of their own (neighbourhoods, unincorporated places such as Paradise,
NV) come from ``places/us_places_geonames.csv`` under the data directory (GeoNames' point for
the place). Results are approximate (:attr:`~geo.types.Precision.ZIP`,
:attr:`~geo.types.Precision.CITY`) and their note says so.
"""

from __future__ import annotations

import csv
import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from geo.errors import GeocodeError
from geo.geocode.us import BARE_ZIP, state_abbr
from geo.settings import get_settings
from geo.types import GeocodeResult, LonLat, Precision

log = logging.getLogger(__name__)

__all__ = [
    "CITY_SOURCE",
    "PLACE_SOURCE",
    "ZIP_SOURCE",
    "city_centroid",
    "gazetteer",
    "zip_centroid",
]

ZIP_SOURCE = "ZIP centroid (zipcodes package, GeoNames)"
CITY_SOURCE = "city centroid (mean of ZIP centroids; zipcodes package, GeoNames)"
PLACE_SOURCE = "place point (GeoNames populated places)"
PLACES_FILE = "places/us_places_geonames.csv"
"""Places without a postal name of their own, under the data directory (see data/README.md)."""

_CITY_ABBREV = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}


def city_key(city: str) -> str:
    """Normalised city name: case, dots, hyphens, apostrophes and St/Ft/Mt abbreviations."""
    words = re.sub(r"[.'’`]", "", city.casefold()).replace("-", " ").split()
    return " ".join(_CITY_ABBREV.get(w, w) for w in words)


class ZipEntry(NamedTuple):  # a tuple of atoms: not tracked by the garbage collector
    lon: float
    lat: float
    city: str
    state: str
    kind: str  # STANDARD, PO BOX, UNIQUE, MILITARY

    @property
    def located(self) -> bool:
        return not (self.lon == 0.0 and self.lat == 0.0)


class CityEntry(NamedTuple):
    lon: float
    lat: float
    city: str
    state: str
    zip_count: int  # 0: a GeoNames place point, not a mean of ZIP centroids
    population: int = 0  # GeoNames' figure for such a place; 0 for ZIP-based entries


@dataclass(frozen=True)
class Gazetteer:
    zips: dict[str, ZipEntry]
    cities: dict[tuple[str, str], CityEntry]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Index the ``zipcodes`` gazetteer once: ZIP → centroid, (city, state) → mean centroid."""
    import zipcodes

    started = time.perf_counter()
    zips: dict[str, ZipEntry] = {}
    groups: dict[tuple[str, str], list[ZipEntry]] = {}
    aliases: dict[tuple[str, str], list[ZipEntry]] = {}
    # filter_by() with no filter returns every entry without keeping zipcodes' own module-level
    # copy (list_all() would keep ~170,000 Python objects alive for the garbage collector).
    for row in zipcodes.filter_by():  # type: ignore[no-untyped-call]  # untyped wrapper
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (TypeError, ValueError):
            lat, lon = 0.0, 0.0
        entry = ZipEntry(lon, lat, str(row["city"]), str(row["state"]), str(row["zip_code_type"]))
        zips[str(row["zip_code"])] = entry
        if not entry.located:
            continue
        groups.setdefault((city_key(entry.city), entry.state), []).append(entry)
        for alias in row.get("acceptable_cities") or ():
            aliases.setdefault((city_key(str(alias)), entry.state), []).append(entry)
    cities: dict[tuple[str, str], CityEntry] = {}
    for key, entries in [*aliases.items(), *groups.items()]:  # a primary name beats an alias
        standard = [e for e in entries if e.kind == "STANDARD"] or entries
        cities[key] = CityEntry(
            lon=sum(e.lon for e in standard) / len(standard),
            lat=sum(e.lat for e in standard) / len(standard),
            city=standard[0].city,
            state=standard[0].state,
            zip_count=len(standard),
        )
    n_places = _add_places(cities)
    log.debug(
        "indexed %d ZIP codes, %d cities and %d other places in %.2f s",
        len(zips),
        len(cities) - n_places,
        n_places,
        time.perf_counter() - started,
    )
    return Gazetteer(zips=zips, cities=cities)


def _add_places(cities: dict[tuple[str, str], CityEntry]) -> int:
    """Add the shipped GeoNames places whose name the ZIP table lacks; how many were added."""
    path = get_settings().data_dir / PLACES_FILE
    added = 0
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = (city_key(row["name"]), row["state"])
                if key in cities:
                    continue
                cities[key] = CityEntry(
                    lon=float(row["lon"]),
                    lat=float(row["lat"]),
                    city=row["name"],
                    state=row["state"],
                    zip_count=0,
                    population=int(row["population"]),
                )
                added += 1
    except (OSError, KeyError, ValueError) as exc:
        log.warning("places without a ZIP name not read (%s): town names only", type(exc).__name__)
    return added


def zip_centroid(zip_code: str) -> GeocodeResult:
    """The centroid of a U.S. ZIP code (``"55902"`` or ``"55902-1234"``), offline.

    Raises
    ------
    GeocodeError
        Not a 5-digit ZIP, not a known ZIP code, or a ZIP without a location (military APO/FPO).
    """
    m = BARE_ZIP.match(zip_code.strip())
    if m is None:
        raise GeocodeError(not_a_zip_message(zip_code.strip()))
    zip5 = m.group("zip")
    entry = gazetteer().zips.get(zip5)
    if entry is None:
        raise GeocodeError(f"ZIP {zip5} is not a known US ZIP code")
    if not entry.located:
        raise GeocodeError(
            f"ZIP {zip5} ({entry.kind.lower()}, {entry.city}, {entry.state}) has no location in "
            "the ZIP gazetteer; give the street address or coordinates"
        )
    return zip_result(zip5, entry)


def city_centroid(city: str, state: str) -> GeocodeResult:
    """The centroid of a U.S. city: the mean of the gazetteer's ZIP centroids for it.

    ``state`` is a postal abbreviation or a state name. Standard ZIP codes are averaged (PO-box
    and single-address ZIPs only when a place has no other). ``St``/``Ft``/``Mt`` are read as
    Saint/Fort/Mount.

    Raises
    ------
    GeocodeError
        Unknown state, or no such city in that state.
    """
    abbr = state_abbr(state)
    if abbr is None:
        raise GeocodeError(f"{state.strip()!r} is not a U.S. state or territory")
    entry = gazetteer().cities.get((city_key(city), abbr))
    if entry is None:
        raise GeocodeError(
            f"city {city.strip()!r} is not in the ZIP gazetteer for {abbr}; check the spelling "
            "or give a ZIP code"
        )
    return city_result(entry)


def zip_result(
    zip5: str, entry: ZipEntry, prefix: str = "", stated: str | None = None
) -> GeocodeResult:
    note = f"{prefix}ZIP centroid of {zip5} — check the exact address"
    if stated is not None and stated != entry.state:
        note += f"; the address says {stated} but ZIP {zip5} is in {entry.city}, {entry.state}"
    return GeocodeResult(
        point=LonLat(entry.lon, entry.lat),
        precision=Precision.ZIP,
        source=ZIP_SOURCE,
        matched=f"{zip5} {entry.city}, {entry.state}",
        note=note,
    )


def city_result(entry: CityEntry, prefix: str = "", inferred: str = "") -> GeocodeResult:
    """The result for a city of the gazetteer; ``inferred`` says how its state was inferred.

    The note's parts are joined by "; " outside any brackets: what the point is first (a
    centroid, which :meth:`GeocodeResult.location_note` leaves out beside the Location line),
    then ``inferred`` as a part of its own."""
    also = f"; {inferred}" if inferred else ""
    where = f"{entry.city}, {entry.state}"
    if entry.zip_count == 0:
        source = PLACE_SOURCE
        what = f"place point of {where} (GeoNames; no ZIP code of its own){also}"
    else:
        zips = "1 ZIP centroid" if entry.zip_count == 1 else f"{entry.zip_count} ZIP centroids"
        source = CITY_SOURCE
        what = f"city centroid of {where} (mean of {zips}){also}"
    return GeocodeResult(
        point=LonLat(entry.lon, entry.lat),
        precision=Precision.CITY,
        source=source,
        matched=where,
        note=f"{prefix}{what} — check the exact address",
    )


def not_a_zip_message(text: str) -> str:
    if text.isdigit() and 3 <= len(text) <= 4:
        return (
            f"{text!r} is not a 5-digit ZIP code; a leading zero may have been lost "
            f"(e.g. by a spreadsheet): try {text.zfill(5)}"
        )
    return f"{text!r} is not a 5-digit ZIP code"
