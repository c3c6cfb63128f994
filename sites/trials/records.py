"""Reading the study records of a search: sites, phase, link, and which rule judges a study.

Every location of every study is parsed in one pass with the same code as
:func:`sites.ctgov.study_sites` (:func:`trial_sites`). :func:`rule_for_study` picks the rule: the
user's for that study, the RESOLUTION preset for NCT07085104, the CAR-T label preset for a study
of an approved CAR-T product, else the limit the user chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geo.rules import PRESETS, ProximityRule
from sites.ctgov_records import _site_frame, study_locations, study_nct_id, study_title

RESOLUTION_NCT = "NCT07085104"
RECORD_URL = "https://clinicaltrials.gov/study/{nct}"

CAR_T_PRODUCTS: dict[str, str] = {
    "tisagenlecleucel": "tisagenlecleucel (Kymriah)",
    "kymriah": "tisagenlecleucel (Kymriah)",
    "axicabtagene": "axicabtagene ciloleucel (Yescarta)",
    "yescarta": "axicabtagene ciloleucel (Yescarta)",
    "brexucabtagene": "brexucabtagene autoleucel (Tecartus)",
    "tecartus": "brexucabtagene autoleucel (Tecartus)",
    "lisocabtagene": "lisocabtagene maraleucel (Breyanzi)",
    "breyanzi": "lisocabtagene maraleucel (Breyanzi)",
    "idecabtagene": "idecabtagene vicleucel (Abecma)",
    "abecma": "idecabtagene vicleucel (Abecma)",
    "ciltacabtagene": "ciltacabtagene autoleucel (Carvykti)",
    "carvykti": "ciltacabtagene autoleucel (Carvykti)",
    "obecabtagene": "obecabtagene autoleucel (Aucatzyl)",
    "aucatzyl": "obecabtagene autoleucel (Aucatzyl)",
}
"""Approved CAR-T products (generic and brand names): their labels carry the 2-hour rule."""

_CAR_T_WORDS = ("car t", "car-t", "chimeric antigen receptor", "cart cell", "car-nk")
US_COUNTRIES = frozenset({"united states", "united states of america", "usa", "us"})


def trial_url(nct_id: str) -> str:
    """The public record of a study on ClinicalTrials.gov."""
    return RECORD_URL.format(nct=nct_id)


def _protocol_module(study: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    protocol = study.get("protocolSection")
    module = protocol.get(name) if isinstance(protocol, Mapping) else None
    return module if isinstance(module, Mapping) else {}


def study_phase(study: Mapping[str, Any]) -> str:
    """``["PHASE1", "PHASE2"]`` -> ``"Phase 1/2"``; ``NA`` -> ``"n/a"``; none -> ``""``."""
    phases = _protocol_module(study, "designModule").get("phases") or []
    if not isinstance(phases, list):
        return ""
    names = [str(p).upper() for p in phases]
    if names == ["NA"]:
        return "n/a"
    nums = [n.removeprefix("EARLY_").removeprefix("PHASE") for n in names if "PHASE" in n]
    early = "Early " if any(n.startswith("EARLY_") for n in names) else ""
    return f"{early}Phase {'/'.join(nums)}" if nums else ""


def _interventions_text(study: Mapping[str, Any]) -> str:
    items = _protocol_module(study, "armsInterventionsModule").get("interventions") or []
    words: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            words.append(str(item.get("name") or ""))
            other = item.get("otherNames") or []
            words.extend(str(o) for o in other if isinstance(other, list))
    return " ".join(words).lower()


@dataclass(frozen=True)
class StudyRule:
    """The rule a study is judged by, and how it was chosen (shown on its row)."""

    rule: ProximityRule
    used: str
    note: str = ""


def rule_for_study(
    study: Mapping[str, Any],
    chosen: ProximityRule,
    rules: Mapping[str, ProximityRule] | None = None,
) -> StudyRule:
    """Which rule judges ``study``: the user's for it, a recognised preset, or ``chosen``."""
    nct = study_nct_id(study)
    if rules and nct in rules:
        given = rules[nct]
        return StudyRule(given, f"rule you gave ({given.title or given.name})")
    if nct == RESOLUTION_NCT:
        return StudyRule(PRESETS["resolution"], "RESOLUTION preset")
    text = _interventions_text(study)
    product = next((name for key, name in CAR_T_PRODUCTS.items() if key in text), "")
    if product:
        return StudyRule(
            PRESETS["car-t-label-2025"],
            "CAR-T label preset",
            f"an approved CAR-T product ({product}): its label asks for about 2 hours for "
            "2 weeks; the protocol may ask more",
        )
    note = ""
    if any(w in text or w in study_title(study).lower() for w in _CAR_T_WORDS):
        note = (
            "a CAR-T study: its proximity rule is not on ClinicalTrials.gov (CAR-T protocols "
            "often ask for 2 hours for 2–4 weeks); ask the study team"
        )
    return StudyRule(chosen, "limit you chose", note)


def trial_sites(
    studies: Sequence[Mapping[str, Any]], retrieved: date | None = None
) -> pd.DataFrame:
    """Every location of every study as one table (parsed as :func:`sites.ctgov.study_sites`).

    Returns the :data:`sites.ctgov.SITE_COLUMNS` plus ``nct_id`` and ``study`` (position of the
    study in ``studies``); ``site_id`` is ``NCTxxxxxxxx-nnn`` numbered per study, as the importer
    numbers them. A location without its own status takes its study's overall status.
    """
    when = retrieved or date.today()
    per_study = [study_locations(s) for s in studies]
    counts = np.array([len(locs) for locs in per_study], dtype=np.int64)
    flat = [loc for locs in per_study for loc in locs]
    ncts = np.array([study_nct_id(s) for s in studies], dtype=object)
    overall = np.array(
        [
            str(_protocol_module(s, "statusModule").get("overallStatus") or "").lower()
            for s in studies
        ],
        dtype=object,
    )
    frame = _site_frame(flat, "NCT00000000", "", when)
    study_idx = np.repeat(np.arange(len(studies)), counts)
    nct_per_row = ncts[study_idx] if len(flat) else np.array([], dtype=object)
    number = pd.Series(study_idx).groupby(study_idx).cumcount().to_numpy() + 1
    frame["site_id"] = [f"{n}-{k:03d}" for n, k in zip(nct_per_row, number, strict=True)]
    frame["source"] = [f"ClinicalTrials.gov {n}, retrieved {when.isoformat()}" for n in nct_per_row]
    no_status = np.array([not loc.get("status") for loc in flat], dtype=bool)
    study_status = overall[study_idx] if len(flat) else np.array([], dtype=object)
    fill = no_status & (study_status != "")
    if fill.any():
        frame.loc[fill, "status"] = study_status[fill]
        frame.loc[fill, "note"] = frame.loc[fill, "note"].str.replace(
            "no site status on ClinicalTrials.gov",
            "no site status on ClinicalTrials.gov; the study's status is used",
            regex=False,
        )
    frame["nct_id"] = nct_per_row
    frame["study"] = study_idx
    return frame
