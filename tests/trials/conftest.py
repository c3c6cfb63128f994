"""Fixtures for the trial search tests: the ClinicalTrials.gov stub with search, settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.settings import Settings

from .stub_trials import TrialsStub


@pytest.fixture(scope="module")
def trials_stub_server() -> Iterator[TrialsStub]:
    with TrialsStub(slow_s=1.5) as stub:
        yield stub


@pytest.fixture
def stub(trials_stub_server: TrialsStub) -> TrialsStub:
    """The running stub, with its request log and fault counters cleared."""
    trials_stub_server.clear()
    return trials_stub_server


@pytest.fixture
def settings(stub: TrialsStub, tmp_path: Path) -> Settings:
    """Settings aimed at the stub: short timeout, fast retries, a private cache."""
    return Settings(
        ctgov_base_url=stub.base_url,
        cache_dir=tmp_path / "cache",
        data_dir=Settings().data_dir,
        engine="estimate",
        http_timeout_s=0.5,
        http_retries=2,
        http_backoff_s=0.01,
    )
