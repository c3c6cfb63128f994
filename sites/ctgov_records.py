"""Read ClinicalTrials.gov study records (API v2): identifiers, titles, locations, site tables.

The parsing behind :mod:`sites.ctgov` (which fetches a study and imports its sites) and
:mod:`sites.trials.records` (which reads every study a search found). A study's sites are in
``protocolSection.contactsLocationsModule.locations[]``; each location has ``facility``,
``city``, ``state``, ``zip``, ``country``, ``status`` and, usually, ``geoPoint {lat, lon}`` — the
centre of the site's *city*, not the hospital building, so every row with a point says
``coord_precision`` ``"city"``. ClinicalTrials.gov publishes no street addresses: ``address``
stays empty. A location without a usable point is kept with NaN coordinates and a ``note``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import ValidationError
from geo.geocode.us import STATE_NAMES
from sites.registry import SCHEMA_COLUMNS

SERVICE = "ClinicalTrials.gov"

ACTIVE_STATUSES: frozenset[str] = frozenset(
    {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION"}
)
"""Site statuses kept by default: the site is, or will be, treating study patients."""

SITE_COLUMNS: tuple[str, ...] = (
    *SCHEMA_COLUMNS,
    "lat",
    "lon",
    "source",
    "coord_precision",
    "note",
)
"""Columns of an imported site table, in file order (the project's site schema plus extras)."""

_NCT_RE = re.compile(r"^NCT\d{8}$", re.IGNORECASE)

# ClinicalTrials.gov spells US states out ("Minnesota"); the project's site files use USPS codes.
_US_STATE_CODES: dict[str, str] = {
    **{name.lower(): code for code, name in STATE_NAMES.items()},
    "virgin islands": "VI",
}
_US_COUNTRY_NAMES = frozenset({"united states", "united states of america", "usa", "us"})


def normalize_nct_id(nct_id: str) -> str:
    """``" nct07085104 "`` -> ``"NCT07085104"``; anything else raises :class:`ValidationError`."""
    text = nct_id.strip() if isinstance(nct_id, str) else ""
    if not _NCT_RE.fullmatch(text):
        raise ValidationError(
            f"{nct_id!r} is not a ClinicalTrials.gov study number: expected 'NCT' followed by "
            "8 digits, e.g. NCT07085104 (it is shown on the study's page)."
        )
    return text.upper()


def _protocol(study: Mapping[str, Any]) -> Mapping[str, Any]:
    protocol = study.get("protocolSection")
    if not isinstance(protocol, Mapping):
        raise ValidationError("not a ClinicalTrials.gov study record: no 'protocolSection'")
    return protocol


def _module(study: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    module = _protocol(study).get(name)
    return module if isinstance(module, Mapping) else {}


def study_nct_id(study: Mapping[str, Any]) -> str:
    """The study's NCT number from ``identificationModule.nctId``."""
    nct = _module(study, "identificationModule").get("nctId")
    if not isinstance(nct, str) or not nct:
        raise ValidationError(
            "not a ClinicalTrials.gov study record: no identificationModule.nctId"
        )
    return normalize_nct_id(nct)


def study_title(study: Mapping[str, Any]) -> str:
    """The study's brief title (``identificationModule.briefTitle``), or ``""``."""
    return str(_module(study, "identificationModule").get("briefTitle") or "")


def study_locations(study: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every location listed by the study, in ClinicalTrials.gov order."""
    locations = _module(study, "contactsLocationsModule").get("locations") or []
    if not isinstance(locations, list):
        raise ValidationError("contactsLocationsModule.locations is not a list")
    return [loc for loc in locations if isinstance(loc, Mapping)]


def _overall_status(study: Mapping[str, Any]) -> str:
    return str(_module(study, "statusModule").get("overallStatus") or "").strip().upper()


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as stripped text, missing values as ``""``."""
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    values = frame[column].astype(object).where(frame[column].notna(), "")
    return values.astype(str).str.strip().astype(object)


def _number(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _add_note(notes: pd.Series, where: pd.Series, text: str | pd.Series) -> pd.Series:
    joined = notes.where(notes == "", notes + "; ") + text
    return joined.where(where, notes)


def _site_frame(
    locations: list[Mapping[str, Any]], nct: str, overall_status: str, retrieved: date
) -> pd.DataFrame:
    """Every location as a row of the site schema (no filtering)."""
    n = len(locations)
    raw = (
        pd.json_normalize([dict(loc) for loc in locations])
        if n
        else pd.DataFrame(index=pd.RangeIndex(0))
    )
    raw.index = pd.RangeIndex(n)
    notes = pd.Series("", index=raw.index, dtype=object)

    facility = _text(raw, "facility")
    city = _text(raw, "city")
    no_name = facility == ""
    facility = facility.where(~no_name, "Unnamed site in " + city.where(city != "", "unknown city"))
    notes = _add_note(notes, no_name, "ClinicalTrials.gov gives no facility name")

    country = _text(raw, "country")
    state = _text(raw, "state")
    is_us = country.str.lower().isin(_US_COUNTRY_NAMES)
    state_code = state.str.lower().map(_US_STATE_CODES)
    state = state.where(~(is_us & state_code.notna()), state_code).astype(object)

    status = _text(raw, "status").str.upper()
    no_status = status == ""
    if overall_status:
        status = status.where(~no_status, overall_status)
        notes = _add_note(
            notes,
            no_status,
            f"no site status on ClinicalTrials.gov; the study's status "
            f"({overall_status.lower()}) is used",
        )
    else:
        status = status.where(~no_status, "UNKNOWN")
        notes = _add_note(notes, no_status, "no site status on ClinicalTrials.gov")

    raw_lat = raw["geoPoint.lat"] if "geoPoint.lat" in raw else pd.Series(None, index=raw.index)
    raw_lon = raw["geoPoint.lon"] if "geoPoint.lon" in raw else pd.Series(None, index=raw.index)
    has_point = raw_lat.notna() & raw_lon.notna()
    lat = _number(raw, "geoPoint.lat")
    lon = _number(raw, "geoPoint.lon")
    usable = has_point & lat.between(-90.0, 90.0) & lon.between(-180.0, 180.0)
    notes = _add_note(
        notes,
        ~has_point,
        "no coordinates on ClinicalTrials.gov: geocode it from city/state/ZIP or add lat/lon",
    )
    notes = _add_note(
        notes,
        has_point & ~usable,
        "ClinicalTrials.gov coordinates unusable (lat "
        + raw_lat.astype(str)
        + ", lon "
        + raw_lon.astype(str)
        + "): geocode it from city/state/ZIP or add lat/lon",
    )
    lat = lat.where(usable)
    lon = lon.where(usable)

    return pd.DataFrame(
        {
            "site_id": [f"{nct}-{i:03d}" for i in range(1, n + 1)],
            "name": facility,
            "institution": facility,
            "address": "",
            "city": city,
            "state": state,
            "zip": _text(raw, "zip"),
            "country": country,
            "status": status.str.lower(),
            "lat": lat,
            "lon": lon,
            "source": f"ClinicalTrials.gov {nct}, retrieved {retrieved.isoformat()}",
            "coord_precision": pd.Series("city", index=raw.index).where(usable, ""),
            "note": notes,
        },
        index=raw.index,
        columns=list(SITE_COLUMNS),
    )


def study_sites(
    study: Mapping[str, Any],
    statuses: Collection[str] | None = ACTIVE_STATUSES,
    *,
    retrieved: date | None = None,
) -> pd.DataFrame:
    """A study's sites as a table of the project's site schema.

    Parameters
    ----------
    study
        A study record as returned by :func:`fetch_study`.
    statuses
        Site statuses to keep (ClinicalTrials.gov spelling, any case); ``None`` keeps every
        site. Default: :data:`ACTIVE_STATUSES`. A location without its own status takes the
        study's overall status (and says so in ``note``).
    retrieved
        Date written into ``source`` (default: today).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SITE_COLUMNS`, one row per kept location in ClinicalTrials.gov order,
        index 0..n-1. ``site_id`` is ``NCTxxxxxxxx-nnn`` numbered over *all* locations, so a
        site keeps its id whether or not others are filtered out. ``lat``/``lon`` are NaN (with
        a ``note``) where ClinicalTrials.gov gives no usable point; ``coord_precision`` is
        ``"city"`` where it does, because its points are city centres.
    """
    nct = study_nct_id(study)
    frame = _site_frame(
        study_locations(study), nct, _overall_status(study), retrieved or date.today()
    )
    if statuses is not None:
        wanted = {s.strip().lower() for s in statuses}
        frame = frame[frame["status"].isin(wanted)].reset_index(drop=True)
    return frame
