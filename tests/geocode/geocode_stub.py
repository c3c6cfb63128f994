"""A local stub of the Census (one-line and batch) and openrouteservice geocoders, with answers in
their real shapes."""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAYO_ROCHESTER = (-92.4668, 44.0225)  # (lon, lat) of Mayo Clinic, 200 First St SW, Rochester MN


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def census_match(lon: float, lat: float, matched: str, n: int = 1) -> dict[str, Any]:
    """A Census Geocoder ``onelineaddress`` answer in its real JSON shape."""
    match = {
        "tigerLine": {"side": "L", "tigerLineId": "76259795"},
        "coordinates": {"x": lon, "y": lat},
        "addressComponents": {
            "zip": "55905",
            "streetName": "1ST",
            "preType": "",
            "city": "ROCHESTER",
            "preDirection": "",
            "suffixDirection": "SW",
            "fromAddress": "200",
            "state": "MN",
            "suffixType": "ST",
            "toAddress": "298",
            "suffixQualifier": "",
            "preQualifier": "",
        },
        "matchedAddress": matched,
    }
    return {
        "result": {
            "input": {
                "address": {"address": "(echoed input)"},
                "benchmark": {
                    "isDefault": True,
                    "benchmarkDescription": "Public Address Ranges - Current Benchmark",
                    "id": "4",
                    "benchmarkName": "Public_AR_Current",
                },
            },
            "addressMatches": [match] * n,
        }
    }


CENSUS_NO_MATCH: dict[str, Any] = {
    "result": {
        "input": {
            "address": {"address": "(echoed input)"},
            "benchmark": {"id": "4", "benchmarkName": "Public_AR_Current"},
        },
        "addressMatches": [],
    }
}


def ors_feature_collection(
    lon: float, lat: float, label: str, layer: str = "address"
) -> dict[str, Any]:
    """An openrouteservice ``/geocode/search`` answer (Pelias GeoJSON) in its real shape."""
    return {
        "geocoding": {
            "version": "0.2",
            "attribution": "https://openrouteservice.org/terms-of-service/#attribution-geocode",
            "query": {"size": 1, "boundary.country": ["USA"], "lang": {"iso6391": "en"}},
            "engine": {"name": "Pelias", "author": "Mapzen", "version": "1.0"},
            "timestamp": 1700000000000,
        },
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": "us/mn/statewide:abc",
                    "gid": "openaddresses:address:us/mn/statewide:abc",
                    "layer": layer,
                    "source": "openaddresses",
                    "name": "200 1st Street SW",
                    "housenumber": "200",
                    "street": "1st Street SW",
                    "postalcode": "55905",
                    "confidence": 1,
                    "match_type": "exact",
                    "accuracy": "point",
                    "country": "United States",
                    "country_a": "USA",
                    "region": "Minnesota",
                    "region_a": "MN",
                    "county": "Olmsted County",
                    "locality": "Rochester",
                    "label": label,
                },
            }
        ],
        "bbox": [lon, lat, lon, lat],
    }


@dataclass
class Reply:
    """A scripted answer: JSON for most bodies, text for a str, or ``body(request)`` if callable."""

    status: int = 200
    body: Any = None
    delay_s: float = 0.0


def census_batch_answer(
    matches: dict[str, tuple[float, float, str]],
    ties: frozenset[str] = frozenset(),
    non_exact: frozenset[str] = frozenset(),
    drop: frozenset[str] = frozenset(),
) -> Callable[[dict[str, Any]], str]:
    """A Census ``addressbatch`` answer computed from the uploaded file, as the Census writes it.

    Rows are looked up by their fields as the answer echoes them, ``"street, city, state, zip"``:
    ``matches`` maps them to (lon, lat, matched address); one in ``ties`` answers ``Tie``, in
    ``drop`` gets no line at all, any other ``No_Match``. Lines come back in reverse order (the
    real service does not keep the order).
    """

    def answer(request: dict[str, Any]) -> str:
        lines = []
        for rid, street, city, state, zip5 in csv.reader(
            io.StringIO(request["files"]["addressFile"])
        ):
            echoed = f"{street}, {city}, {state}, {zip5}"
            if echoed in drop:
                continue
            if echoed in matches:
                lon, lat, matched = matches[echoed]
                kind = "Non_Exact" if echoed in non_exact else "Exact"
                lines.append(
                    f'"{rid}","{echoed}","Match","{kind}","{matched}","{lon},{lat}","76259795","L"'
                )
            elif echoed in ties:
                lines.append(f'"{rid}","{echoed}","Tie"')
            else:
                lines.append(f'"{rid}","{echoed}","No_Match"')
        return "\n".join(reversed(lines)) + "\n"

    return answer


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(form fields, files) of a multipart/form-data body, as text."""
    message = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: dict[str, str] = {}
    files: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        text = payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)
        (files if part.get_filename() else form)[str(name)] = text
    return form, files


@dataclass
class StubGeocoder:
    """A local HTTP server; each path answers from a script of replies (the last one repeats)."""

    url: str = ""
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def script(self, path: str, *replies: Reply) -> None:
        self.scripts[path] = list(replies)

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def next_reply(self, path: str) -> Reply:
        replies = self.scripts.get(path)
        if not replies:
            return Reply(404, {"error": "no such path in the stub"})
        return replies.pop(0) if len(replies) > 1 else replies[0]


def _handler(stub: StubGeocoder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            stub.requests.append(
                {
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": dict(self.headers.items()),
                }
            )
            self._answer(stub.next_reply(parts.path), stub.requests[-1])

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            form, files = _multipart(self.headers.get("Content-Type", ""), body)
            request = {
                "path": parts.path,
                "form": form,
                "files": files,
                "headers": dict(self.headers.items()),
            }
            stub.requests.append(request)
            self._answer(stub.next_reply(parts.path), request)

        def _answer(self, reply: Reply, request: dict[str, Any]) -> None:
            if reply.delay_s:
                time.sleep(reply.delay_s)
            body = reply.body(request) if callable(reply.body) else reply.body
            text = isinstance(body, str)
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def start_stub() -> tuple[StubGeocoder, ThreadingHTTPServer]:
    """Start a stub geocoder on 127.0.0.1 (random port) in a daemon thread."""
    state = StubGeocoder()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.block_on_close = False
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
