"""Import a trial's sites from ClinicalTrials.gov (API v2).

``GET {Settings.ctgov_base_url}/studies/{nct_id}`` returns one study record. Its sites are in
``protocolSection.contactsLocationsModule.locations[]``; each location has ``facility``, ``city``,
``state``, ``zip``, ``country``, ``status`` (``RECRUITING``, ``COMPLETED`` ...) and, usually,
``geoPoint {lat, lon}``.

Two facts about that record shape what this module returns:

* ClinicalTrials.gov publishes no street addresses, only facility, city, state and ZIP, so the
  ``address`` column stays empty.
* ``geoPoint`` is the centre of the site's *city* (ClinicalTrials.gov geocodes locations by city),
  not the hospital building. Every row says so in ``coord_precision`` (``"city"``); for a verdict
  near the limit, check the exact site point.

A location without a usable ``geoPoint`` is kept with NaN coordinates and a ``note``; nothing is
dropped silently. Only recruiting or active sites are kept unless the caller asks for all.

Public functions: :func:`fetch_study`, :func:`study_sites`, :func:`import_sites`,
:func:`write_sites_csv`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo._http import HttpClient
from geo.errors import NetworkError, NotFoundError, ValidationError
from geo.export import write_csv
from geo.geocode.us import STATE_NAMES
from geo.settings import Settings, get_settings
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


def fetch_study(
    nct_id: str, settings: Settings | None = None, client: HttpClient | None = None
) -> dict[str, Any]:
    """Read one study record from the ClinicalTrials.gov API v2.

    Parameters
    ----------
    nct_id
        Study number, ``NCT`` and 8 digits (case and surrounding spaces ignored).
    settings
        Where the API lives (``ctgov_base_url``) and the HTTP timeout/retry policy.
    client
        An HTTP client to use instead of one built from ``settings`` (tests, shared sessions).

    Returns
    -------
    dict
        The study record as ClinicalTrials.gov sends it (``protocolSection`` ...).

    Raises
    ------
    ValidationError
        The id is malformed (checked before anything is sent).
    NotFoundError
        ClinicalTrials.gov has no study with this number (HTTP 404).
    NetworkError
        The service could not be reached, timed out or kept failing after retries, or it
        answered with the record of a different study.
    """
    nct = normalize_nct_id(nct_id)
    s = settings or get_settings()
    http = client or HttpClient.from_settings(SERVICE, s, headers={"Accept": "application/json"})
    url = f"{s.ctgov_base_url.rstrip('/')}/studies/{nct}"
    try:
        data = http.get_json(url)
    except NotFoundError as exc:
        raise NotFoundError(
            f"{nct} was not found on ClinicalTrials.gov. Check the study number: it is 'NCT' "
            "and 8 digits, as shown at the top of the study's page."
        ) from exc
    except NetworkError as exc:
        raise type(exc)(f"Could not read {nct} from ClinicalTrials.gov. {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("protocolSection"), dict):
        raise NetworkError(
            f"ClinicalTrials.gov answered {nct} with a document that is not a study record "
            "(no 'protocolSection'). Check ctgov_base_url in the settings (it should end in "
            "/api/v2)."
        )
    _check_same_study(nct, data)
    return data


def _check_same_study(nct: str, study: Mapping[str, Any]) -> None:
    """Refuse a record of another study than the one asked for (a proxy, cache or mirror may
    answer with the wrong one); an obsolete id listed in ``nctIdAliases`` is the same study."""
    ident = _module(study, "identificationModule")
    answered = str(ident.get("nctId", "")).strip().upper()
    aliases = {str(a).strip().upper() for a in ident.get("nctIdAliases", []) or []}
    if answered != nct and nct not in aliases:
        raise NetworkError(
            f"ClinicalTrials.gov answered the request for {nct} with the record of a different "
            f"study ({answered or 'no study number'}); it was refused. Try again later, or "
            "check ctgov_base_url in the settings."
        )


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


@dataclass(frozen=True, eq=False)
class ImportResult:
    """The sites of one study imported from ClinicalTrials.gov.

    Attributes
    ----------
    nct_id
        Study number, upper case.
    title
        The study's brief title.
    sites
        Kept sites (:data:`SITE_COLUMNS`).
    n_total
        Locations listed by the study.
    n_kept
        Rows in ``sites``.
    n_without_coordinates
        Kept sites without a usable point (NaN lat/lon, explained in ``note``).
    retrieved
        Date the record was read.
    filtered_by_status
        Status (lower case) -> number of sites left out because of it.
    """

    nct_id: str
    title: str
    sites: pd.DataFrame
    n_total: int
    n_kept: int
    n_without_coordinates: int
    retrieved: date
    filtered_by_status: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_filtered(self) -> int:
        """Locations left out because of their status."""
        return self.n_total - self.n_kept

    def summary(self) -> str:
        """One paragraph a coordinator can read: what was kept, what was left out and why."""
        parts = [f"{self.nct_id} ({self.title}): {self.n_kept} of {self.n_total} sites kept"]
        if self.n_filtered:
            parts.append(
                f"{self.n_filtered} left out ({_status_counts(self.filtered_by_status)}; "
                "use --all to keep them)"
            )
        if self.n_without_coordinates:
            parts.append(
                f"{self.n_without_coordinates} without coordinates on ClinicalTrials.gov "
                "(geocode from city/ZIP or add lat/lon)"
            )
        text = "; ".join(parts) + "."
        return (
            text + " Site points are city centres from ClinicalTrials.gov, not the buildings; "
            f"retrieved {self.retrieved.isoformat()}."
        )


def _status_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()))


def import_sites(
    nct_id: str, include_all: bool = False, settings: Settings | None = None
) -> ImportResult:
    """Read a study from ClinicalTrials.gov and return its recruiting/active sites.

    Parameters
    ----------
    nct_id
        Study number, e.g. ``"NCT07085104"``.
    include_all
        Keep every site whatever its status (completed, withdrawn ...).
    settings
        API location and HTTP policy; default from the environment.

    Raises
    ------
    ValidationError
        Malformed study number.
    NotFoundError
        Unknown study (HTTP 404), a study that lists no locations, or no site left after
        filtering by status (the message says how many were left out and why).
    NetworkError
        ClinicalTrials.gov unreachable, timed out, or failing after retries.
    """
    nct = normalize_nct_id(nct_id)
    retrieved = date.today()
    study = fetch_study(nct, settings=settings)
    title = study_title(study)
    locations = study_locations(study)
    if not locations:
        overall = _overall_status(study).lower().replace("_", " ") or "not given"
        raise NotFoundError(
            f"{nct} lists no locations yet on ClinicalTrials.gov (study status: {overall}). "
            "Sites are usually posted when recruitment opens: try again later, or give the "
            "sites as a CSV file."
        )
    all_sites = study_sites(study, statuses=None, retrieved=retrieved)
    keep = np.ones(len(all_sites), dtype=bool)
    if not include_all:
        keep = all_sites["status"].isin({s.lower() for s in ACTIVE_STATUSES}).to_numpy()
    sites = all_sites[keep].reset_index(drop=True)
    filtered = dict(Counter(all_sites.loc[~keep, "status"].astype(str)))
    if sites.empty:
        raise NotFoundError(
            f"{nct} has no recruiting or active site: all {len(all_sites)} listed sites were "
            f"left out by status ({_status_counts(filtered)}). Use --all (include_all=True) "
            "to import them anyway."
        )
    return ImportResult(
        nct_id=nct,
        title=title,
        sites=sites,
        n_total=len(all_sites),
        n_kept=len(sites),
        n_without_coordinates=int(sites["lat"].isna().sum()),
        retrieved=retrieved,
        filtered_by_status=filtered,
    )


def write_sites_csv(result: ImportResult, path: str | Path) -> Path:
    """Write the imported sites as a site CSV (columns :data:`SITE_COLUMNS`, UTF-8).

    Coordinates are written with 6 decimals (about 0.1 m); missing ones as empty cells. ZIP
    codes are written as text, leading zeros kept. Returns the path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(result.sites.loc[:, list(SITE_COLUMNS)], out, float_format="%.6f")
    return out
