"""Fixtures for the ClinicalTrials.gov import tests: a local stub server, settings aimed at it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.settings import Settings

from .stub_ctgov import CtgovStub


@pytest.fixture(scope="module")
def ctgov_stub() -> Iterator[CtgovStub]:
    with CtgovStub(slow_s=2.0) as stub:
        yield stub


@pytest.fixture
def stub(ctgov_stub: CtgovStub) -> CtgovStub:
    """The running stub, with its request log cleared."""
    ctgov_stub.paths.clear()
    return ctgov_stub


@pytest.fixture
def ctgov_settings(stub: CtgovStub, tmp_path: Path) -> Settings:
    """Settings pointing at the stub, with a short timeout and fast retries."""
    return Settings(
        ctgov_base_url=stub.base_url,
        cache_dir=tmp_path / "cache",
        http_timeout_s=0.3,
        http_retries=2,
        http_backoff_s=0.01,
    )


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"
