"""A local stand-in for the ClinicalTrials.gov API v2, for offline tests.

``GET /api/v2/studies/{nct_id}`` answers like the real service: the study record as JSON
(``protocolSection`` with ``identificationModule``, ``statusModule``,
``contactsLocationsModule.locations[]`` ...), or HTTP 404 for an unknown study.

The RESOLUTION record (NCT07085104) follows the real record's shape. Only the Mayo Clinic
(Rochester) site is known from public pages; the title wording and the other locations are made
up for the tests, to cover the cases
the importer must handle (another active status, a completed site, a site without ``geoPoint``).
Their ``geoPoint`` values are city centres, as ClinicalTrials.gov's are.

Scripted behaviours, by study number:

* ``NCT00000002``: a study that lists no locations yet.
* ``NCT00000003``: every site completed or terminated.
* ``NCT00000500``: HTTP 500 on the first request, then the record.
* ``NCT00000408``: answers only after ``slow_s`` seconds (for timeouts).
* ``NCT00000204``: HTTP 200 with an HTML page instead of JSON.
* anything else: HTTP 404.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RESOLUTION_NCT = "NCT07085104"
RESOLUTION_TITLE = "A Study of ALLO-329 in Adults With Autoimmune Disease (RESOLUTION)"


def _location(
    facility: str,
    city: str,
    state: str,
    zip_code: str,
    status: str | None,
    lat: float | None,
    lon: float | None,
    country: str = "United States",
) -> dict[str, Any]:
    loc: dict[str, Any] = {"facility": facility}
    if status is not None:
        loc["status"] = status
    loc.update({"city": city, "state": state, "zip": zip_code, "country": country})
    loc["contacts"] = [{"name": "Study Coordinator", "role": "CONTACT"}]
    if lat is not None and lon is not None:
        loc["geoPoint"] = {"lat": lat, "lon": lon}
    return loc


def _study(
    nct: str,
    title: str,
    overall: str,
    locations: list[dict[str, Any]] | None,
    acronym: str = "",
) -> dict[str, Any]:
    contacts: dict[str, Any] = {
        "centralContacts": [{"name": "Allogene Clinical Trials", "role": "CONTACT"}]
    }
    if locations is not None:
        contacts["locations"] = locations
    ident: dict[str, Any] = {
        "nctId": nct,
        "orgStudyIdInfo": {"id": "ALLO-329-101"},
        "organization": {"fullName": "Allogene Therapeutics", "class": "INDUSTRY"},
        "briefTitle": title,
    }
    if acronym:
        ident["acronym"] = acronym
    return {
        "protocolSection": {
            "identificationModule": ident,
            "statusModule": {
                "statusVerifiedDate": "2025-10",
                "overallStatus": overall,
                "startDateStruct": {"date": "2025-08-12", "type": "ACTUAL"},
            },
            "sponsorCollaboratorsModule": {
                "leadSponsor": {"name": "Allogene Therapeutics", "class": "INDUSTRY"}
            },
            "conditionsModule": {"conditions": ["Systemic Lupus Erythematosus"]},
            "designModule": {"studyType": "INTERVENTIONAL", "phases": ["PHASE1"]},
            "contactsLocationsModule": contacts,
        },
        "derivedSection": {"miscInfoModule": {"versionHolder": "2025-11-20"}},
        "hasResults": False,
    }


RESOLUTION = _study(
    RESOLUTION_NCT,
    RESOLUTION_TITLE,
    "RECRUITING",
    [
        _location(
            "Mayo Clinic", "Rochester", "Minnesota", "55905", "RECRUITING", 44.02163, -92.4699,
        ),
        _location(
            "Dana-Farber Cancer Institute", "Boston", "Massachusetts", "02215",
            "NOT_YET_RECRUITING", 42.35843, -71.05977,
        ),
        _location(
            "City of Hope Comprehensive Cancer Center", "Duarte", "California", "91010",
            "COMPLETED", 34.13945, -117.97729,
        ),
        _location(
            "Colorado Blood Cancer Institute", "Denver", "Colorado", "80218", "RECRUITING",
            None, None,
        ),
    ],
    acronym="RESOLUTION",
)  # fmt: skip

NO_LOCATIONS = _study("NCT00000002", "A Study Without Sites Yet", "NOT_YET_RECRUITING", None)

ALL_CLOSED = _study(
    "NCT00000003",
    "A Finished Study",
    "COMPLETED",
    [
        _location(
            "Mayo Clinic", "Rochester", "Minnesota", "55905", "COMPLETED", 44.02163, -92.4699,
        ),
        _location(
            "University of Minnesota Masonic Cancer Center", "Minneapolis", "Minnesota", "55455",
            "COMPLETED", 44.97997, -93.26384,
        ),
        _location(
            "Froedtert Hospital", "Milwaukee", "Wisconsin", "53226", "TERMINATED",
            43.0389, -87.90647,
        ),
    ],
)  # fmt: skip

FLAKY = _study(
    "NCT00000500",
    "A Study Behind a Flaky Server",
    "RECRUITING",
    [_location("Mayo Clinic", "Rochester", "Minnesota", "55905", "RECRUITING", 44.02163, -92.4699)],
)

STUDIES: dict[str, dict[str, Any]] = {
    s["protocolSection"]["identificationModule"]["nctId"]: s
    for s in (RESOLUTION, NO_LOCATIONS, ALL_CLOSED, FLAKY)
}
FAIL_FIRST: dict[str, list[int]] = {"NCT00000500": [500]}
SLOW_ID = "NCT00000408"
HTML_ID = "NCT00000204"
PREFIX = "/api/v2/studies/"


class CtgovStub:
    """The stub server, run in a background thread on 127.0.0.1 (a free port).

    Attributes
    ----------
    base_url
        Value for ``Settings.ctgov_base_url`` (``http://127.0.0.1:<port>/api/v2``).
    paths
        Every request path received, in order.
    """

    def __init__(self, slow_s: float = 2.0) -> None:
        self.slow_s = slow_s
        self.paths: list[str] = []
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                stub._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/api/v2"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def requests_for(self, nct: str) -> int:
        """How many requests asked for this study."""
        return sum(1 for p in self.paths if p.split("?", 1)[0] == PREFIX + nct)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.paths.append(h.path)
        path = h.path.split("?", 1)[0]
        if not path.startswith(PREFIX):
            self._send(h, 404, "text/plain", b"Not Found")
            return
        nct = path[len(PREFIX) :]
        if nct == SLOW_ID:
            self._stop.wait(self.slow_s)
            self._send(h, 200, "application/json", json.dumps(FLAKY).encode())
            return
        if nct == HTML_ID:
            self._send(h, 200, "text/html", b"<html><body>Maintenance</body></html>")
            return
        with self._lock:
            attempt = self._served[nct]
            self._served[nct] += 1
        failures = FAIL_FIRST.get(nct, [])
        if attempt < len(failures):
            self._send(h, failures[attempt], "application/json", b'{"message": "Server error"}')
            return
        study = STUDIES.get(nct)
        if study is None:
            self._send(h, 404, "text/plain", f"Study {nct} not found".encode())
            return
        self._send(h, 200, "application/json", json.dumps(study).encode())

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, kind: str, body: bytes) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", kind)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def start(self) -> CtgovStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> CtgovStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
