"""What counts as lodging: the kinds, the hospitality houses, eligibility notes, the columns.

The extraction rule (version :data:`EXTRACT_VERSION`) is described in :mod:`geo.lodging`;
:func:`classify` applies it to one OSM feature's tags. Eligibility notes never filter and never
guess about a person: they say who a house serves (:data:`ELIGIBILITY`) and, for a rule whose
patients are known not to belong to that group (:data:`RULE_POPULATIONS`), that they do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ELIGIBILITY",
    "EXTRACT_VERSION",
    "HOSPITALITY_KIND",
    "HOSPITALITY_NAMES",
    "KINDS",
    "KIND_LABELS",
    "LODGING_COLUMNS",
    "OSM_NOTICE",
    "RULE_POPULATIONS",
    "SOURCE_OSM",
    "TOURISM_KINDS",
    "Eligibility",
    "RulePopulation",
    "classify",
    "eligibility_group",
    "eligibility_note",
    "is_hospitality_name",
    "squash_name",
]

EXTRACT_VERSION = 3
"""Bumped when the extraction rule changes; cached extracts of another version are redone
(2: unnamed places labelled by kind and street, not "(unnamed hotel)"; 3: places sharing a
street label add their coordinates)."""

TOURISM_KINDS = ("hotel", "motel", "guest_house", "hostel", "apartment", "chalet")
HOSPITALITY_KIND = "hospitality_house"
KINDS = (*TOURISM_KINDS, HOSPITALITY_KIND)
"""Every ``kind`` a lodging row can have."""

KIND_LABELS: dict[str, str] = {
    "hotel": "hotel",
    "motel": "motel",
    "guest_house": "guest house",
    "hostel": "hostel",
    "apartment": "apartment",
    "chalet": "chalet",
    HOSPITALITY_KIND: "hospitality house",
}

HOSPITALITY_NAMES = (
    "hope lodge",
    "ronald mcdonald house",
    "fisher house",
    "hospitality house",
    "family house",
    "patient house",
    "healing house",
    "hospital lodge",
)
"""Name fragments (case-insensitive, spaces/punctuation ignored) of patient/family houses."""

SOCIAL_FACILITY_FOR = frozenset({"patient", "patients", "ill", "family", "families"})
"""``social_facility:for`` values that make an ``amenity=social_facility`` a hospitality house."""

_NOT_LODGING_KEYS = ("highway", "railway", "shop", "office", "craft", "public_transport")
_NOT_LODGING_AMENITIES = frozenset(
    {
        "restaurant",
        "cafe",
        "fast_food",
        "bar",
        "pub",
        "parking",
        "fuel",
        "bank",
        "pharmacy",
        "place_of_worship",
        "school",
        "clinic",
        "doctors",
        "hospital",
        "dentist",
    }
)

OSM_NOTICE = "OpenStreetMap lodging data is incomplete and varies by area"
"""Show this wherever OSM lodging is listed."""

SOURCE_OSM = "OpenStreetMap"

LODGING_COLUMNS = [
    "osm_id",
    "kind",
    "name",
    "address",
    "city",
    "postcode",
    "website",
    "phone",
    "eligibility_note",
    "source",
    "data_date",
]
"""Columns of an extracted lodging frame, in order, before ``geometry``."""


@dataclass(frozen=True)
class Eligibility:
    """Who may stay at a kind of house, matched by name fragments."""

    names: tuple[str, ...]
    group: str
    """Short key of who is served (``cancer``, ``children``, ``military``)."""
    note: str


ELIGIBILITY: tuple[Eligibility, ...] = (
    Eligibility(
        names=("hope lodge",),
        group="cancer",
        note=(
            "American Cancer Society Hope Lodge: free lodging for people in cancer treatment and "
            "a caregiver only; stays are arranged by referral — ask the lodge"
        ),
    ),
    Eligibility(
        names=("ronald mcdonald house",),
        group="children",
        note=(
            "Ronald McDonald House: for families of children (usually under 18–21) in treatment "
            "nearby; ask the house about eligibility"
        ),
    ),
    Eligibility(
        names=("fisher house",),
        group="military",
        note=(
            "Fisher House: for families of military members and veterans treated at a "
            "military or VA medical centre; ask the house about eligibility"
        ),
    ),
)

GENERIC_HOSPITALITY_NOTE = (
    "hospitality house: usually for patients of nearby hospitals and their families; "
    "ask about eligibility, referral and availability"
)


@dataclass(frozen=True)
class RulePopulation:
    """Whom a trial rule enrols, to say where a house's restriction excludes them."""

    description: str
    not_in_groups: tuple[str, ...]


RULE_POPULATIONS: dict[str, RulePopulation] = {
    "resolution": RulePopulation(
        description="RESOLUTION patients have lupus, myositis or systemic sclerosis, not cancer",
        not_in_groups=("cancer",),
    ),
}
"""Rule name → the patients it enrols (only where it is published and relevant to a house)."""


def squash_name(text: str) -> str:
    """Lower case, letters and digits only (so 'Ronald McDonald-House' matches)."""
    return re.sub(r"[^a-z0-9]+", "", text.casefold())


_HOSPITALITY_SQUASHED = tuple(squash_name(n) for n in HOSPITALITY_NAMES)


def is_hospitality_name(text: str) -> bool:
    """Whether ``text`` names a patient/family hospitality house (see :data:`HOSPITALITY_NAMES`)."""
    s = squash_name(text)
    return bool(s) and any(n in s for n in _HOSPITALITY_SQUASHED)


def eligibility_note(name: str, kind: str) -> str:
    """The eligibility note for a place (empty for ordinary lodging)."""
    s = squash_name(name)
    for e in ELIGIBILITY:
        if any(squash_name(n) in s for n in e.names):
            return e.note
    return GENERIC_HOSPITALITY_NOTE if kind == HOSPITALITY_KIND else ""


def eligibility_group(name: str) -> str:
    """``cancer``/``children``/``military`` when the name shows a restricted house, else ""."""
    s = squash_name(name)
    return next((e.group for e in ELIGIBILITY if any(squash_name(n) in s for n in e.names)), "")


def classify(tags: dict[str, str]) -> str | None:
    """The lodging ``kind`` of an OSM feature's tags, or None when it is not lodging."""
    name_text = " ".join(tags.get(k, "") for k in ("name", "operator", "brand", "official_name"))
    amenity = tags.get("amenity", "")
    if amenity == "social_facility":
        targets = {v.strip().lower() for v in tags.get("social_facility:for", "").split(";")}
        if targets & SOCIAL_FACILITY_FOR:
            return HOSPITALITY_KIND
    if is_hospitality_name(name_text):
        excluded = any(k in tags for k in _NOT_LODGING_KEYS) or amenity in _NOT_LODGING_AMENITIES
        if not excluded:
            return HOSPITALITY_KIND
    tourism = tags.get("tourism", "")
    if tourism in TOURISM_KINDS:
        return tourism
    return None
