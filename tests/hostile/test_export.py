"""The one CSV writer (geo/export.py): no cell a spreadsheet would run, numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.export import FORMULA_PREFIXES, csv_bytes, neutralise

FORMULA_START = st.sampled_from(FORMULA_PREFIXES)


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _executable(cell: str) -> bool:
    """What a spreadsheet would run: a cell starting with a formula character, not a number."""
    try:
        float(cell)
        return False
    except ValueError:
        return cell.lstrip(" ").startswith(FORMULA_PREFIXES)


def test_known_payloads_are_quoted_and_numbers_kept() -> None:
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+1", "-2+3", "\tx", "\rx", "ok"],
            "lon": [-92.4668, -83.0, 1.0, -0.5, 2.0, 3.0, 4.0],
            "as_text": ["-92.4668", "+1e3", "-.5", "12", "", "-", "=1"],
        }
    )
    rows = _cells(csv_bytes(frame))
    assert rows[0] == ["name", "lon", "as_text"]
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + v for v in frame["name"][:6]] + ["ok"]
    assert [float(r[1]) for r in rows[1:]] == frame["lon"].tolist()  # a negative number stays one
    assert [r[2] for r in rows[1:]] == ["-92.4668", "+1e3", "-.5", "12", "", "'-", "'=1"]


def test_column_names_and_index_are_neutralised() -> None:
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [1]}, index=pd.Index(["@x"], name="-id"))
    rows = _cells(csv_bytes(frame, index=True))
    assert rows == [["'-id", "'=cmd|' /C calc'!A0"], ["'@x", "1"]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.tuples(FORMULA_START, st.text(max_size=10)).map("".join),
            st.floats(allow_nan=False, allow_infinity=False).map(str),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_cell_is_executable(values: list[str]) -> None:
    frame = pd.DataFrame({"name": values, "n": range(len(values))})
    rows = _cells(csv_bytes(frame))
    assert len(rows) == len(values) + 1  # rows in = rows out (quoted newlines stay in cells)
    for (cell, n), original in zip(((r[0], r[1]) for r in rows[1:]), values, strict=True):
        assert not _executable(cell), cell
        assert cell in (original, "'" + original) or (original == "" and cell == "")
        assert int(n) >= 0
    assert all(neutralise(v) in (v, "'" + v) for v in values)
