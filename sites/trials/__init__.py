"""Trials near me: search ClinicalTrials.gov privately, rank studies by drive time.

:mod:`sites.trials.search` queries the API v2 ``/studies`` search (coarsened area, all pages,
faults named, public records cached); :mod:`sites.trials.rank` ranks each study's sites by drive
time from the patient's place with one routing call and the one verdict rule
(:func:`geo.proximity.judge.judge`); :mod:`sites.trials.studies` makes each study's row from its
judged sites; :mod:`sites.trials.records` reads the records (sites, phase, which rule judges a
study).
"""

from __future__ import annotations

from sites.trials.find import TrialSearch, chosen_limit, find_trials, parse_study_rules
from sites.trials.rank import STUDY_COLUMNS, TrialRanking, rank_trials, study_drive_text
from sites.trials.records import StudyRule, rule_for_study, study_phase, trial_sites, trial_url
from sites.trials.search import (
    DEFAULT_STATUSES,
    SearchResult,
    TrialQuery,
    cached_study,
    coarsen,
    parse_statuses,
    search_params,
    search_radius_mi,
    search_studies,
)

__all__ = [
    "DEFAULT_STATUSES",
    "STUDY_COLUMNS",
    "SearchResult",
    "StudyRule",
    "TrialQuery",
    "TrialRanking",
    "TrialSearch",
    "cached_study",
    "chosen_limit",
    "coarsen",
    "find_trials",
    "parse_statuses",
    "parse_study_rules",
    "rank_trials",
    "rule_for_study",
    "search_params",
    "search_radius_mi",
    "search_studies",
    "study_drive_text",
    "study_phase",
    "trial_sites",
    "trial_url",
]
