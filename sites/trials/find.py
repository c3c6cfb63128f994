"""One call for the faces (CLI, app): search ClinicalTrials.gov, then rank by drive time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from geo._http import HttpClient
from geo.routing.base import Router
from geo.rules import ProximityRule, get_rule
from geo.settings import Settings, get_settings
from geo.types import LonLat
from sites.trials.rank import TrialRanking, rank_trials
from sites.trials.search import GRID_DEG, PAGE_SIZE, SearchResult, TrialQuery, search_studies


def chosen_limit(max_drive_min: float = 120.0, margin_min: float = 10.0) -> ProximityRule:
    """The rule for studies without a known one: the user's limit and safety margin."""
    return ProximityRule(
        name="limit",
        title=f"your limit: ≤ {max_drive_min:g} min drive",
        max_drive_min=max_drive_min,
        min_days=0,
        margin_min=margin_min,
        source="chosen by the user",
    )


def parse_study_rules(items: list[str] | None) -> dict[str, ProximityRule]:
    """``["NCT01234567=car-t-rems"]`` -> ``{"NCT01234567": PRESETS["car-t-rems"]}``."""
    from geo.errors import ValidationError
    from sites.ctgov import normalize_nct_id

    out: dict[str, ProximityRule] = {}
    for item in items or []:
        nct, sep, preset = item.partition("=")
        if not sep:
            raise ValidationError(
                f"--study-rule takes NCT=preset (e.g. NCT01234567=car-t-rems), got {item!r}"
            )
        out[normalize_nct_id(nct)] = get_rule(preset.strip())
    return out


@dataclass(frozen=True, eq=False)
class TrialSearch:
    """A finished search: what was asked, what ClinicalTrials.gov gave, and the ranking."""

    query: TrialQuery
    search: SearchResult
    ranking: TrialRanking

    def sent_text(self) -> str:
        """Exactly what left the machine, in words (the parameters are in ``search.sent``)."""
        sent = self.search.sent
        parts = []
        if "query.cond" in sent:
            parts.append(f"condition “{sent['query.cond']}”")
        if "query.intr" in sent:
            parts.append(f"intervention “{sent['query.intr']}”")
        parts.append(f"statuses {sent.get('filter.overallStatus', '').replace(',', ', ')}")
        geo = sent.get("filter.geo", "")
        inner = geo.removeprefix("distance(").removesuffix(")").split(",")
        if len(inner) == 3:
            parts.append(
                f"an area of {inner[2].removesuffix('mi')} miles around {inner[0]}, {inner[1]} — "
                f"the centre of the {GRID_DEG:g}° grid cell holding your place, not your place"
            )
        return (
            "Sent to ClinicalTrials.gov: "
            + "; ".join(parts)
            + ". Your address and exact location were not sent; drive times are worked out on "
            "this machine."
        )


def find_trials(
    query: TrialQuery,
    place: LonLat,
    router: Router,
    *,
    place_precision: str = "coordinates",
    margin_min: float = 10.0,
    rules: Mapping[str, ProximityRule] | None = None,
    settings: Settings | None = None,
    client: HttpClient | None = None,
    page_size: int = PAGE_SIZE,
) -> TrialSearch:
    """Search ClinicalTrials.gov around ``place`` (coarsened) and rank studies by drive time.

    Parameters
    ----------
    query
        Condition, intervention, statuses, limit (minutes).
    place
        The patient's place (lon, lat); it stays on this machine.
    router
        Routing engine for the drive times.
    place_precision
        How exact ``place`` is (``coordinates``, ``address``, ``zip``, ``city``).
    margin_min
        Safety margin (minutes) of the user's limit.
    rules
        Rules the user knows for given studies (NCT id -> rule).
    settings, client
        API location, HTTP policy and cache; an HTTP client for tests.
    page_size
        Studies per page asked of ClinicalTrials.gov.
    """
    from geo.geocode import Geocoder

    s = settings or get_settings()
    search = search_studies(query, place, s, client=client, page_size=page_size)
    # Sites without a point are placed at their ZIP (else town) centroid, offline: site
    # addresses are public, but nothing needs to be sent for them.
    locator = Geocoder(s.with_(geocoder="offline"))
    ranking = rank_trials(
        search.studies,
        place,
        router,
        rule=chosen_limit(query.max_drive_min, margin_min),
        place_precision=place_precision,
        rules=rules,
        retrieved=search.retrieved,
        geocoder=locator,
    )
    return TrialSearch(query=query, search=search, ranking=ranking)
