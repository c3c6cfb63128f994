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

Public functions: :func:`fetch_study`, :func:`import_sites`, :func:`write_sites_csv`; the record
parsing (:func:`study_sites`, :func:`normalize_nct_id`, :data:`SITE_COLUMNS` …) lives in
:mod:`sites.ctgov_records` and is importable from here too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo._http import HttpClient
from geo.errors import NetworkError, NotFoundError
from geo.export import write_csv
from geo.settings import Settings, get_settings
from sites.ctgov_records import (
    ACTIVE_STATUSES,
    SERVICE,
    SITE_COLUMNS,
    _module,
    _overall_status,
    normalize_nct_id,
    study_locations,
    study_nct_id,
    study_sites,
    study_title,
)

__all__ = [
    "ACTIVE_STATUSES",
    "SERVICE",
    "SITE_COLUMNS",
    "ImportResult",
    "fetch_study",
    "import_sites",
    "normalize_nct_id",
    "study_locations",
    "study_nct_id",
    "study_sites",
    "study_title",
    "write_sites_csv",
]


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
