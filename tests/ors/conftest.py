"""Fixtures for the openrouteservice engine tests: a local ORS stub and a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from stub_ors import StubOrs

from geo.routing.ors import OrsRouter
from geo.settings import Settings

KEY = "test-key-123"


class FakeTime:
    """A monotonic clock that only moves when something sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ors_stub() -> Iterator[StubOrs]:
    """A started ORS stub that requires the key :data:`KEY` (like the public API)."""
    with StubOrs(api_key=KEY, max_pairs=3_500, max_range_s=3_600, max_locations=5) as stub:
        yield stub


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_router(ors_stub: StubOrs, fake_time: FakeTime) -> Callable[..., OrsRouter]:
    """Build an OrsRouter against the stub; by default it behaves as the public API.

    Backoff is deterministic (jitter factor 1: delays 1, 2, 4 ... s) and sleeps go to
    ``fake_time`` so tests never wait for real.
    """

    def make(public: bool = True, api_key: str | None = KEY, **kwargs: Any) -> OrsRouter:
        settings = Settings(
            ors_api_key=api_key,
            ors_base_url=kwargs.pop("base_url", ors_stub.url),
            http_timeout_s=kwargs.pop("timeout_s", 5.0),
            http_retries=kwargs.pop("retries", 3),
            http_backoff_s=1.0,
        )
        kwargs.setdefault("sleep", fake_time.sleep)
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("rng", lambda: 1.0)
        return OrsRouter(settings, public=public, **kwargs)

    return make
