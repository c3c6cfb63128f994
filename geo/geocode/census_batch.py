"""The U.S. Census Geocoder's batch endpoint: many addresses in one request.

Protocol (``POST {base}/locations/addressbatch``, multipart form): the field ``addressFile`` is
a CSV file without header, one address a line, ``id,street,city,state,zip`` (city, state and ZIP
may be empty), at most :data:`CENSUS_BATCH_MAX_ROWS` lines; the field ``benchmark`` names the
address data (``Public_AR_Current``). The answer is a CSV file without header, in any row
order, one line per id::

    "1","200 First St SW, Rochester, MN, 55905","Match","Exact","200 1ST ST SW, ROCHESTER,
    MN, 55905","-92.46695,44.02246","76259795","L"          (one line, wrapped here)
    "2","1 Nowhere Rd, , , ","No_Match"
    "3","100 Main St, Springfield, , ","Tie"

``Match`` rows give ``Exact``/``Non_Exact``, the matched address, ``"lon,lat"``, the TIGER/Line
id and the side of the street. This module builds the request and reads the answer (pure
functions) and sends one request per chunk through :class:`geo._http.HttpClient` (retries with
backoff on 5xx). The addresses are in the request and the answer; neither is ever logged.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geo.errors import ValidationError
from geo.geocode.online import CENSUS_BENCHMARK, CENSUS_SOURCE, UnexpectedAnswer
from geo.types import GeocodeResult, LonLat, Precision

if TYPE_CHECKING:  # the HTTP layer is imported by the caller that sends (geo.geocode.service)
    from geo._http import HttpClient

log = logging.getLogger(__name__)

__all__ = [
    "CENSUS_BATCH_MAX_ROWS",
    "BatchAnswer",
    "batch_result",
    "census_batch",
    "census_batch_request",
    "parse_census_batch",
]

CENSUS_BATCH_MAX_ROWS = 10_000
"""The most addresses the Census batch endpoint takes in one request."""

BATCH_SECONDS_PER_ROW = 0.05
"""Added to the HTTP timeout per address of a batch (the Census answers 10,000 in minutes)."""

type AddressFields = tuple[str, str, str, str]
"""``(street, city, state, zip)`` of one address; empty strings where unknown."""


@dataclass(frozen=True)
class BatchAnswer:
    """The Census Geocoder's answer for one row of a batch.

    Attributes
    ----------
    status
        ``Match``, ``No_Match`` or ``Tie`` (several equally good candidates, none given).
    exact
        ``True`` for an ``Exact`` match, ``False`` for ``Non_Exact`` (and for no match).
    matched
        The address the Census matched ("" unless ``Match``).
    point
        The matched point (lon, lat in degrees), ``None`` unless ``Match``.
    """

    status: str
    exact: bool = False
    matched: str = ""
    point: LonLat | None = None


def census_batch_request(
    base_url: str, rows: Sequence[AddressFields]
) -> tuple[str, dict[str, tuple[str, bytes, str]], dict[str, str]]:
    """URL, multipart files and form fields of one batch; the ids are ``"1"`` … ``"n"``.

    Raises
    ------
    ValidationError
        More than :data:`CENSUS_BATCH_MAX_ROWS` rows, or none.
    """
    if not 0 < len(rows) <= CENSUS_BATCH_MAX_ROWS:
        raise ValidationError(
            f"a Census batch holds 1 to {CENSUS_BATCH_MAX_ROWS:,} addresses, not {len(rows):,}"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for n, fields in enumerate(rows, start=1):
        writer.writerow([n, *(" ".join(f.split()) for f in fields)])
    url = base_url.rstrip("/") + "/locations/addressbatch"
    files = {"addressFile": ("addresses.csv", buffer.getvalue().encode("utf-8"), "text/csv")}
    return url, files, {"benchmark": CENSUS_BENCHMARK}


_STATUSES = ("Match", "No_Match", "Tie")


def parse_census_batch(text: str) -> dict[str, BatchAnswer]:
    """The answers of a Census batch CSV, by id; blank lines are skipped.

    Raises
    ------
    UnexpectedAnswer
        A line that is not in the batch answer's format (the message holds no address).
    """
    answers: dict[str, BatchAnswer] = {}
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 3 or row[2] not in _STATUSES:
            raise UnexpectedAnswer(f"answered a batch line {line_no} in an unexpected format")
        rid, status = row[0].strip(), row[2]
        if status != "Match":
            answers[rid] = BatchAnswer(status=status)
            continue
        try:
            lon_text, lat_text = row[5].split(",")
            point = LonLat(float(lon_text), float(lat_text))
        except (IndexError, ValueError, ValidationError) as exc:
            raise UnexpectedAnswer(
                f"answered a batch line {line_no} without usable coordinates"
            ) from exc
        answers[rid] = BatchAnswer(
            status=status, exact=row[3] == "Exact", matched=row[4], point=point
        )
    return answers


def batch_result(answer: BatchAnswer) -> GeocodeResult | None:
    """The street-level result of a ``Match``; ``None`` for ``No_Match`` and ``Tie``."""
    if answer.status != "Match" or answer.point is None:
        return None
    return GeocodeResult(
        point=answer.point,
        precision=Precision.ADDRESS,
        source=CENSUS_SOURCE,
        matched=answer.matched,
        note="" if answer.exact else "non-exact match — check the matched address",
    )


def census_batch(
    http: HttpClient, base_url: str, rows: Sequence[AddressFields]
) -> list[BatchAnswer | None]:
    """Send one batch (≤ :data:`CENSUS_BATCH_MAX_ROWS` rows); answers in the rows' order.

    ``None`` where the answer has no line for a row. Errors of :mod:`geo.errors` (after the
    client's retries) and :class:`UnexpectedAnswer` propagate.
    """
    url, files, data = census_batch_request(base_url, rows)
    timeout_s = http.timeout_s + BATCH_SECONDS_PER_ROW * len(rows)
    response = http.request(
        "POST", url, files=files, data=data, timeout=timeout_s, endpoint="geocode"
    )
    answers = parse_census_batch(response.content.decode("utf-8", errors="replace"))
    log.debug("Census batch: %d addresses sent, %d answered", len(rows), len(answers))
    return [answers.get(str(n)) for n in range(1, len(rows) + 1)]
