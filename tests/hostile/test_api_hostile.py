"""The Python front door (trialreach.check) fed hostile tables: rows in = rows out, in order,
each bad row `unknown` with its own reason, NaN (never 0) where there is no drive time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import trialreach

VALUES = st.sampled_from(
    ["39.99", "-83.0", "91", "-91", "181", "nan", "inf", "-inf", "", "x", "1e999", "0", "40.1"]
)
NAMES = st.one_of(
    st.sampled_from(["[/x]", "=1+1", "${x}", "</script>", "`b`", "Café"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=10),
)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(NAMES, VALUES, VALUES), min_size=1, max_size=10))
def test_front_door_keeps_rows_and_names_every_problem(rows: list[tuple[str, str, str]]) -> None:
    table = pd.DataFrame(rows, columns=["name", "lat", "lon"])
    table.index = pd.Index([f"k{i}" for i in range(len(rows))])  # the caller's index is kept
    out = trialreach.check(table, sites="demo", engine="estimate")
    assert len(out) == len(table) and list(out.index) == list(table.index)
    assert out["name"].tolist() == table["name"].tolist()
    for i, (_, lat, lon) in enumerate(rows):
        la, lo = _number(lat), _number(lon)
        good = math.isfinite(la) and math.isfinite(lo) and abs(la) <= 90 and abs(lo) <= 180
        verdict, reason = out["verdict"].iloc[i], str(out["reason"].iloc[i])
        if not good:
            assert verdict == "unknown", (lat, lon, verdict)
            assert reason, (lat, lon)
        if verdict == "unknown":
            assert np.isnan(out["drive_min"].iloc[i])  # NaN, never 0
            assert reason
