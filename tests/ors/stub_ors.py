"""A local stand-in for openrouteservice that speaks the ORS v2 protocol (for offline tests).

Runs ``http.server`` in a thread on ``127.0.0.1`` (free port) and answers

* ``POST /v2/matrix/{profile}/json`` — ``durations``/``distances`` for ``sources`` ×
  ``destinations`` (indices into ``locations``), ``null`` where a location is unreachable;
* ``POST /v2/isochrones/{profile}/geojson`` — a FeatureCollection of polygons with
  ``group_index``, ``value`` (seconds) and ``center`` properties;
* ``POST /v2/directions/{profile}/geojson`` — a FeatureCollection with one LineString and its
  ``summary`` (``duration``, ``distance``);
* ``GET /geocode/search?text=...`` — a Pelias-like FeatureCollection of canned places.

Drive times follow a rule simple enough to assert exact numbers: the L1 distance in degrees
(``|Δlon| + |Δlat|``) at :attr:`StubOrs.km_per_degree` = 100 km per degree, driven at 60 km/h —
i.e. **6,000 s and 100,000 m per degree**. Isochrones are the matching L1 "diamonds".

Failures are scripted per endpoint (``matrix``, ``isochrones``, ``directions``, ``geocode`` or
``*``) and consumed in order, e.g. ``stub.script("matrix", 429, 429)`` (answer 429 twice, then
normally), ``stub.script("*", Fail(500))``, ``stub.script("matrix", Fail(403))``,
``stub.script("isochrones", slow(2.0))`` (answer only after 2 s). Every request is recorded in
:attr:`StubOrs.requests`.

Use it as a context manager::

    with StubOrs(api_key="k") as stub:
        OrsRouter(base_url=stub.url, api_key="k").drive_times(...)

Other test folders can import it by path (``tests/ors`` has no ``__init__.py``)::

    spec = importlib.util.spec_from_file_location("stub_ors", ROOT / "tests/ors/stub_ors.py")
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

ENDPOINTS = ("matrix", "isochrones", "directions", "geocode")


@dataclass(frozen=True)
class Fail:
    """A scripted answer: an HTTP ``status`` (None = the normal answer) after ``sleep_s``."""

    status: int | None = 500
    body: Any = None
    retry_after: str | float | None = None
    sleep_s: float = 0.0


def slow(seconds: float) -> Fail:
    """Answer normally, but only after ``seconds`` (to trigger client timeouts)."""
    return Fail(status=None, sleep_s=seconds)


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    endpoint: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    at: float
    status: int = 0

    @property
    def n_pairs(self) -> int:
        """Matrix cells asked for (sources × destinations)."""
        if self.endpoint != "matrix" or not isinstance(self.body, dict):
            return 0
        n = len(self.body.get("locations", []))
        return len(self.body.get("sources", range(n))) * len(
            self.body.get("destinations", range(n))
        )


@dataclass
class Place:
    lon: float
    lat: float
    label: str
    layer: str = "address"
    confidence: float = 1.0
    properties: dict[str, Any] = field(default_factory=dict)


def _error(code: int | None, message: str) -> dict[str, Any]:
    if code is None:
        return {"error": message}
    return {"error": {"code": code, "message": message}, "info": {"engine": {"version": "stub"}}}


class StubOrs:
    """A scripted openrouteservice on 127.0.0.1 (see the module docstring).

    Parameters
    ----------
    api_key
        When set, requests need ``Authorization: <key>`` (or ``api_key=`` in a GET query):
        missing -> 401, wrong -> 403, as the real API does.
    max_pairs, max_range_s, max_locations, max_intervals
        Server limits; a request beyond them gets HTTP 400 with the ORS error code (6004, 3004).
        None = unlimited.
    unreachable
        (lon, lat) locations that no route reaches: ``null`` in matrices, 404 (code 2009) for
        directions.
    """

    km_per_degree = 100.0
    speed_kmh = 60.0

    def __init__(
        self,
        api_key: str | None = None,
        *,
        max_pairs: int | None = None,
        max_range_s: float | None = None,
        max_locations: int | None = None,
        max_intervals: int | None = None,
        unreachable: Iterable[tuple[float, float]] = (),
    ) -> None:
        self.api_key = api_key
        self.max_pairs = max_pairs
        self.max_range_s = max_range_s
        self.max_locations = max_locations
        self.max_intervals = max_intervals
        self.unreachable = {(float(a), float(b)) for a, b in unreachable}
        self.requests: list[Recorded] = []
        self.places: dict[str, list[Place]] = {}
        self.canned: dict[str, Any] = {}
        self._scripts: dict[str, deque[Fail]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the drive-time rule ---------------------------------------------------------------
    @classmethod
    def seconds_per_degree(cls) -> float:
        return cls.km_per_degree / cls.speed_kmh * 3600.0

    @classmethod
    def seconds(cls, a: tuple[float, float], b: tuple[float, float]) -> float:
        """The stub's drive time in seconds between two (lon, lat) points."""
        return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * cls.seconds_per_degree()

    @classmethod
    def meters(cls, a: tuple[float, float], b: tuple[float, float]) -> float:
        """The stub's road distance in metres between two (lon, lat) points."""
        return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * cls.km_per_degree * 1000.0

    # -- set-up ----------------------------------------------------------------------------
    def script(self, endpoint: str, *answers: int | Fail) -> None:
        """Queue answers for the next requests to ``endpoint`` (or ``*``): ints are statuses."""
        if endpoint not in (*ENDPOINTS, "*"):
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            queue = self._scripts.setdefault(endpoint, deque())
            queue.extend(Fail(a) if isinstance(a, int) else a for a in answers)

    def set_answer(self, endpoint: str, body: Any) -> None:
        """Answer every request to ``endpoint`` with this JSON body (instead of computing one)."""
        self.canned[endpoint] = body

    def add_place(
        self,
        text: str,
        lon: float,
        lat: float,
        label: str | None = None,
        layer: str = "address",
        confidence: float = 1.0,
        **properties: Any,
    ) -> None:
        """Make ``GET /geocode/search?text=<text>`` (case-insensitive) find this place."""
        place = Place(lon, lat, label or text, layer, confidence, properties)
        self.places.setdefault(text.strip().lower(), []).append(place)

    def requests_to(self, endpoint: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("stub not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StubOrs:
        handler = type("Handler", (_Handler,), {"stub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StubOrs:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering -------------------------------------------------------------------------
    def _next_script(self, endpoint: str) -> Fail | None:
        with self._lock:
            for key in (endpoint, "*"):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _auth(self, rec: Recorded) -> tuple[int, Any] | None:
        if self.api_key is None:
            return None
        given = rec.headers.get("authorization") or (rec.query.get("api_key") or [None])[0]
        if not given:
            return 401, _error(None, "Authorization field missing")
        if given != self.api_key:
            return 403, _error(None, "Access to this API has been disallowed")
        return None

    def handle(self, rec: Recorded) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body and extra headers for one request."""
        with self._lock:
            self.requests.append(rec)
        scripted = self._next_script(rec.endpoint)
        if scripted is not None:
            if scripted.sleep_s:
                time.sleep(scripted.sleep_s)
            if scripted.status is not None:
                headers = {}
                if scripted.retry_after is not None:
                    headers["Retry-After"] = str(scripted.retry_after)
                body = scripted.body
                if body is None:
                    body = _error(None, f"scripted HTTP {scripted.status}")
                return scripted.status, body, headers
        denied = self._auth(rec)
        if denied is not None:
            return denied[0], denied[1], {}
        if rec.endpoint in self.canned:
            return 200, self.canned[rec.endpoint], {}
        answer = {
            "matrix": self._matrix,
            "isochrones": self._isochrones,
            "directions": self._directions,
            "geocode": self._geocode,
        }.get(rec.endpoint)
        if answer is None or (rec.endpoint != "geocode" and rec.method != "POST"):
            return 404, _error(None, f"no such endpoint {rec.path}"), {}
        status, body = answer(rec)
        return status, body, {}

    def _matrix(self, rec: Recorded) -> tuple[int, Any]:
        body = rec.body or {}
        locs = np.asarray(body.get("locations", []), dtype=float).reshape(-1, 2)
        src = [int(i) for i in body.get("sources", range(len(locs)))]
        dst = [int(i) for i in body.get("destinations", range(len(locs)))]
        if self.max_pairs is not None and len(src) * len(dst) > self.max_pairs:
            return 400, _error(
                6004,
                "Request parameters exceed the server configuration limits. Only a total of "
                f"{self.max_pairs} routes are allowed.",
            )
        a, b = locs[src], locs[dst]
        deg = np.abs(a[:, None, 0] - b[None, :, 0]) + np.abs(a[:, None, 1] - b[None, :, 1])
        blocked = np.array([tuple(p) in self.unreachable for p in locs.tolist()], dtype=bool)
        cut = blocked[src][:, None] | blocked[dst][None, :]
        same = deg == 0
        cut &= ~same
        durations = np.where(cut, np.nan, deg * self.seconds_per_degree())
        distances = np.where(cut, np.nan, deg * self.km_per_degree * 1000.0)
        metrics = body.get("metrics", ["duration"])

        def table(x: np.ndarray) -> list[list[float | None]]:
            return [[None if np.isnan(v) else round(float(v), 2) for v in row] for row in x]

        out: dict[str, Any] = {
            "sources": [{"location": locs[i].tolist()} for i in src],
            "destinations": [{"location": locs[i].tolist()} for i in dst],
            "metadata": {"service": "matrix", "engine": {"version": "stub"}},
        }
        if "duration" in metrics:
            out["durations"] = table(durations)
        if "distance" in metrics:
            out["distances"] = table(distances)
        return 200, out

    def _isochrones(self, rec: Recorded) -> tuple[int, Any]:
        body = rec.body or {}
        locs = [tuple(map(float, p)) for p in body.get("locations", [])]
        ranges = [float(r) for r in body.get("range", [])]
        if body.get("range_type", "time") != "time":
            return 400, _error(3003, "stub answers range_type=time only")
        if self.max_locations is not None and len(locs) > self.max_locations:
            return 400, _error(
                3004, f"Parameter 'locations' exceeds the maximum of {self.max_locations}."
            )
        if self.max_intervals is not None and len(ranges) > self.max_intervals:
            return 400, _error(
                3004, f"Parameter 'range' has more than {self.max_intervals} values."
            )
        if self.max_range_s is not None and ranges and max(ranges) > self.max_range_s:
            return 400, _error(
                3004,
                f"Parameter 'range={max(ranges)}' is out of range. Maximum possible value is "
                f"{self.max_range_s}.",
            )
        features = []
        for g, (lon, lat) in enumerate(locs):
            for r in sorted(ranges):
                d = r / self.seconds_per_degree()
                ring = [[lon + d, lat], [lon, lat + d], [lon - d, lat], [lon, lat - d]]
                features.append(
                    {
                        "type": "Feature",
                        "properties": {"group_index": g, "value": r, "center": [lon, lat]},
                        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                    }
                )
        return 200, {
            "type": "FeatureCollection",
            "features": features,
            "metadata": {"service": "isochrones", "query": body},
        }

    def _directions(self, rec: Recorded) -> tuple[int, Any]:
        body = rec.body or {}
        coords = [tuple(map(float, p)) for p in body.get("coordinates", [])]
        if len(coords) < 2:
            return 400, _error(2003, "Parameter 'coordinates' is missing a value.")
        a, b = coords[0], coords[-1]
        if a in self.unreachable or b in self.unreachable:
            return 404, _error(2009, "Route could not be found - Unable to find a route.")
        line = [list(a), [b[0], a[1]], list(b)]
        return 200, {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "summary": {"distance": self.meters(a, b), "duration": self.seconds(a, b)},
                        "way_points": [0, 2],
                    },
                    "geometry": {"type": "LineString", "coordinates": line},
                }
            ],
            "metadata": {"service": "routing"},
        }

    def _geocode(self, rec: Recorded) -> tuple[int, Any]:
        text = (rec.query.get("text") or [""])[0]
        if not text.strip():
            return 400, _error(None, "invalid param 'text': text length, must be >0")
        size = int((rec.query.get("size") or ["10"])[0])
        places = self.places.get(text.strip().lower(), [])[:size]
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
                "properties": {
                    "layer": p.layer,
                    "source": "openstreetmap",
                    "name": p.label.split(",")[0],
                    "label": p.label,
                    "confidence": p.confidence,
                    "match_type": "exact" if p.confidence >= 0.9 else "fallback",
                    "accuracy": "point" if p.layer in ("address", "venue") else "centroid",
                    **p.properties,
                },
            }
            for p in places
        ]
        return 200, {
            "geocoding": {"version": "0.2", "query": {"text": text, "size": size}},
            "type": "FeatureCollection",
            "features": features,
        }


class _Handler(BaseHTTPRequestHandler):
    stub: StubOrs

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        endpoint = segments[1] if segments[:1] == ["v2"] and len(segments) > 1 else ""
        if parts.path.rstrip("/") == "/geocode/search":
            endpoint = "geocode"
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(
            method=method,
            path=parts.path,
            endpoint=endpoint,
            query=parse_qs(parts.query),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
            at=time.monotonic(),
        )
        status, answer, headers = self.stub.handle(rec)
        rec.status = status
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")
