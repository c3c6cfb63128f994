"""A ClinicalTrials.gov answer for a different study than asked is refused, not imported."""

from __future__ import annotations

from typing import Any

import pytest

from geo.errors import NetworkError
from geo.settings import Settings
from sites.ctgov import fetch_study


class _Answer:
    """An HTTP client that answers every request with one document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.urls: list[str] = []

    def get_json(self, url: str, **_: Any) -> dict[str, Any]:
        self.urls.append(url)
        return self.document


def _record(nct: str, aliases: list[str] | None = None) -> dict[str, Any]:
    ident: dict[str, Any] = {"nctId": nct, "briefTitle": "A study"}
    if aliases is not None:
        ident["nctIdAliases"] = aliases
    return {"protocolSection": {"identificationModule": ident}}


def test_other_study_is_refused() -> None:
    client = _Answer(_record("NCT00000999"))
    with pytest.raises(NetworkError, match=r"different study \(NCT00000999\)"):
        fetch_study("NCT07085104", settings=Settings(), client=client)  # type: ignore[arg-type]
    assert client.urls == ["https://clinicaltrials.gov/api/v2/studies/NCT07085104"]


def test_same_study_and_obsolete_alias_are_accepted() -> None:
    same = fetch_study("nct07085104 ", settings=Settings(), client=_Answer(_record("NCT07085104")))  # type: ignore[arg-type]
    assert same["protocolSection"]["identificationModule"]["nctId"] == "NCT07085104"
    merged = _Answer(_record("NCT07085104", aliases=["NCT01111111"]))
    assert fetch_study("NCT01111111", settings=Settings(), client=merged)  # type: ignore[arg-type]
