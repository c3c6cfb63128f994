"""A study's answer from its judged sites: the best site, counts, notes, and the study order.

:func:`sites.trials.rank.rank_trials` judges every site; this module turns that site table into
one row per study (:data:`STUDY_COLUMNS`) — its best site (best verdict, then routed before a
straight-line bound, then the shortest time), how many sites are within the limit, checked and
listed, the rule used, the notes — and ranks the studies: those with a site within the limit
first, by drive time; the others by their nearest time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geo.types import Verdict
from sites.ctgov_records import study_nct_id, study_title
from sites.trials.records import StudyRule, _protocol_module, study_phase, trial_url

_VERDICT_ORDER = {
    Verdict.WITHIN.value: 0,
    Verdict.BORDERLINE.value: 1,
    Verdict.UNKNOWN.value: 2,
    Verdict.OUTSIDE.value: 3,
}

STUDY_COLUMNS = [
    "rank",
    "nct_id",
    "title",
    "phase",
    "status",
    "verdict",
    "drive_min",
    "spare_min",
    "nearest_site",
    "nearest_city",
    "nearest_state",
    "nearest_country",
    "sites_within_limit",
    "sites_checked",
    "sites_listed",
    "rule_used",
    "limit_min",
    "margin_min",
    "basis",
    "engine",
    "reason",
    "notes",
    "url",
]
"""Columns of :attr:`TrialRanking.studies`, in order."""


def _assemble(
    studies: Sequence[Mapping[str, Any]], study_rules: list[StudyRule], sites: pd.DataFrame
) -> pd.DataFrame:
    """One row per study: its best site, counts, rule and link; ranked."""
    n = len(studies)
    ncts = [study_nct_id(s) for s in studies]
    judged = sites[sites["checked"] & np.isfinite(sites[["lon", "lat"]]).all(axis=1)]
    ranked = _best_first(judged, ["study"])
    best = ranked.groupby("study", sort=True).head(1).set_index("study").reindex(range(n))
    # Sites whose drive time is at most the limit (an estimate just over it is borderline too,
    # but not counted as within).
    within = (sites["verdict"] == Verdict.WITHIN.value) | (
        (sites["verdict"] == Verdict.BORDERLINE.value) & (sites["spare_min"] >= 0)
    )
    within_count = within.groupby(sites["study"]).sum().reindex(range(n), fill_value=0)
    checked_count = sites["checked"].groupby(sites["study"]).sum().reindex(range(n), fill_value=0)
    listed = sites.groupby("study").size().reindex(range(n), fill_value=0)

    no_site = best["verdict"].isna().to_numpy()
    verdict = best["verdict"].fillna(Verdict.UNKNOWN.value).astype(str).to_numpy()
    reason = best["reason"].fillna("").astype(str).to_numpy(dtype=object)
    reason[no_site] = np.where(
        checked_count.to_numpy()[no_site] > 0,
        "no open site has coordinates on ClinicalTrials.gov",
        "no open site listed (withdrawn, closed, or none yet)",
    )
    notes = _study_notes(study_rules, sites, n)
    status = [
        str(_protocol_module(s, "statusModule").get("overallStatus") or "").lower() for s in studies
    ]
    out = pd.DataFrame(
        {
            "nct_id": ncts,
            "title": [study_title(s) for s in studies],
            "phase": [study_phase(s) for s in studies],
            "status": status,
            "verdict": verdict,
            "drive_min": best["drive_min"].to_numpy(dtype=float),
            "spare_min": best["spare_min"].to_numpy(dtype=float),
            "nearest_site": best["name"].fillna("").astype(str).to_numpy(),
            "nearest_city": best["city"].fillna("").astype(str).to_numpy(),
            "nearest_state": best["state"].fillna("").astype(str).to_numpy(),
            "nearest_country": best["country"].fillna("").astype(str).to_numpy(),
            "sites_within_limit": within_count.to_numpy(dtype=np.int64),
            "sites_checked": checked_count.to_numpy(dtype=np.int64),
            "sites_listed": listed.to_numpy(dtype=np.int64),
            "rule_used": [r.used for r in study_rules],
            "limit_min": [r.rule.max_drive_min for r in study_rules],
            "margin_min": best["margin_min"].to_numpy(dtype=float),
            "basis": best["basis"].fillna("").astype(str).to_numpy(),
            "engine": best["engine"].fillna("").astype(str).to_numpy(),
            "reason": reason.astype(str),
            "notes": notes,
            "url": [trial_url(nct) for nct in ncts],
            "_sort": best["sort_min"].fillna(np.inf).to_numpy(dtype=float),
            "_beyond": best["beyond_reach"].fillna(False).to_numpy(dtype=bool),
        }
    )
    # Studies with a site within the limit first; then the rest by their nearest drive time
    # (a drive time before a straight-line bound, unknown last).
    out["_group"] = np.where(out["verdict"].isin(["within", "borderline"]), 0, 1)
    out = out.sort_values(["_group", "_beyond", "_sort", "nct_id"], kind="stable")
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.loc[:, STUDY_COLUMNS]


def _best_first(sites: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sites sorted within ``by``: best verdict, then routed before straight-line-only, then time.

    A site beyond reach has only a lower bound (straight line at the top speed), so it never
    counts as nearer than a site with a drive time.
    """
    keyed = sites.assign(
        _v=sites["verdict"].map(_VERDICT_ORDER).fillna(9).to_numpy(),
        _b=sites["beyond_reach"].to_numpy(dtype=bool),
        _t=sites["sort_min"].fillna(np.inf).to_numpy(),
        _c=~sites["checked"].to_numpy(dtype=bool),
    )
    keyed = keyed.sort_values([*by, "_c", "_v", "_b", "_t"], kind="stable")
    return keyed.drop(columns=["_v", "_b", "_t", "_c"])


def _study_notes(study_rules: list[StudyRule], sites: pd.DataFrame, n: int) -> list[str]:
    """Per study: the rule's note, sites left out by status, without coordinates, abroad."""

    def count(mask: pd.Series) -> pd.Series:
        return mask.groupby(sites["study"]).sum().reindex(range(n), fill_value=0)

    left_out = count(~sites["checked"])
    withdrawn = count(sites["status"] == "withdrawn")
    no_point = count(sites["checked"] & sites["lat"].isna())
    abroad = count(sites["checked"] & ~sites["is_us"])
    notes: list[str] = []
    for i in range(n):
        parts = [study_rules[i].note] if study_rules[i].note else []
        if left_out.iloc[i]:
            text = f"{left_out.iloc[i]} site(s) left out by status"
            if withdrawn.iloc[i]:
                text += f" ({withdrawn.iloc[i]} withdrawn)"
            parts.append(text)
        if no_point.iloc[i]:
            parts.append(f"{no_point.iloc[i]} open site(s) without coordinates, not checked")
        if abroad.iloc[i]:
            parts.append(f"{abroad.iloc[i]} open site(s) outside the United States")
        notes.append("; ".join(parts))
    return notes


def _search_notes(sites: pd.DataFrame) -> tuple[str, ...]:
    notes = []
    withdrawn = int((sites["status"] == "withdrawn").sum())
    closed = int((~sites["checked"]).sum()) - withdrawn
    if withdrawn:
        notes.append(f"{withdrawn} withdrawn site(s) left out")
    if closed:
        notes.append(f"{closed} site(s) not recruiting (completed, suspended …) left out")
    no_point = int((sites["checked"] & sites["lat"].isna()).sum())
    if no_point:
        notes.append(
            f"{no_point} open site(s) have no coordinates on ClinicalTrials.gov and were not "
            "checked (see each study's notes)"
        )
    abroad = int((sites["checked"] & ~sites["is_us"]).sum())
    if abroad:
        notes.append(
            f"{abroad} open site(s) are outside the United States; drive times there leave out "
            "border crossings"
        )
    return tuple(notes)
