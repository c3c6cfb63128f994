"""The app fed hostile uploads (Streamlit AppTest): every row answered, user text shown as text.

Markdown is what Streamlit renders for st.warning/st.error/st.caption; a cell that reads
``[x](http://evil)`` or ``![t](http://evil/p.gif)`` must not become a link or a tracking image.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from appkit.batch import run_batch, to_csv_bytes
from geo.export import FORMULA_PREFIXES
from geo.geocode import Geocoder
from geo.routing import get_router
from geo.rules import get_rule
from geo.settings import get_settings
from sites import load_site_set

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOSTILE_ROWS = [
    ("ok", "39.99", "-83.0"),
    ("[click](http://evil.example/x)", "-83.0", "39.99"),  # swapped
    ("![t](http://evil.example/p.gif)", "91", "-83"),  # lat 91
    ("<img src=x onerror=alert(1)>", "x", "y"),  # not numbers
    ("n", "[click](http://evil.example/x)", "1"),  # quoted in its message
    ("m", "1", "![t](http://evil.example/p.gif) **b**"),
    ('=HYPERLINK("http://evil")', "", ""),  # empty
    ("**bold** :red[red] `code`", "nan", "inf"),
]
# Markdown that would render as a link, an image, emphasis, a colour directive or code.
ACTIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)!\[|(?<!\\)\*\*|(?<!\\):red\[|(?<!\\)`|<img")


def _upload_bytes(rows: list[tuple[str, str, str]], sep: str = ",", enc: str = "utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(["name", "lat", "lon"])
    writer.writerows(rows)
    return buf.getvalue().encode(enc)


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TRIALREACH_ENGINE", "estimate")
    monkeypatch.setenv("TRIALREACH_MAP_TILES", "none")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize(("sep", "enc"), [(",", "utf-8"), (";", "cp1252"), ("\t", "utf-8-sig")])
def test_hostile_batch_upload_in_the_app(at: AppTest, sep: str, enc: str) -> None:
    data = _upload_bytes(HOSTILE_ROWS, sep, enc)
    at.file_uploader(key="batch_file").upload("hostile.csv", data, "text/csv").run()
    assert not at.exception, at.exception
    frames = [d.value for d in at.dataframe if "message" in d.value.columns]
    assert len(frames) == 1
    table = frames[0]
    assert len(table) == len(HOSTILE_ROWS)  # rows in = rows out
    assert table["verdict"].tolist()[0] != "unknown"  # the good row is answered
    assert (table["verdict"].iloc[1:] == "unknown").all()
    messages = table["message"].astype(str).tolist()
    assert "look swapped" in messages[1]
    assert "out of range (lat 91.0" in messages[2]
    assert len(set(messages[1:])) == len(messages) - 1  # each bad row its own reason
    shown = [w.value for w in at.warning] + [c.value for c in at.caption]
    shown += [e.value for e in at.error]
    assert any("without a verdict" in s for s in shown)
    for text in shown:
        assert not ACTIVE.search(text), text
    if sep != ",":
        assert any("separated; read as such" in s for s in shown)


def test_rechecking_an_app_export_replaces_its_answers() -> None:
    sites = load_site_set("demo")
    settings = get_settings()
    router = get_router("estimate", settings=settings)
    rule = get_rule("resolution")
    gc = Geocoder(settings)
    first = run_batch(io.BytesIO(_upload_bytes(HOSTILE_ROWS)), "a.csv", sites, rule, router, gc)
    exported = to_csv_bytes(first)
    again = run_batch(io.BytesIO(exported), "b.csv", sites, rule, router, gc)
    assert "verdict" in again.attrs["replaced_columns"]
    assert list(again.columns).count("verdict") == 1
    assert not any(str(c).startswith("input_verdict") for c in again.columns)
    assert again["verdict"].tolist() == first["verdict"].tolist()
    cells = list(csv.reader(io.StringIO(to_csv_bytes(again).decode("utf-8"), newline="")))
    assert len(cells) == len(HOSTILE_ROWS) + 1
    for row in cells:
        for cell in row:
            try:
                float(cell)
            except ValueError:
                assert not cell.lstrip(" ").startswith(FORMULA_PREFIXES), cell
    names = pd.read_csv(io.BytesIO(exported), dtype=str)["name"].tolist()
    assert '\'=HYPERLINK("http://evil")' in names


def test_invalid_setting_is_a_message_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIALREACH_ENGINE", "estimate")
    monkeypatch.setenv("TRIALREACH_HTTP_TIMEOUT_S", "0")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    assert any(
        "TRIALREACH\\_HTTP\\_TIMEOUT\\_S" in e.value or "TIMEOUT" in e.value for e in app.error
    )
