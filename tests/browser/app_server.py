"""What the browser tests share: the app under ``streamlit run`` and the page helpers."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import ConsoleMessage, FrameLocator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(
    os.environ.get("TRIALREACH_SCREENSHOT_DIR")
    or tempfile.mkdtemp(prefix="trialreach-screenshots-")
)
MAP = "iframe[title='streamlit_folium.st_folium']"
SLOW = 120_000  # ms: the first request builds the demo road graph


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_app(log: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, offline map tiles, default engine.

    Yields the base URL once the server answers its health probe (which opens no session: the
    first page a test opens is the server's first). Output goes to ``log``.
    """
    port = _free_port()
    env = {**os.environ, "TRIALREACH_MAP_TILES": "none"}
    env.pop("TRIALREACH_ENGINE", None)  # the app's own default: the local demo graph
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                "--server.headless", "true",
                "--server.port", str(port),
                "--server.address", "127.0.0.1",
                "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _probe(url: str) -> bool:
    """Streamlit's frontend, opened on a page URL (/patient), first probes the server under that
    path (/patient/_stcore/health) to find its base path; those 404s are expected."""
    return url.endswith(("/_stcore/health", "/_stcore/host-config"))


def watch_errors(page: Page) -> list[str]:
    """Collect JavaScript errors (page and component iframes), console errors, failed requests."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

    def console(m: ConsoleMessage) -> None:
        if m.type == "error" and not _probe(str(m.location.get("url", ""))):
            errors.append(f"console: {m.text} ({m.location.get('url', '')})")

    page.on("console", console)
    page.on(
        "response",
        lambda r: (
            errors.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and not _probe(r.url)
            else None
        ),
    )
    return errors


def map_frame(page: Page) -> FrameLocator:
    """The last Folium map of the page, once Leaflet has drawn it at a usable height."""
    iframe = page.locator(MAP).last
    expect(iframe).to_be_visible(timeout=SLOW)
    frame = page.frame_locator(MAP).last
    expect(frame.locator(".leaflet-container")).to_be_visible(timeout=SLOW)
    box = iframe.bounding_box()
    assert box is not None and box["height"] > 200, box
    return frame


def shot(page: Page, name: str) -> None:
    """A full-page screenshot into SHOTS (a temporary folder unless TRIALREACH_SCREENSHOT_DIR)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let Leaflet finish drawing
    page.screenshot(path=str(SHOTS / name), full_page=True)
