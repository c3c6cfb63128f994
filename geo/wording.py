"""How answers are put in words and colours: one minute formatter, one table per verdict.

Every face (terminal, web app, maps, the printable record) takes a verdict's word, colour and
style from :data:`VERDICT_LOOKS`, and writes minutes with :func:`format_minutes`, so the same
answer reads the same everywhere. Light on purpose: no numpy or pandas, so the CLI can import it
while drawing ``--help``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "VERDICT_BADGES",
    "VERDICT_COLORS",
    "VERDICT_LOOKS",
    "VERDICT_STYLES",
    "VERDICT_WORDS",
    "VerdictLook",
    "format_minutes",
]


@dataclass(frozen=True)
class VerdictLook:
    """How one verdict is shown."""

    word: str
    """For people: "Within the rule"."""
    colour: str
    """Hex colour on maps, chips and the printable record."""
    style: str
    """Rich style in the terminal."""
    badge: str
    """Streamlit badge colour name."""


VERDICT_LOOKS: dict[str, VerdictLook] = {
    "within": VerdictLook("Within the rule", "#1a7f37", "bold green", "green"),
    "borderline": VerdictLook("Borderline", "#b35900", "bold yellow", "orange"),
    "outside": VerdictLook("Outside the rule", "#cf222e", "bold red", "red"),
    "unknown": VerdictLook("Unknown", "#6e7781", "bold magenta", "gray"),
}
"""Verdict value → its word, colour (green, orange, red, grey), terminal style and badge."""

VERDICT_WORDS: dict[str, str] = {k: v.word for k, v in VERDICT_LOOKS.items()}
VERDICT_COLORS: dict[str, str] = {k: v.colour for k, v in VERDICT_LOOKS.items()}
VERDICT_STYLES: dict[str, str] = {k: v.style for k, v in VERDICT_LOOKS.items()}
VERDICT_BADGES: dict[str, str] = {k: v.badge for k, v in VERDICT_LOOKS.items()}


def format_minutes(minutes: Any) -> str:
    """A duration in minutes as people write it: ``'1 h 47 min'``, ``'45 min'``, ``'-5 min'``.

    Parameters
    ----------
    minutes
        Minutes (a number); rounded to whole minutes. None, NaN, infinite or not a number give
        ``'—'`` (never 0).
    """
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value):
        return "—"
    total = round(value)
    hours, mins = divmod(abs(total), 60)
    sign = "-" if total < 0 else ""
    return f"{sign}{hours} h {mins:02d} min" if hours else f"{sign}{mins} min"
