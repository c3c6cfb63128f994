"""Phone numbers as a person reads them: US numbers as ``(614) 280-1234``, others as given.

OpenStreetMap and contracted-lodging lists write phones every way (``+1-614-280-1234``,
``+1 614 280 1234``, ``614.280.1234``). A number starting with ``+`` is also a formula trigger
for a spreadsheet, so a formula-safe CSV (:mod:`geo.export`) has to prefix it with ``'``. A
North American number (optional ``+1``/``1``, a 3-digit area code and a 7-digit number, area
code and exchange not starting with 0 or 1) is written ``(614) 280-1234``: readable, dialable,
and nothing to neutralise. Anything else (a number abroad, an extension, a short or odd number)
is kept as given, so no digit is ever lost or invented; the CSV writer still neutralises it.
Several numbers in one tag (``;``-separated, as OSM allows) are each normalised, joined by
``"; "``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["US_PHONE", "phone_labels"]

US_PHONE = (
    r"(?:^|(?<=;))\s*(?:\+\s?1|1)?[\s.\-]?\(?([2-9]\d{2})\)?[\s.\-]?"
    r"([2-9]\d{2})[\s.\-]?(\d{4})\s*(?=;|$)"
)
"""One whole North American number between ``;`` separators (groups: area, exchange, line)."""


def phone_labels(phones: pd.Series) -> pd.Series:
    """Each cell's US numbers as ``(614) 280-1234``; other numbers unchanged.

    Parameters
    ----------
    phones
        Phone text per row (NaN or empty where there is none).

    Returns
    -------
    pandas.Series
        Text per row ("" where there was none), same index.
    """
    text = phones.fillna("").astype(str).replace("nan", "")
    out = text.str.replace(US_PHONE, r"(\1) \2-\3", regex=True)
    return out.str.replace(r"\s*;\s*", "; ", regex=True).str.strip()
