"""Text to point: coordinates, ZIP centroids, city centroids and street addresses.

What a piece of text becomes, in this order:

1. ``"lat, lon"`` literals (``"44.0225, -92.4668"``, ``"44.0225 -92.4668"``,
   ``"44°01′21″N 92°28′00″W"``) → :attr:`Precision.COORDINATES`. A pair written the wrong way
   round is read as ``lon, lat`` only when that is unambiguous for a U.S. product (the order as
   written is impossible, or lies outside the United States while the swapped order lies inside);
   the result's ``note`` says so. Out-of-range pairs raise :class:`GeocodeError`.
2. A bare ZIP code (``"55902"`` or ``"55902-1234"``) → its centroid, offline, from the gazetteer of
   the ``zipcodes`` package (GeoNames-derived) → :attr:`Precision.ZIP`.
3. Anything else is an address. With ``Settings.geocoder == "census"`` it goes to the U.S. Census
   Geocoder (free, no key); with ``"ors"`` (and an ORS key or a self-hosted URL) to the
   openrouteservice geocoder → :attr:`Precision.ADDRESS`. Offline (the default: nothing leaves
   the machine), or when the online geocoder finds no match or cannot be reached, the address is
   parsed (``usaddress`` plus a few rules) and located at the centroid of its ZIP code
   (:attr:`Precision.ZIP`), else of its city and state (:attr:`Precision.CITY`: the mean of the
   gazetteer's ZIP centroids for that city). Such results are approximate and their ``note`` says
   what they rest on.

Privacy: the text of an address is never logged, never written to disk and never put into an
error message (a ZIP code may be). Answers are cached in memory only (an LRU per
:class:`Geocoder`). Query strings are stripped from ``urllib3``'s debug log records, which would
otherwise print the request URL, address included.

When an online geocoder cannot be reached (timeout, connection refused, HTTP 5xx after retries,
bad key), the address falls back to the offline centroid with a note that says why, and the
geocoder is not asked again for :attr:`Geocoder.online_retry_after_s` seconds, so a batch does
not wait out the retries for every row. The fallback is never cached, so a later call gets the
street-level answer once the service is back.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

from geo._http import HttpClient, install_log_redaction
from geo.errors import GeocodeError, TrialreachError, ValidationError
from geo.settings import Settings, get_settings
from geo.types import GeocodeResult, LonLat, Precision

log = logging.getLogger(__name__)

__all__ = [
    "CITY_SOURCE",
    "ZIP_SOURCE",
    "CacheInfo",
    "Geocoder",
    "city_centroid",
    "geocode",
    "parse_latlon",
    "zip_centroid",
]

ZIP_SOURCE = "ZIP centroid (zipcodes package, GeoNames)"
CITY_SOURCE = "city centroid (mean of ZIP centroids; zipcodes package, GeoNames)"
COORDINATES_SOURCE = "coordinates"
CENSUS_SOURCE = "U.S. Census Geocoder (Public_AR_Current)"
CENSUS_BENCHMARK = "Public_AR_Current"
GEOCODERS = ("offline", "census", "ors")

# --------------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------------

STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "GU": "Guam", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip

_STATE_BY_NAME: dict[str, str] = {name.casefold(): abbr for abbr, name in STATE_NAMES.items()}
_STATE_BY_NAME.update({"washington dc": "DC", "d.c.": "DC", "virgin islands": "VI"})


def _state_abbr(token: str) -> str | None:
    """Postal abbreviation for ``"MN"``, ``"mn"`` or ``"Minnesota"``; ``None`` otherwise."""
    t = token.strip().strip(".").strip()
    if len(t) == 2 and t.upper() in STATE_NAMES:
        return t.upper()
    return _STATE_BY_NAME.get(" ".join(t.split()).casefold())


_STATE_ALTERNATION = "|".join(
    sorted(
        [re.escape(n) for n in _STATE_BY_NAME] + [re.escape(a) for a in STATE_NAMES],
        key=len,
        reverse=True,
    )
)
# A state (name or postal abbreviation) as the last word(s) of the text.
_TRAILING_STATE = re.compile(rf"(?:^|[\s,])(?P<state>{_STATE_ALTERNATION})\.?\s*$", re.IGNORECASE)
_TRAILING_COUNTRY = re.compile(
    r"[\s,]*\b(?:u\.?s\.?a?\.?|united states(?: of america)?)\s*$", re.IGNORECASE
)
_BARE_ZIP = re.compile(r"^(?P<zip>\d{5})(?:-\d{4})?$")
_TRAILING_ZIP = re.compile(r"(?:^|[\s,])(?P<zip>\d{5})(?:-\d{4})?\s*$")

# --------------------------------------------------------------------------------------------
# Coordinate literals
# --------------------------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d*)?|\.\d+"
_COORD = (
    rf"(?P<pre{{i}}>[NSEW])?\s*(?P<sign{{i}}>[-+−–])?\s*"
    rf"(?P<deg{{i}}>{_NUM})\s*(?P<dmark{{i}}>°|º|˚|\s?deg(?:rees)?\b)?\s*"
    rf"(?:(?P<min{{i}}>{_NUM})\s*['′’]\s*)?"
    rf"(?:(?P<sec{{i}}>{_NUM})\s*(?:\"|″|”|''|′′)\s*)?"
    rf"(?P<post{{i}}>[NSEW](?![A-Za-z]))?"
)
_LITERAL = re.compile(
    r"^\s*[(\[]?\s*"
    + _COORD.format(i=1)
    + r"\s*(?P<sep>[,;/]|\s)\s*"
    + _COORD.format(i=2)
    + r"\s*[)\]]?\s*$",
    re.IGNORECASE,
)

# Boxes (lat_min, lat_max, lon_min, lon_max) around the United States and its territories,
# used only to tell a swapped "lon, lat" pair from a "lat, lon" one.
_US_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (24.0, 50.0, -125.0, -66.0),  # contiguous states
    (51.0, 72.0, -180.0, -129.0),  # Alaska
    (51.0, 53.5, 172.0, 180.0),  # western Aleutians
    (18.5, 22.5, -161.0, -154.5),  # Hawaii
    (17.5, 18.8, -68.0, -64.5),  # Puerto Rico, U.S. Virgin Islands
    (13.0, 21.0, 144.0, 146.5),  # Guam, Northern Mariana Islands
    (-15.0, -14.0, -171.5, -168.0),  # American Samoa
)


def _in_us(lon: float, lat: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _US_BOXES)


@dataclass(frozen=True)
class _Part:
    value: float
    axis: str | None  # "lat", "lon" or None (no hemisphere letter)
    marked: bool  # had a decimal point, degree sign or hemisphere letter


def _part(m: re.Match[str], i: int) -> _Part | None:
    pre, post = m.group(f"pre{i}"), m.group(f"post{i}")
    if pre and post:
        return None
    hemi = (pre or post or "").upper()
    deg = float(m.group(f"deg{i}"))
    minutes = float(m.group(f"min{i}") or 0.0)
    seconds = float(m.group(f"sec{i}") or 0.0)
    if minutes >= 60 or seconds >= 60:
        raise GeocodeError(
            "coordinates: minutes and seconds must be below 60 (write degrees as 44°01′21″ "
            "or as decimal degrees like 44.0225)"
        )
    value = deg + minutes / 60.0 + seconds / 3600.0
    if m.group(f"sign{i}") in ("-", "−", "–") or hemi in ("S", "W"):
        value = -value
    axis = {"N": "lat", "S": "lat", "E": "lon", "W": "lon"}.get(hemi)
    marked = bool(hemi or m.group(f"dmark{i}") or "." in m.group(f"deg{i}") or m.group(f"min{i}"))
    return _Part(value, axis, marked)


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _parse_literal(text: str) -> tuple[LonLat, str] | None:
    """``(point, note)`` for a coordinate literal, ``None`` when the text is not one."""
    m = _LITERAL.match(text)
    if m is None:
        return None
    a, b = _part(m, 1), _part(m, 2)
    if a is None or b is None:
        return None
    # "44 92" could be anything (house number and street, ZIP fragments): only a comma-like
    # separator or a decimal point / degree sign / hemisphere letter makes it coordinates.
    if m.group("sep").isspace() and not (a.marked or b.marked):
        return None
    note = ""
    if a.axis or b.axis:
        if a.axis and b.axis and a.axis == b.axis:
            kind = "latitudes (N/S)" if a.axis == "lat" else "longitudes (E/W)"
            raise GeocodeError(f"coordinates: both values are {kind}; give one of each")
        first_is_lat = a.axis == "lat" or b.axis == "lon"
        lat, lon = (a.value, b.value) if first_is_lat else (b.value, a.value)
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise GeocodeError(_range_message(lat, lon))
        return LonLat(lon, lat), note
    x, y = a.value, b.value
    as_written = abs(x) <= 90.0 and abs(y) <= 180.0
    swapped = abs(y) <= 90.0 and abs(x) <= 180.0
    if not as_written and not swapped:
        raise GeocodeError(_range_message(x, y))
    if as_written and (not swapped or _in_us(y, x) or not _in_us(x, y)):
        return LonLat(y, x), note
    if not as_written:
        note = (
            f"read as longitude, latitude: {_fmt(x)} cannot be a latitude "
            "(write latitude first: 44.0225, -92.4668)"
        )
    else:
        note = (
            "read as longitude, latitude: written as latitude, longitude the point would lie "
            "outside the United States (write latitude first: 44.0225, -92.4668)"
        )
    return LonLat(x, y), note


def _range_message(lat: float, lon: float) -> str:
    return (
        f"coordinates out of range: {_fmt(lat)}, {_fmt(lon)} (latitude must be within -90..90 "
        "and longitude within -180..180; write latitude first, e.g. 44.0225, -92.4668)"
    )


def parse_latlon(text: str) -> LonLat | None:
    """The point written in ``text`` as ``"lat, lon"``, or ``None`` if the text is not coordinates.

    Accepts ``"44.0225, -92.4668"``, ``"44.0225 -92.4668"``, ``"(44.0225, -92.4668)"``,
    ``"44.0225° N, 92.4668° W"`` and degrees-minutes-seconds (``44°01′21″N 92°28′00″W``).
    A pair given as ``lon, lat`` is swapped back when that is unambiguous (see module docs).

    Raises
    ------
    GeocodeError
        The text is a pair of coordinates but out of range (or two latitudes).
    """
    parsed = _parse_literal(text)
    return None if parsed is None else parsed[0]


# --------------------------------------------------------------------------------------------
# Gazetteer (zipcodes package), indexed once
# --------------------------------------------------------------------------------------------

_CITY_ABBREV = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}


def _city_key(city: str) -> str:
    """Normalised city name: case, dots, hyphens, apostrophes and St/Ft/Mt abbreviations."""
    words = re.sub(r"[.'’`]", "", city.casefold()).replace("-", " ").split()
    return " ".join(_CITY_ABBREV.get(w, w) for w in words)


class _ZipEntry(NamedTuple):  # a tuple of atoms: not tracked by the garbage collector
    lon: float
    lat: float
    city: str
    state: str
    kind: str  # STANDARD, PO BOX, UNIQUE, MILITARY

    @property
    def located(self) -> bool:
        return not (self.lon == 0.0 and self.lat == 0.0)


class _CityEntry(NamedTuple):
    lon: float
    lat: float
    city: str
    state: str
    zip_count: int


@dataclass(frozen=True)
class _Gazetteer:
    zips: dict[str, _ZipEntry]
    cities: dict[tuple[str, str], _CityEntry]


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    """Index the ``zipcodes`` gazetteer once: ZIP → centroid, (city, state) → mean centroid."""
    import zipcodes

    started = time.perf_counter()
    zips: dict[str, _ZipEntry] = {}
    groups: dict[tuple[str, str], list[_ZipEntry]] = {}
    aliases: dict[tuple[str, str], list[_ZipEntry]] = {}
    # filter_by() with no filter returns every entry without keeping zipcodes' own module-level
    # copy (list_all() would keep ~170,000 Python objects alive for the garbage collector).
    for row in zipcodes.filter_by():  # type: ignore[no-untyped-call]  # untyped wrapper
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (TypeError, ValueError):
            lat, lon = 0.0, 0.0
        entry = _ZipEntry(lon, lat, str(row["city"]), str(row["state"]), str(row["zip_code_type"]))
        zips[str(row["zip_code"])] = entry
        if not entry.located:
            continue
        groups.setdefault((_city_key(entry.city), entry.state), []).append(entry)
        for alias in row.get("acceptable_cities") or ():
            aliases.setdefault((_city_key(str(alias)), entry.state), []).append(entry)
    cities: dict[tuple[str, str], _CityEntry] = {}
    for key, entries in [*aliases.items(), *groups.items()]:  # a primary name beats an alias
        standard = [e for e in entries if e.kind == "STANDARD"] or entries
        cities[key] = _CityEntry(
            lon=sum(e.lon for e in standard) / len(standard),
            lat=sum(e.lat for e in standard) / len(standard),
            city=standard[0].city,
            state=standard[0].state,
            zip_count=len(standard),
        )
    log.debug(
        "indexed %d ZIP codes and %d cities in %.2f s",
        len(zips),
        len(cities),
        time.perf_counter() - started,
    )
    return _Gazetteer(zips=zips, cities=cities)


def zip_centroid(zip_code: str) -> GeocodeResult:
    """The centroid of a U.S. ZIP code (``"55902"`` or ``"55902-1234"``), offline.

    Raises
    ------
    GeocodeError
        Not a 5-digit ZIP, not a known ZIP code, or a ZIP without a location (military APO/FPO).
    """
    m = _BARE_ZIP.match(zip_code.strip())
    if m is None:
        raise GeocodeError(_not_a_zip_message(zip_code.strip()))
    zip5 = m.group("zip")
    entry = _gazetteer().zips.get(zip5)
    if entry is None:
        raise GeocodeError(f"ZIP {zip5} is not a known US ZIP code")
    if not entry.located:
        raise GeocodeError(
            f"ZIP {zip5} ({entry.kind.lower()}, {entry.city}, {entry.state}) has no location in "
            "the ZIP gazetteer; give the street address or coordinates"
        )
    return _zip_result(zip5, entry)


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
    abbr = _state_abbr(state)
    if abbr is None:
        raise GeocodeError(f"{state.strip()!r} is not a U.S. state or territory")
    entry = _gazetteer().cities.get((_city_key(city), abbr))
    if entry is None:
        raise GeocodeError(
            f"city {city.strip()!r} is not in the ZIP gazetteer for {abbr}; check the spelling "
            "or give a ZIP code"
        )
    return _city_result(entry)


def _zip_result(
    zip5: str, entry: _ZipEntry, prefix: str = "", stated: str | None = None
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


def _city_result(entry: _CityEntry, prefix: str = "") -> GeocodeResult:
    zips = "1 ZIP centroid" if entry.zip_count == 1 else f"{entry.zip_count} ZIP centroids"
    return GeocodeResult(
        point=LonLat(entry.lon, entry.lat),
        precision=Precision.CITY,
        source=CITY_SOURCE,
        matched=f"{entry.city}, {entry.state}",
        note=(
            f"{prefix}city centroid of {entry.city}, {entry.state} (mean of {zips}) — "
            "check the exact address"
        ),
    )


def _not_a_zip_message(text: str) -> str:
    if text.isdigit() and 3 <= len(text) <= 4:
        return (
            f"{text!r} is not a 5-digit ZIP code; a leading zero may have been lost "
            f"(e.g. by a spreadsheet): try {text.zfill(5)}"
        )
    return f"{text!r} is not a 5-digit ZIP code"


# --------------------------------------------------------------------------------------------
# Offline address parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AddressParts:
    body: str  # the text without country, ZIP code and state
    zip5: str | None
    state: str | None  # postal abbreviation


def _split_tail(text: str) -> _AddressParts:
    """Cheap split of a one-line address: trailing country, ZIP code and state by rules."""
    body = _TRAILING_COUNTRY.sub("", text).strip(" ,")
    zip5: str | None = None
    m = _TRAILING_ZIP.search(body)
    if m:
        zip5 = m.group("zip")
        body = body[: m.start()].strip(" ,")
    state: str | None = None
    sm = _TRAILING_STATE.search(body)
    if sm:
        state = _state_abbr(sm.group("state"))
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
    state = _state_abbr(str(tagged["StateName"])) if tagged.get("StateName") else None
    state = state or tail.state
    zip5 = tail.zip5
    if zip5 is None and tagged.get("ZipCode"):
        zm = _BARE_ZIP.match(str(tagged["ZipCode"]).strip())
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
    cities = _gazetteer().cities
    for start in range(len(words)):
        name = " ".join(words[start:])
        if (_city_key(name), state) in cities:
            return name
    return None


# --------------------------------------------------------------------------------------------
# Online geocoders: pure request builders and response parsers
# --------------------------------------------------------------------------------------------

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


class _Unexpected(Exception):
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
        raise _Unexpected("answered in an unexpected format") from exc
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
        raise _Unexpected("answered in an unexpected format") from exc
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
        raise _Unexpected("answered with coordinates out of range") from exc


# --------------------------------------------------------------------------------------------
# The geocoder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a :class:`Geocoder`'s in-memory cache."""

    hits: int
    misses: int
    size: int
    max_size: int


_Outcome: TypeAlias = GeocodeResult | GeocodeError
"""What the cache holds: a result, or the (deterministic) error for a text."""


class _OnlineFallback(Exception):
    """The online geocoder could not answer; carries why, for the fallback's note."""


def _normalise(text: str) -> str:
    return " ".join(text.split())


class Geocoder:
    """Turns text into points, as configured by :class:`~geo.settings.Settings`.

    Parameters
    ----------
    settings
        ``settings.geocoder`` picks the address geocoder: ``offline`` (default), ``census`` or
        ``ors``; URLs, key and HTTP timeouts come from the same object.
    cache_size
        Entries kept in the in-memory LRU cache (never on disk). 0 disables it.
    http
        HTTP client for the online geocoder (injected in tests); built from settings otherwise.
    clock
        Monotonic clock in seconds (injected in tests).

    Examples
    --------
    >>> g = Geocoder(Settings(geocoder="offline"))
    >>> r = g.geocode("Hampton Inn, Rochester MN 55902")
    >>> r.precision.value, r.matched
    ('zip', '55902 Rochester, MN')
    """

    online_retry_after_s: float = 300.0
    """After the online geocoder failed, use the offline fallback for this long without asking."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        cache_size: int = 10_000,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or get_settings()
        mode = self.settings.geocoder.strip().lower()
        if mode not in GEOCODERS:
            raise ValidationError(
                f"unknown geocoder {self.settings.geocoder!r}: use one of {', '.join(GEOCODERS)} "
                "(setting TRIALREACH_GEOCODER)"
            )
        self._offline_reason = ""
        if mode == "ors" and not self.settings.ors_configured:
            self._offline_reason = (
                "openrouteservice geocoding needs ORS_API_KEY (or a self-hosted ORS_BASE_URL); "
                "located offline"
            )
            log.warning("geocoder 'ors' is not configured (no ORS_API_KEY); using offline")
            mode = "offline"
        self.mode = mode
        self._http = http
        self._clock = clock
        self._cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[str, _Outcome] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._online_down_until = -math.inf
        self._online_down_reason = ""
        if mode != "offline":
            install_log_redaction()

    # ---- public -----------------------------------------------------------------------------

    @property
    def service(self) -> str:
        """Name of the address geocoder in use ("offline", "U.S. Census Geocoder" ...)."""
        return {
            "census": "U.S. Census Geocoder",
            "ors": "openrouteservice geocoder",
        }.get(self.mode, "offline")

    def geocode(self, text: str) -> GeocodeResult:
        """The point for ``text`` (coordinates, ZIP code, or address), with precision and source.

        Raises
        ------
        GeocodeError
            Empty text, out-of-range coordinates, unknown ZIP code, or nothing to locate. The
            message never contains the address.
        """
        if not isinstance(text, str):  # None / NaN from a table, or a ZIP read as a number
            if text is None or (isinstance(text, float) and math.isnan(text)):
                raise GeocodeError("empty address")
            text = str(text)
        key = _normalise(text)
        if not key:
            raise GeocodeError("empty address")
        outcome = self._cache_get(key)
        if outcome is None:
            outcome, cacheable = self._geocode(key)
            if cacheable:
                self._cache_put(key, outcome)
        if isinstance(outcome, GeocodeError):
            log.debug("geocoded 1 address, failed")
            raise GeocodeError(str(outcome))
        log.debug("geocoded 1 address, precision %s", outcome.precision.value)
        return outcome

    def geocode_many(
        self,
        texts: Iterable[str],
        progress: Callable[[int], None] | None = None,
    ) -> list[GeocodeResult | GeocodeError]:
        """Geocode every text; a text that fails gives its :class:`GeocodeError` in its place.

        Never aborts on a bad item. ``progress(n_done)`` is called after each item.
        """
        out: list[GeocodeResult | GeocodeError] = []
        counts: dict[str, int] = {}
        for n, text in enumerate(texts, start=1):
            try:
                result = self.geocode(text)
            except GeocodeError as exc:
                out.append(exc)
                counts["failed"] = counts.get("failed", 0) + 1
            except TrialreachError as exc:  # defensive: any other error of ours becomes the row's
                out.append(GeocodeError(str(exc)))
                counts["failed"] = counts.get("failed", 0) + 1
            else:
                out.append(result)
                counts[result.precision.value] = counts.get(result.precision.value, 0) + 1
            if progress is not None:
                progress(n)
        log.debug(
            "geocoded %d addresses: %s",
            len(out),
            ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
        )
        return out

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache), self._cache_size)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0

    # ---- cache ------------------------------------------------------------------------------

    def _cache_get(self, key: str) -> _Outcome | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                self._misses += 1
                return None
            self._cache.move_to_end(key)
            self._hits += 1
            return hit

    def _cache_put(self, key: str, value: _Outcome) -> None:
        if self._cache_size == 0:
            return
        with self._lock:
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # ---- the work ---------------------------------------------------------------------------

    def _geocode(self, text: str) -> tuple[_Outcome, bool]:
        """``(result or error, cacheable)``: answers after an online failure are not cached."""
        try:
            literal = _parse_literal(text)
            if literal is not None:
                point, note = literal
                result = GeocodeResult(
                    point=point,
                    precision=Precision.COORDINATES,
                    source=COORDINATES_SOURCE,
                    matched=f"{_fmt(point.lat)}, {_fmt(point.lon)}",
                    note=note,
                )
                return result, True
            if _BARE_ZIP.match(text):
                return zip_centroid(text), True
            if text.isdigit():
                return GeocodeError(_not_a_zip_message(text)), True
        except GeocodeError as exc:
            return exc, True
        prefix = self._offline_reason + "; " if self._offline_reason else ""
        cacheable = True
        if self.mode != "offline":
            try:
                online = self._online(text)
            except _OnlineFallback as why:
                prefix = f"{why}; "
                cacheable = False
            else:
                if online is not None:
                    return online, True
                prefix = f"{self.service} found no match; "
        try:
            return self._offline_address(text, prefix), cacheable
        except GeocodeError as exc:
            return GeocodeError(f"{prefix}{exc}"), cacheable

    def _offline_address(self, text: str, prefix: str) -> GeocodeResult:
        """ZIP centroid of the address, else its city centroid; ``prefix`` starts the note."""
        gaz = _gazetteer()
        tail = _split_tail(text)
        zip_problem = ""
        if tail.zip5 is not None:
            entry = gaz.zips.get(tail.zip5)
            if entry is not None and entry.located:
                return _zip_result(tail.zip5, entry, prefix, tail.state)
        city, state, zip5 = _parse_city(text, tail)
        if zip5 is not None:
            entry = gaz.zips.get(zip5)
            if entry is not None and entry.located:
                return _zip_result(zip5, entry, prefix, state)
            zip_problem = (
                f"ZIP {zip5} is not a known US ZIP code"
                if entry is None
                else f"ZIP {zip5} has no location in the ZIP gazetteer"
            )
        if city is not None and state is not None:
            found = gaz.cities[(_city_key(city), state)]
            return _city_result(found, prefix + (f"{zip_problem}; " if zip_problem else ""))
        if zip_problem:
            raise GeocodeError(zip_problem)
        if state is not None:
            raise GeocodeError(
                f"no ZIP code and no known city of {state} found in the address; "
                "add the ZIP code or check the city's spelling"
            )
        raise GeocodeError(
            "could not locate this text offline: give 'lat, lon', a 5-digit ZIP code, or an "
            "address ending in city, state and ZIP"
        )

    def _online(self, text: str) -> GeocodeResult | None:
        """The online geocoder's answer, ``None`` for no match; raises _OnlineFallback."""
        if self._clock() < self._online_down_until:
            raise _OnlineFallback(self._online_down_reason)
        http = self._client()
        try:
            if self.mode == "census":
                url, params = census_request(self.settings.census_base_url, text)
                return parse_census(http.get_json(url, params=params))
            url, params = ors_request(self.settings.ors_base_url, text)
            key = self.settings.ors_api_key
            headers = {"Authorization": key} if key else {}
            return parse_ors(http.get_json(url, params=params, headers=headers))
        except (TrialreachError, _Unexpected) as exc:
            reason = f"{self.service} unavailable ({_first_sentence(exc, self.service)})"
            self._online_down_until = self._clock() + self.online_retry_after_s
            self._online_down_reason = reason
            log.warning("%s; using offline centroids for a while", reason)
            raise _OnlineFallback(reason) from exc

    def _client(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient.from_settings(self.service, self.settings)
        return self._http


def _first_sentence(exc: BaseException, service: str) -> str:
    """The gist of an error message: its first sentence, without the service's name."""
    text = str(exc).strip()
    if text.startswith(service):
        text = text[len(service) :].lstrip(" :")
    # "answered HTTP 400: <body>": the body is the service's text and could echo the query
    text = re.sub(r"^(answered HTTP \d{3}):.*$", r"\1", text, flags=re.DOTALL)
    return re.split(r"(?<=[a-z0-9)])\. (?=[A-Z])", text, maxsplit=1)[0].rstrip(".")


# --------------------------------------------------------------------------------------------
# Privacy: keep addresses out of third-party debug logs
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------


def geocode(text: str, settings: Settings | None = None) -> GeocodeResult:
    """Geocode one text with a fresh :class:`Geocoder` (use a Geocoder for many, for its cache)."""
    return Geocoder(settings, cache_size=0).geocode(text)
