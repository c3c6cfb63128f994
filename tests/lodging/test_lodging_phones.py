"""Phones as a person reads them: US numbers as (614) 280-1234, every other number as given."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from geo.export import csv_bytes
from geo.lodging import search_lodging
from geo.lodging.phones import phone_labels
from geo.rules import PRESETS

from .conftest import GridRouter
from .test_lodging_rank import SITE, _frame

CASES = {
    # as OSM or a contracted list writes it → as shown (written out by hand)
    "+1-614-280-1234": "(614) 280-1234",
    "+1 614 280 1234": "(614) 280-1234",
    "+16142801234": "(614) 280-1234",
    "1-614-280-1234": "(614) 280-1234",
    "614.280.1234": "(614) 280-1234",
    "(614) 280-1234": "(614) 280-1234",
    "+1 614 280 1234;+1-614-280-9999": "(614) 280-1234; (614) 280-9999",
    # not one whole North American number: kept exactly as given
    "+44 20 7946 0958": "+44 20 7946 0958",
    "+49 301 234 5678": "+49 301 234 5678",
    "+1-555-0100": "+1-555-0100",  # 7 digits: no area code
    "614-280-1234 ext 5": "614-280-1234 ext 5",
    "+1 014 280 1234": "+1 014 280 1234",  # no US area code starts with 0
    "": "",
}


def test_us_numbers_are_written_one_way_and_others_kept() -> None:
    given = pd.Series([*CASES, None, np.nan], dtype=object)
    got = phone_labels(given)
    assert list(got) == [*CASES.values(), "", ""]
    # Every digit survives, in order (a normalised number loses only its country code 1).
    for raw, shown in CASES.items():
        for part, out in zip(raw.split(";"), shown.split("; "), strict=True):
            digits = "".join(ch for ch in part if ch.isdigit())
            kept = "".join(ch for ch in out if ch.isdigit())
            assert kept == digits or "1" + kept == digits, (part, out)


def test_search_answer_and_its_csv_need_no_neutralising_for_us_phones() -> None:
    lodging = _frame(
        [
            ("w1", "hotel", "Alpha Hotel", 230, 200),
            ("w2", "hotel", "Beta Hotel", 240, 200),
        ]
    )
    lodging["phone"] = ["+1-614-280-1234", "+44 20 7946 0958"]
    frame = search_lodging(SITE, lodging, PRESETS["resolution"], GridRouter()).frame
    assert list(frame["phone"]) == ["(614) 280-1234", "+44 20 7946 0958"]
    # The CLI writes this frame with the formula-safe writer (geo.export): the US phone as is.
    out = pd.read_csv(io.BytesIO(csv_bytes(frame.drop(columns="geometry"))), dtype=str)
    assert list(out["phone"]) == ["(614) 280-1234", "'+44 20 7946 0958"]
