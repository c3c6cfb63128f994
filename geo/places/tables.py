"""Reading a table of places from a CSV file or an upload: encoding, separator, notes on both."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd

from geo.errors import ValidationError

__all__ = [
    "DELIMITERS",
    "as_text_source",
    "decode_text",
    "read_table",
    "sniff_delimiter",
    "without_columns",
]

DELIMITERS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
"""Field separators a table may use, and how messages name them."""


def decode_text(data: bytes, name: str = "file") -> tuple[str, str]:
    """``(text, note)``: UTF-8 (a BOM is dropped), UTF-16 with its mark, else Windows-1252.

    The note says what was assumed ("" for UTF-8).

    Parameters
    ----------
    data
        The file's bytes.
    name
        How messages name the file.

    Raises
    ------
    ValidationError
        The bytes are neither (binary data such as a spreadsheet or an image).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), f"{name}: UTF-16 text (it starts with a UTF-16 mark)"
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data[:4096]:
        raise ValidationError(
            f"{name} is not a text file (save a spreadsheet as CSV: File → Save As → CSV)"
        )
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValidationError(
            f"{name} is not UTF-8 (nor Windows-1252) text; save it as CSV UTF-8"
        ) from None
    return text, f"{name}: not UTF-8 text; read as Windows-1252"


def sniff_delimiter(text: str) -> str:
    """The field separator of a table: the candidate most frequent in its header line.

    Only separators outside double quotes count; a header with none of them is one column and
    reads as comma-separated.
    """
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def as_text_source(source: str | Path | IO[bytes] | IO[str], what: str) -> str | Path | IO[str]:
    """A path as it is, or an uploaded file object as text (UTF-8 or Windows-1252)."""
    if isinstance(source, (str, Path)):
        return source
    data = source.read()
    if isinstance(data, bytes):
        data, _ = decode_text(data, f"the uploaded {what}")
    return io.StringIO(data)


def read_table(source: object, name: str = "file") -> pd.DataFrame:
    """Read a CSV (path or file-like) as text columns; raise ValidationError if unreadable/empty.

    The separator (comma, semicolon, tab, pipe) is taken from the header line and the encoding
    is UTF-8 or, failing that, Windows-1252; what was assumed is listed in
    ``frame.attrs["read_notes"]`` (empty for a plain UTF-8 comma-separated file).

    Raises
    ------
    ValidationError
        Missing file, a folder, binary data, no rows, or text that is not a table.
    """
    notes: list[str] = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ValidationError(f"{name}: no such file (check the path and the file name)")
        if path.is_dir():
            raise ValidationError(f"{name} is a folder, not a file")
        text, note = decode_text(path.read_bytes(), name)
    else:
        data = source.read()  # type: ignore[attr-defined]
        if isinstance(data, bytes):
            text, note = decode_text(data, name)
        else:
            text, note = str(data), ""
    if note:
        notes.append(note)
    delimiter = sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"{name}: {DELIMITERS[delimiter]}-separated; read as such")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        raise ValidationError(f"{name} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{name} is not a readable CSV: {exc}") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise ValidationError(f"{name} has a header but no rows")
    table: pd.DataFrame = df
    table.attrs["read_notes"] = tuple(notes)
    return table


def without_columns(table: pd.DataFrame, names: Iterable[str]) -> tuple[pd.DataFrame, list[str]]:
    """``table`` without the columns named in ``names``, and the names it dropped (in order).

    Used to drop the result columns of an earlier run from a results file checked again, so an
    old verdict can neither sit next to the new one nor shadow it.
    """
    wanted = set(names)
    dropped = [str(c) for c in table.columns if c in wanted]
    return table.drop(columns=dropped), dropped
