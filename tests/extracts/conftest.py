"""Fixtures for the Geofabrik extract tests: a local download server and settings aimed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from geo.settings import PROJECT_ROOT, Settings

from .geofabrik_stub import GeofabrikStub

DATA = PROJECT_ROOT / "data"
PA_PATH = "/north-america/us/pennsylvania-latest.osm.pbf"
OH_PATH = "/north-america/us/ohio-latest.osm.pbf"
FAKE_INDEX = """name,fips,slug,geofabrik_path,minlon,minlat,maxlon,maxlat
Ohio,39,ohio,north-america/us/ohio-latest.osm.pbf,-84.821,38.403,-80.518,41.978
Pennsylvania,42,pennsylvania,north-america/us/pennsylvania-latest.osm.pbf,-80.520,39.719,-74.689,42.270
"""


@pytest.fixture(scope="session")
def geofabrik_server() -> Iterator[GeofabrikStub]:
    """Serves the shipped Harrisburg extract as Pennsylvania and Columbus as Ohio."""
    with GeofabrikStub() as stub:
        stub.add(PA_PATH, (DATA / "osm" / "harrisburg.osm.pbf").read_bytes())
        stub.add(OH_PATH, (DATA / "osm" / "columbus.osm.pbf").read_bytes())
        yield stub


@pytest.fixture
def stub(geofabrik_server: GeofabrikStub) -> Iterator[GeofabrikStub]:
    geofabrik_server.reset()
    yield geofabrik_server
    geofabrik_server.reset()


@pytest.fixture
def settings(stub: GeofabrikStub, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=DATA,
        cache_dir=tmp_path / "cache",
        geofabrik_base_url=stub.base_url,
        http_timeout_s=5.0,
        http_retries=2,
        http_backoff_s=0.01,
    )


@pytest.fixture
def fake_index_path(tmp_path: Path) -> Path:
    path = tmp_path / "index.csv"
    path.write_text(FAKE_INDEX)
    return path
