"""Search ClinicalTrials.gov (API v2 ``/studies``) for trials near a place, privately.

The request carries the condition, the intervention, the wanted study statuses and a generous
straight-line area (``filter.geo=distance(lat,lon,Nmi)``); it follows ``nextPageToken`` through
every page. What leaves the machine is exactly :func:`search_params`:

* never the patient's place: the area's centre is the centre of the 0.1° grid cell holding the
  place (:func:`coarsen`), at most ~7.9 km from it, and the radius is widened by that offset;
* the radius is the farthest any drive of the limit could reach in a straight line
  (:data:`geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`), plus the offset, plus
  :data:`SITE_POINT_SLACK_KM` because the registry's site points are city centres. A study with a
  site that could be within the limit is therefore never filtered out by the area.

Faults (429 with ``Retry-After``, 5xx, timeouts) are retried by the project's HTTP layer
(:class:`geo._http.HttpClient`); a page that is not a search answer (malformed JSON, HTML) is
asked again :data:`MALFORMED_RETRIES` times. A failure on the first page raises; a failure later
returns what was found with ``partial=True`` and the error named.

Study records are public: each one received is cached on disk under
``{cache_dir}/ctgov/studies/NCTxxxxxxxx.json`` (:func:`cached_study`). The query and the place
are never written anywhere.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from geo._http import HttpClient
from geo.errors import NetworkError, TrialreachError, ValidationError
from geo.geodesy import KM_PER_DEG
from geo.routing.base import reach_bound_m
from geo.settings import Settings, get_settings
from geo.types import LonLat
from sites.ctgov import SERVICE, normalize_nct_id, study_nct_id

GRID_DEG = 0.1
"""Size of the grid cell whose centre stands for the patient's place in the request (degrees)."""

SITE_POINT_SLACK_KM = 15.0
"""How far a ClinicalTrials.gov site point (a city centre) may be from the site itself (km)."""

KM_PER_MILE = 1.609344

DEFAULT_STATUSES: tuple[str, ...] = ("RECRUITING", "NOT_YET_RECRUITING")
"""Study statuses searched by default: studies taking, or about to take, patients."""

STUDY_STATUSES = frozenset(
    {
        "RECRUITING",
        "NOT_YET_RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "ENROLLING_BY_INVITATION",
        "COMPLETED",
        "SUSPENDED",
        "TERMINATED",
        "WITHDRAWN",
        "UNKNOWN",
        "AVAILABLE",
        "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE",
        "APPROVED_FOR_MARKETING",
        "WITHHELD",
    }
)
"""Values ClinicalTrials.gov accepts in ``filter.overallStatus``."""

FIELDS = (
    "IdentificationModule",
    "StatusModule",
    "DesignModule",
    "ConditionsModule",
    "ArmsInterventionsModule",
    "ContactsLocationsModule",
)
"""Parts of each record asked for (``fields``): what the ranking reads, not the full record."""

PAGE_SIZE = 100
MAX_PAGES = 50
MALFORMED_RETRIES = 2


@dataclass(frozen=True)
class TrialQuery:
    """What the patient searches for.

    Attributes
    ----------
    condition
        Condition or disease (``query.cond``), e.g. ``"lupus"``.
    intervention
        Treatment (``query.intr``), e.g. ``"CAR T"``; may be empty.
    statuses
        Study statuses (``filter.overallStatus``), ClinicalTrials.gov spelling.
    max_drive_min
        The drive-time limit in minutes; sets the straight-line radius of the search.
    """

    condition: str = ""
    intervention: str = ""
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    max_drive_min: float = 120.0

    def __post_init__(self) -> None:
        problems = []
        if not self.condition.strip() and not self.intervention.strip():
            problems.append("give a condition (e.g. lupus) or an intervention (e.g. CAR T)")
        bad = [s for s in self.statuses if s.strip().upper() not in STUDY_STATUSES]
        if bad:
            problems.append(
                f"unknown study status {', '.join(map(repr, bad))}; use e.g. RECRUITING, "
                "NOT_YET_RECRUITING, ACTIVE_NOT_RECRUITING, ENROLLING_BY_INVITATION"
            )
        if not self.statuses:
            problems.append("give at least one study status")
        if not (math.isfinite(self.max_drive_min) and 0 < self.max_drive_min <= 600):
            problems.append(
                f"the drive-time limit must be between 1 and 600 minutes, got {self.max_drive_min}"
            )
        if problems:
            raise ValidationError("invalid trial search", problems)


def parse_statuses(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"recruiting, not_yet_recruiting"`` -> ``("RECRUITING", "NOT_YET_RECRUITING")``."""
    if text is None:
        return DEFAULT_STATUSES
    parts = text.split(",") if isinstance(text, str) else list(text)
    out = tuple(dict.fromkeys(p.strip().upper().replace(" ", "_") for p in parts if p.strip()))
    return out or DEFAULT_STATUSES


def coarsen(place: LonLat, cell_deg: float = GRID_DEG) -> tuple[LonLat, float]:
    """The centre of the grid cell holding ``place``, and the farthest a point of it can be.

    Parameters
    ----------
    place
        The patient's place (lon, lat in degrees).
    cell_deg
        Grid cell size in degrees.

    Returns
    -------
    centre, offset_km
        The cell centre (rounded to the grid, so it says nothing finer about the place) and the
        cell's half-diagonal in km (an upper bound of the distance from the place to it).
    """
    lon0 = math.floor(place.lon / cell_deg) * cell_deg
    lat0 = math.floor(place.lat / cell_deg) * cell_deg
    centre = LonLat(
        round(min(lon0 + cell_deg / 2, 180.0), 4), round(min(lat0 + cell_deg / 2, 90.0), 4)
    )
    # Longitude degrees are widest at the cell's edge nearest the equator.
    equator_lat = min(abs(lat0), abs(lat0 + cell_deg))
    half_lat_km = cell_deg / 2 * KM_PER_DEG
    half_lon_km = half_lat_km * math.cos(math.radians(equator_lat))
    return centre, math.hypot(half_lat_km, half_lon_km)


def search_radius_mi(max_drive_min: float, offset_km: float) -> int:
    """Straight-line radius (whole miles, rounded up) that no drive of the limit can leave.

    The limit at :data:`~geo.routing.base.MAX_PLAUSIBLE_SPEED_KMH`, plus the coarsening offset,
    plus :data:`SITE_POINT_SLACK_KM` (site points are city centres).
    """
    reach_km = reach_bound_m(max_drive_min * 60.0) / 1000.0
    return math.ceil((reach_km + offset_km + SITE_POINT_SLACK_KM) / KM_PER_MILE)


def search_params(query: TrialQuery, place: LonLat, page_size: int = PAGE_SIZE) -> dict[str, str]:
    """The query string of the first page: everything that leaves the machine.

    Only the coarsened point (:func:`coarsen`) is sent, never ``place`` itself; no address text.
    """
    centre, offset_km = coarsen(place)
    radius = search_radius_mi(query.max_drive_min, offset_km)
    params = {
        "format": "json",
        "filter.geo": f"distance({centre.lat:.2f},{centre.lon:.2f},{radius}mi)",
        "filter.overallStatus": ",".join(s.strip().upper() for s in query.statuses),
        "fields": ",".join(FIELDS),
        "pageSize": str(page_size),
        "countTotal": "true",
    }
    if query.condition.strip():
        params["query.cond"] = query.condition.strip()
    if query.intervention.strip():
        params["query.intr"] = query.intervention.strip()
    return params


@dataclass(frozen=True, eq=False)
class SearchResult:
    """What a search found.

    Attributes
    ----------
    studies
        Study records in the order ClinicalTrials.gov returned them (unique by NCT id).
    pages
        Pages read.
    total_count
        ``totalCount`` reported by ClinicalTrials.gov, or None.
    partial
        True when a later page failed: ``studies`` holds what earlier pages gave.
    error
        What failed (empty when nothing did).
    sent
        The query parameters of the first page (what left the machine; later pages add only
        ``pageToken``).
    retrieved
        Date of the search.
    """

    studies: tuple[Mapping[str, Any], ...]
    pages: int
    total_count: int | None
    partial: bool
    error: str
    sent: Mapping[str, str] = field(default_factory=dict)
    retrieved: date = field(default_factory=date.today)

    def summary(self) -> str:
        """One line: how many studies, from how many pages, and whether the list is complete."""
        text = f"{len(self.studies)} studies from {self.pages} page(s) of ClinicalTrials.gov"
        if self.total_count is not None and self.total_count != len(self.studies):
            text += f" (it reports {self.total_count})"
        if self.partial:
            text += f"; PARTIAL — the search stopped early: {self.error}"
        return text


def _page(http: HttpClient, url: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of results, asked again when the answer is not a search answer."""
    last = ""
    for _ in range(MALFORMED_RETRIES + 1):
        try:
            data = http.get_json(url, params=dict(params))
        except NetworkError as exc:
            if "not JSON" not in str(exc):
                raise
            last = "something that is not JSON"
            continue
        if isinstance(data, dict) and isinstance(data.get("studies"), list):
            return data
        last = "JSON that is not a list of studies (no 'studies')"
    raise NetworkError(
        f"{SERVICE} answered with {last} {MALFORMED_RETRIES + 1} times; try again later, or "
        "check ctgov_base_url in the settings (it should end in /api/v2)."
    )


def search_studies(
    query: TrialQuery,
    place: LonLat,
    settings: Settings | None = None,
    *,
    client: HttpClient | None = None,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
) -> SearchResult:
    """Every study matching ``query`` with a site in a generous area around ``place``.

    Parameters
    ----------
    query
        Condition, intervention, statuses and drive-time limit.
    place
        The patient's place; only its 0.1° grid cell centre is sent (:func:`search_params`).
    settings
        API location (``ctgov_base_url``), HTTP policy and cache directory.
    client
        HTTP client to use (tests); default one built from ``settings``.
    page_size, max_pages
        Studies per page, and the most pages read (the result says partial when cut).

    Raises
    ------
    NetworkError
        The first page could not be read (the message names the fault).
    """
    s = settings or get_settings()
    http = client or HttpClient.from_settings(SERVICE, s, headers={"Accept": "application/json"})
    url = f"{s.ctgov_base_url.rstrip('/')}/studies"
    params = search_params(query, place, page_size)
    studies: dict[str, Mapping[str, Any]] = {}
    total: int | None = None
    token = ""
    pages = 0
    error = ""
    while True:
        page_params = {**params, "pageToken": token} if token else params
        try:
            data = _page(http, url, page_params)
        except TrialreachError as exc:
            if pages == 0:
                raise type(exc)(f"Could not search {SERVICE}. {exc}") from exc
            error = f"page {pages + 1} failed: {exc}"
            break
        pages += 1
        if total is None and isinstance(data.get("totalCount"), int):
            total = int(data["totalCount"])
        for study in data["studies"]:
            if not isinstance(study, Mapping):
                continue
            try:
                nct = study_nct_id(study)
            except ValidationError:
                continue
            studies.setdefault(nct, study)
        _cache_studies(data["studies"], s)
        token = str(data.get("nextPageToken") or "")
        if not token:
            break
        if pages >= max_pages:
            error = f"stopped after {max_pages} pages ({len(studies)} studies); narrow the search"
            break
    return SearchResult(
        studies=tuple(studies.values()),
        pages=pages,
        total_count=total,
        partial=bool(error),
        error=error,
        sent=params,
    )


# --- cache of public study records ------------------------------------------------------------
def study_cache_dir(settings: Settings | None = None) -> Path:
    """Where study records are cached (``{cache_dir}/ctgov/studies``)."""
    return Path((settings or get_settings()).cache_dir) / "ctgov" / "studies"


def _cache_studies(studies: Sequence[Any], settings: Settings) -> None:
    """Write each record to ``NCTxxxxxxxx.json`` (atomically); a failing disk is not an error."""
    folder = study_cache_dir(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    for study in studies:
        if not isinstance(study, Mapping):
            continue
        try:
            nct = study_nct_id(study)
        except ValidationError:
            continue
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(study, fh)
            os.replace(tmp, folder / f"{nct}.json")
        except OSError:
            continue


def cached_study(nct_id: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """A study record cached by an earlier search (the parts in :data:`FIELDS`), or None."""
    path = study_cache_dir(settings) / f"{normalize_nct_id(nct_id)}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
