"""U.S. tables for geocoding: the one state table, ZIP and state patterns, boxes around the U.S.

``STATE_NAMES`` is the project's only table of U.S. states and territories (postal abbreviation →
name); :func:`state_abbr` reads either form. The boxes around the United States serve only to
tell a swapped ``lon, lat`` pair from a ``lat, lon`` one (:mod:`geo.geocode.literals`).
"""

from __future__ import annotations

import re

__all__ = ["STATE_NAMES", "in_us", "state_abbr"]

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

STATE_BY_NAME: dict[str, str] = {name.casefold(): abbr for abbr, name in STATE_NAMES.items()}
STATE_BY_NAME.update({"washington dc": "DC", "d.c.": "DC", "virgin islands": "VI"})


def state_abbr(token: str) -> str | None:
    """Postal abbreviation for ``"MN"``, ``"mn"`` or ``"Minnesota"``; ``None`` otherwise."""
    t = token.strip().strip(".").strip()
    if len(t) == 2 and t.upper() in STATE_NAMES:
        return t.upper()
    return STATE_BY_NAME.get(" ".join(t.split()).casefold())


_STATE_ALTERNATION = "|".join(
    sorted(
        [re.escape(n) for n in STATE_BY_NAME] + [re.escape(a) for a in STATE_NAMES],
        key=len,
        reverse=True,
    )
)
# A state (name or postal abbreviation) as the last word(s) of the text.
TRAILING_STATE = re.compile(rf"(?:^|[\s,])(?P<state>{_STATE_ALTERNATION})\.?\s*$", re.IGNORECASE)
TRAILING_COUNTRY = re.compile(
    r"[\s,]*\b(?:u\.?s\.?a?\.?|united states(?: of america)?)\s*$", re.IGNORECASE
)
BARE_ZIP = re.compile(r"^(?P<zip>\d{5})(?:-\d{4})?$")
TRAILING_ZIP = re.compile(r"(?:^|[\s,])(?P<zip>\d{5})(?:-\d{4})?\s*$")

# Boxes (lat_min, lat_max, lon_min, lon_max) around the United States and its territories,
# used only to tell a swapped "lon, lat" pair from a "lat, lon" one.
US_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (24.0, 50.0, -125.0, -66.0),  # contiguous states
    (51.0, 72.0, -180.0, -129.0),  # Alaska
    (51.0, 53.5, 172.0, 180.0),  # western Aleutians
    (18.5, 22.5, -161.0, -154.5),  # Hawaii
    (17.5, 18.8, -68.0, -64.5),  # Puerto Rico, U.S. Virgin Islands
    (13.0, 21.0, 144.0, 146.5),  # Guam, Northern Mariana Islands
    (-15.0, -14.0, -171.5, -168.0),  # American Samoa
)


def in_us(lon: float, lat: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in US_BOXES)
