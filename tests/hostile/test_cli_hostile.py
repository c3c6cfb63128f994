"""The command line fed hostile input: every row answered, no traceback, nothing executable.

Offline: estimate engine, offline geocoder, the demo sites (OSU James, Columbus OH).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from geo.export import FORMULA_PREFIXES
from trialreach.cli import app

runner = CliRunner()
BASE = ("--sites", "demo", "--engine", "estimate")

HOSTILE_NAMES = [
    "[/x]",
    "[bold red]RED[/bold red]",
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tTab",
    "`${alert(1)}`",
    "</script><script>alert(1)</script>",
    "Café ünïcode",
    "a\nb",
]


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def _no_traceback(res) -> None:  # type: ignore[no-untyped-def]
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


def _cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _executable(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return cell.lstrip(" ").startswith(FORMULA_PREFIXES)


def test_swapped_batch_row_is_unknown_with_reason(tmp_path: Path) -> None:
    src = tmp_path / "places.csv"
    src.write_text("name,lat,lon\nok,39.99,-83.0\nswapped,-83.0,39.99\nlat91,91,-83\n")
    out = tmp_path / "out.csv"
    res = run("check", str(src), *BASE, "-o", str(out))
    _no_traceback(res)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table["verdict"]) == ["within", "unknown", "unknown"]
    assert "look swapped" in table["reason"][1]
    assert table["reason"][2] == "row 3: coordinates out of range (lat 91.0, lon -83.0)"


def test_json_batch_with_lat_lon_columns(tmp_path: Path) -> None:
    """Used to fail: lat/lon input columns plus the located ones gave duplicate columns."""
    src = tmp_path / "places.csv"
    src.write_text("name,lat,lon\nA,39.99,-83.0\nB,,\n")
    res = run("check", str(src), *BASE, "--json")
    _no_traceback(res)
    start = res.output.index("[")
    data = json.loads(res.output[start:])
    assert [d["verdict"] for d in data] == ["within", "unknown"]
    assert data[0]["lat"] == "39.99" and data[1]["drive_min"] is None


def test_rechecking_a_results_file_replaces_old_verdicts(tmp_path: Path) -> None:
    src = tmp_path / "places.csv"
    src.write_text("name,lat,lon\nA,39.99,-83.0\n")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert run("check", str(src), *BASE, "-o", str(first)).exit_code == 0
    stale = pd.read_csv(first, dtype=str, keep_default_na=False)
    stale.loc[0, "verdict"] = "outside"  # a stale verdict must not survive or shadow
    stale.to_csv(first, index=False)
    res = run("check", str(first), *BASE, "-o", str(second))
    _no_traceback(res)
    assert res.exit_code == 0, res.output
    assert "replaced the result columns of an earlier run" in res.output
    header = _cells(second)[0]
    assert header.count("verdict") == 1 and not any(h.startswith("verdict.") for h in header)
    assert pd.read_csv(second, dtype=str)["verdict"].tolist() == ["within"]


@pytest.mark.parametrize("kind", ["folder", "missing"])
def test_bad_output_path_refused_before_routing(tmp_path: Path, kind: str) -> None:
    src = tmp_path / "places.csv"
    src.write_text("name,lat,lon\nA,39.99,-83.0\n")
    target = tmp_path if kind == "folder" else tmp_path / "no" / "such" / "out.csv"
    res = run("check", str(src), *BASE, "-o", str(target))
    _no_traceback(res)
    assert res.exit_code == 2
    assert ("is a folder" if kind == "folder" else "does not exist") in res.output
    assert "places:" not in res.output  # nothing was routed


def test_mistyped_file_is_a_missing_file_not_a_place(tmp_path: Path) -> None:
    res = run("check", str(tmp_path / "lodgngs.csv"), *BASE)
    _no_traceback(res)
    assert res.exit_code == 2
    assert "no such file" in res.output and "locate" not in res.output


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TRIALREACH_HTTP_RETRIES", "-1", "TRIALREACH_HTTP_RETRIES='-1': must be a whole number"),
        ("TRIALREACH_HTTP_TIMEOUT_S", "0", "TRIALREACH_HTTP_TIMEOUT_S='0': must be a number"),
        ("TRIALREACH_HTTP_TIMEOUT_S", "soon", "is not a number"),
    ],
)
def test_invalid_settings_give_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    res = run("check", "39.99, -83.0", *BASE)
    _no_traceback(res)
    assert res.exit_code == 2
    assert expected in res.output


def test_unexpected_engine_exception_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from geo.routing.estimate import EstimateRouter

    def boom(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("tile 42")

    for name in ("drive_times", "nearest"):
        if hasattr(EstimateRouter, name):
            monkeypatch.setattr(EstimateRouter, name, boom)
    res = run("check", "39.99, -83.0", *BASE)
    _no_traceback(res)
    assert res.exit_code in (1, 2)
    assert "KeyError" in res.output and "estimate" in res.output


@pytest.mark.parametrize(
    ("encoding", "sep"),
    [("utf-8-sig", ","), ("cp1252", ";"), ("utf-8", "\t"), ("utf-16", ","), ("cp1252", "|")],
)
def test_encodings_and_delimiters_are_read_and_said(
    tmp_path: Path, encoding: str, sep: str
) -> None:
    src = tmp_path / "places.csv"
    rows = [["name", "lat", "lon"], ["Café Nöel", "39.99", "-83.0"], ["Zoë", "", ""]]
    src.write_bytes("".join(sep.join(r) + "\n" for r in rows).encode(encoding))
    out = tmp_path / "out.csv"
    res = run("check", str(src), *BASE, "-o", str(out))
    _no_traceback(res)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table["name"]) == ["Café Nöel", "Zoë"]
    assert list(table["verdict"]) == ["within", "unknown"]
    if sep != ",":
        assert "separated; read as such" in res.output
    if encoding == "cp1252":
        assert "read as Windows-1252" in res.output


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    names=st.lists(
        st.one_of(
            st.sampled_from(HOSTILE_NAMES),
            st.text(
                st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=15
            ),
        ),
        min_size=1,
        max_size=6,
    ),
    coords=st.lists(
        st.sampled_from(["39.99,-83.0", "-83.0,39.99", "91,-83", "nan,inf", "x,y", ",", "1e999,0"]),
        min_size=6,
        max_size=6,
    ),
)
def test_hostile_batch_rows_in_equal_rows_out(
    tmp_path: Path, names: list[str], coords: list[str]
) -> None:
    frame = pd.DataFrame(
        {
            "name": names,
            "lat": [coords[i].split(",")[0] for i in range(len(names))],
            "lon": [coords[i].split(",")[1] for i in range(len(names))],
        }
    )
    src = tmp_path / "hostile.csv"
    frame.to_csv(src, index=False, lineterminator="\r\n")  # a lone CR stays in its cell
    out = tmp_path / "hostile-out.csv"
    res = run("check", str(src), *BASE, "-o", str(out))
    _no_traceback(res)
    assert res.exit_code in (0, 1), res.output
    rows = _cells(out)
    assert len(rows) == len(names) + 1  # rows in = rows out
    assert not any(_executable(c) for r in rows for c in r)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    for i, pair in enumerate(coords[: len(names)]):
        if pair != "39.99,-83.0":
            assert table["verdict"][i] == "unknown"
            assert re.match(rf"row {i + 1}: ", table["reason"][i]), table["reason"][i]
    # The terminal table shows hostile names as text (no markup error, no restyling).
    shown = run("check", str(src), *BASE)
    _no_traceback(shown)
    assert "MarkupError" not in shown.output


def test_binary_file_is_refused_with_a_message(tmp_path: Path) -> None:
    src = tmp_path / "sheet.csv"
    src.write_bytes(b"PK\x03\x04\x00\x00binary spreadsheet")
    res = run("check", str(src), *BASE)
    _no_traceback(res)
    assert res.exit_code == 2
    assert "is not a text file" in res.output


def test_markup_in_a_place_is_shown_not_interpreted(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,lat,lon\nS1,[bold red]Evil[/] [/x] Site,39.99,-83.0\n")
    res = run("check", "39.99, -83.0", "--sites", str(sites), "--engine", "estimate")
    _no_traceback(res)
    assert res.exit_code == 0, res.output
    assert "[bold red]Evil[/] [/x] Site" in res.output


def test_site_names_with_markup_in_sites_show(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("site_id,name,city,lat,lon\n[/x],[bold red]Evil[/] Clinic,[/],39.99,-83.0\n")
    res = run("sites", "show", str(sites))
    _no_traceback(res)
    assert res.exit_code == 0, res.output
    assert "[bold red]Evil[/] Clinic" in res.output and "[/x]" in res.output
