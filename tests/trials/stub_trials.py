"""The ClinicalTrials.gov stub of ``tests/ctgov`` plus the API v2 search, ``GET /api/v2/studies``.

It answers like the real service (documented API v2 format): ``{"studies": [...],
"nextPageToken": "...", "totalCount": N}`` — ``totalCount`` only with ``countTotal=true``, no
``nextPageToken`` on the last page. It honours ``pageSize``, ``pageToken`` (opaque tokens it
issued), ``filter.overallStatus`` (comma or pipe separated) and ``filter.geo=distance(lat,lon,
Rmi)`` (a study matches when one of its location ``geoPoint``s lies within R). ``query.cond`` and
``query.intr`` are matched loosely against conditions, titles and interventions.

The records are in ``fixtures/lupus_studies.json`` (written from the documented record format;
RESOLUTION from ``tests/ctgov``, the others made up to cover paging, withdrawn sites, a site
without ``geoPoint``, sites in Canada, CAR-T studies and a formula-like facility name).

Scripted faults, by ``query.cond``:

* ``rate-limited``: HTTP 429 with ``Retry-After: 0`` on the first request, then as ``lupus``;
* ``server-error``: HTTP 503 on the first request, then as ``lupus``;
* ``down``: HTTP 503 always;
* ``slow``: answers after ``slow_s`` seconds;
* ``garbled``: HTTP 200 with an HTML page, always;
* ``garbled-once``: HTTP 200 with broken JSON on the first request, then as ``lupus``;
* ``partial``: HTTP 500 for every request of page 3;
* ``no-such-condition``: no study matches.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.ctgov.stub_ctgov import CtgovStub

FIXTURES = Path(__file__).parent / "fixtures"
STUDIES: list[dict[str, Any]] = json.loads((FIXTURES / "lupus_studies.json").read_text())
SEARCH_PATH = "/api/v2/studies"
_GEO = re.compile(r"^distance\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*([\d.]+)(mi|km)\s*\)$")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def _text_of(study: dict[str, Any]) -> str:
    ps = study["protocolSection"]
    parts = [ps["identificationModule"].get("briefTitle", "")]
    parts += ps.get("conditionsModule", {}).get("conditions", [])
    for item in ps.get("armsInterventionsModule", {}).get("interventions", []):
        parts.append(item.get("name", ""))
        parts += item.get("otherNames", [])
    return " ".join(parts).lower()


def matching(params: dict[str, str], studies: list[dict[str, Any]] | None = None) -> list[Any]:
    """The studies a search with these parameters matches, in fixture order."""
    if params.get("query.cond") == "no-such-condition":
        return []
    out = []
    geo = _GEO.match(params.get("filter.geo", ""))
    statuses = {
        s.strip().upper() for s in re.split(r"[,|]", params.get("filter.overallStatus", "")) if s
    }
    words = [w for w in params.get("query.intr", "").lower().replace("-", " ").split() if w]
    for study in STUDIES if studies is None else studies:
        ps = study["protocolSection"]
        if statuses and ps["statusModule"]["overallStatus"] not in statuses:
            continue
        if words and not all(w in _text_of(study).replace("-", " ") for w in words):
            continue
        if geo:
            lat, lon, radius = float(geo[1]), float(geo[2]), float(geo[3])
            radius_km = radius * 1.609344 if geo[4] == "mi" else radius
            points = [
                loc["geoPoint"]
                for loc in ps.get("contactsLocationsModule", {}).get("locations", [])
                if "geoPoint" in loc
            ]
            if not any(_km(lat, lon, p["lat"], p["lon"]) <= radius_km for p in points):
                continue
        out.append(study)
    return out


class TrialsStub(CtgovStub):
    """:class:`CtgovStub` that also answers ``GET /api/v2/studies`` (the search).

    Attributes
    ----------
    searches
        The query parameters of every search request received, in order (what left the client).
    raw_queries
        The raw query strings, as received.
    """

    def __init__(self, slow_s: float = 2.0, studies: list[dict[str, Any]] | None = None) -> None:
        super().__init__(slow_s=slow_s)
        self.studies = STUDIES if studies is None else studies
        self.searches: list[dict[str, str]] = []
        self.raw_queries: list[str] = []
        self._tries: Counter[str] = Counter()
        self._search_lock = threading.Lock()

    def clear(self) -> None:
        self.paths.clear()
        self.searches.clear()
        self.raw_queries.clear()
        self._tries.clear()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        if parts.path.rstrip("/") != SEARCH_PATH:
            super()._handle(h)
            return
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._search_lock:
            self.paths.append(h.path)
            self.searches.append(params)
            self.raw_queries.append(parts.query)
            cond = params.get("query.cond", "")
            attempt = self._tries[cond]
            self._tries[cond] += 1
        if cond == "down" or (cond in ("rate-limited", "server-error") and attempt == 0):
            status = 429 if cond == "rate-limited" else 503
            self._send_with(h, status, b'{"message": "try later"}', {"Retry-After": "0"})
            return
        if cond == "slow":
            self._stop.wait(self.slow_s)
        if cond == "garbled" or (cond == "garbled-once" and attempt == 0):
            body = b"<html>Maintenance</html>" if cond == "garbled" else b'{"studies": [{"pro'
            self._send(h, 200, "application/json", body)
            return
        found = matching(params, self.studies)
        size = max(1, min(1000, int(params.get("pageSize", "10") or 10)))
        token = params.get("pageToken", "")
        start = int(token.removeprefix("tok-")) if token.startswith("tok-") else 0
        if token and not token.startswith("tok-"):
            self._send(h, 400, "application/json", b'{"message": "bad pageToken"}')
            return
        if cond == "partial" and start // size == 2:
            self._send(h, 500, "application/json", b'{"message": "Internal error"}')
            return
        page: dict[str, Any] = {"studies": found[start : start + size]}
        if start + size < len(found):
            page["nextPageToken"] = f"tok-{start + size}"
        if params.get("countTotal") == "true" and not token:
            page["totalCount"] = len(found)
        self._send(h, 200, "application/json", json.dumps(page).encode())

    @staticmethod
    def _send_with(
        h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def start(self) -> TrialsStub:
        super().start()
        return self

    def __enter__(self) -> TrialsStub:
        return self.start()
