"""A local stand-in for download.geofabrik.de (offline tests of the extract downloads).

Serves files under Geofabrik-like paths (``/north-america/us/<slug>-latest.osm.pbf``) with the
``.md5`` file next to each (``<md5>  <filename>``, computed from the bytes unless overridden),
honours ``Range: bytes=N-`` (206 with ``Content-Range``; 416 past the end) and ``HEAD``.

Failures are scripted per path and consumed in order::

    stub.script("/north-america/us/ohio-latest.osm.pbf", Drop(after_bytes=1000), Status(503))

``Drop`` sends the headers (full ``Content-Length``) and then closes the connection after
``after_bytes`` body bytes; ``Status`` answers an HTTP error; ``IgnoreRange`` answers 200 with
the whole file even when a Range was asked for. Every request is recorded in
:attr:`GeofabrikStub.requests` with the Range asked for and the body bytes actually sent.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Status:
    status: int = 503


@dataclass(frozen=True)
class Drop:
    after_bytes: int


@dataclass(frozen=True)
class IgnoreRange:
    pass


@dataclass
class Recorded:
    method: str
    path: str
    range: str | None
    status: int = 0
    body_bytes: int = 0


class GeofabrikStub:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.md5_override: dict[str, str] = {}
        self.requests: list[Recorded] = []
        self._scripts: dict[str, deque[Any]] = defaultdict(deque)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                stub._handle(self, head=True)

            def do_GET(self) -> None:
                stub._handle(self, head=False)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hang up on purpose (416, disk full): not worth a traceback

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- set-up -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, data: bytes, md5: str | None = None) -> None:
        self.files[path] = data
        if md5 is not None:
            self.md5_override[path] = md5

    def script(self, path: str, *actions: Any) -> None:
        with self._lock:
            self._scripts[path].extend(actions)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()
            self.md5_override.clear()

    def requests_for(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> GeofabrikStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- serving ----------------------------------------------------------------------------
    def _next_action(self, path: str) -> Any:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.popleft() if queue else None

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = h.path.split("?", 1)[0]
        rec = Recorded(h.command, path, h.headers.get("Range"))
        with self._lock:
            self.requests.append(rec)
        action = self._next_action(path)
        if isinstance(action, Status):
            self._send(h, rec, action.status, b"scripted failure", head)
            return
        if path.endswith(".md5") and path[: -len(".md5")] in self.files:
            target = path[: -len(".md5")]
            digest = self.md5_override.get(target) or hashlib.md5(self.files[target]).hexdigest()
            name = target.rsplit("/", 1)[-1]
            self._send(h, rec, 200, f"{digest}  {name}\n".encode(), head)
            return
        if path not in self.files:
            self._send(h, rec, 404, b"Not Found", head)
            return
        data = self.files[path]
        start = 0
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        if rec.range and not isinstance(action, IgnoreRange):
            start = int(rec.range.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                headers["Content-Range"] = f"bytes */{len(data)}"
                self._send(h, rec, 416, b"", head, headers)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if isinstance(action, Drop):
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Connection", "close")
            h.end_headers()
            part = body[: action.after_bytes]
            # Recorded before the body goes out: once the client has the bytes, the test may
            # read the record at once (recording afterwards raced with it under load).
            rec.status, rec.body_bytes = status, len(part)
            h.wfile.write(part)
            h.wfile.flush()
            h.close_connection = True
            return
        self._send(h, rec, status, body, head, headers)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        rec: Recorded,
        status: int,
        body: bytes,
        head: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Recorded before anything is sent, so the record is complete when the client is done.
        rec.status, rec.body_bytes = status, 0 if head else len(body)
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)
