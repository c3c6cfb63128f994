"""Downloading extracts from a local Geofabrik stand-in: verify, reuse, resume, fail clearly."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from geo.errors import GraphBuildError, NetworkError
from geo.osm import download as dl
from geo.osm.download import download_extract
from geo.osm.geofabrik import Extract, extract_from_row, load_extract_index
from geo.osm.progress import ProgressEvent
from geo.settings import Settings

from .conftest import DATA, OH_PATH, PA_PATH
from .geofabrik_stub import Drop, GeofabrikStub, IgnoreRange, Status

PA_BYTES = (DATA / "osm" / "harrisburg.osm.pbf").read_bytes()
PA_MD5 = hashlib.md5(PA_BYTES).hexdigest()
PA_FILE = "pennsylvania-latest.osm.pbf"


@pytest.fixture
def pa(settings: Settings, fake_index_path: Path) -> Extract:
    index = load_extract_index(settings, fake_index_path)
    row = index[index["name"] == "Pennsylvania"].iloc[0]
    return extract_from_row(row)


def _gets(stub: GeofabrikStub) -> list[Any]:
    return [r for r in stub.requests_for(PA_PATH) if r.method == "GET"]


def test_download_verifies_and_keeps_the_md5(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    events: list[ProgressEvent] = []
    res = download_extract(pa, settings, progress=events.append)
    assert res.path == settings.cache_dir / "downloads" / PA_FILE
    assert res.path.read_bytes() == PA_BYTES
    assert res.md5 == PA_MD5
    assert (res.size_bytes, res.downloaded_bytes, res.resumed_from_bytes) == (
        len(PA_BYTES),
        len(PA_BYTES),
        0,
    )
    assert (res.path.parent / f"{PA_FILE}.md5").read_text() == f"{PA_MD5}  {PA_FILE}\n"
    assert not (res.path.parent / f"{PA_FILE}.part").exists()
    assert [r.path for r in stub.requests] == [PA_PATH + ".md5", PA_PATH]
    downloads = [e for e in events if e.stage == "download"]
    assert downloads[-1].done == downloads[-1].total == len(PA_BYTES)
    assert [e.done for e in downloads] == sorted(e.done for e in downloads)
    assert events[-1].stage == "verify" and events[-1].done == len(PA_BYTES)


def test_verified_file_is_reused_without_network(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    download_extract(pa, settings)
    stub.reset()
    again = download_extract(pa, settings.with_(geofabrik_base_url="http://127.0.0.1:9"))
    assert again.reused and again.md5 == PA_MD5
    assert stub.requests == []


def test_refresh_asks_for_the_md5_only(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    download_extract(pa, settings)
    stub.reset()
    again = download_extract(pa, settings, refresh=True)
    assert again.reused
    assert [r.path for r in stub.requests] == [PA_PATH + ".md5"]


def test_damaged_local_copy_is_downloaded_again(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    res = download_extract(pa, settings)
    res.path.write_bytes(PA_BYTES[:-10] + b"0123456789")
    stub.reset()
    again = download_extract(pa, settings)
    assert again.downloaded_bytes == len(PA_BYTES)
    assert again.path.read_bytes() == PA_BYTES


def _partial(settings: Settings, n: int, md5: str = PA_MD5) -> Path:
    folder = settings.cache_dir / "downloads"
    folder.mkdir(parents=True)
    part = folder / f"{PA_FILE}.part"
    part.write_bytes(PA_BYTES[:n])
    (folder / f"{PA_FILE}.part.json").write_text(json.dumps({"md5": md5}))
    return part


def test_resume_requests_only_the_remaining_bytes(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    have = 150_000
    _partial(settings, have)
    res = download_extract(pa, settings)
    gets = _gets(stub)
    assert len(gets) == 1
    assert gets[0].range == f"bytes={have}-"
    assert (gets[0].status, gets[0].body_bytes) == (206, len(PA_BYTES) - have)
    assert (res.resumed_from_bytes, res.downloaded_bytes) == (have, len(PA_BYTES) - have)
    assert res.path.read_bytes() == PA_BYTES


def test_complete_part_file_is_verified_not_downloaded(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    _partial(settings, len(PA_BYTES))
    res = download_extract(pa, settings)
    assert _gets(stub)[0].status == 416
    assert res.downloaded_bytes == 0 and res.path.read_bytes() == PA_BYTES


def test_partial_of_an_older_version_is_discarded(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    _partial(settings, 150_000, md5="0" * 32)
    res = download_extract(pa, settings)
    gets = _gets(stub)
    assert len(gets) == 1 and gets[0].range is None
    assert res.resumed_from_bytes == 0 and res.path.read_bytes() == PA_BYTES


def test_dropped_connection_resumes_where_it_stopped(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    stub.script(PA_PATH, Drop(after_bytes=100_000), Drop(after_bytes=50_000))
    res = download_extract(pa, settings)
    gets = _gets(stub)
    assert [g.range for g in gets] == [None, "bytes=100000-", "bytes=150000-"]
    assert sum(g.body_bytes for g in gets) == len(PA_BYTES)
    assert res.path.read_bytes() == PA_BYTES


def test_server_ignoring_range_restarts_cleanly(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    _partial(settings, 100_000)
    stub.script(PA_PATH, IgnoreRange())
    res = download_extract(pa, settings)
    assert _gets(stub)[0].status == 200
    assert (res.resumed_from_bytes, res.downloaded_bytes) == (0, len(PA_BYTES))
    assert res.path.read_bytes() == PA_BYTES


def test_checksum_mismatch_deletes_the_download(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    stub.md5_override[PA_PATH] = "f" * 32
    with pytest.raises(GraphBuildError) as err:
        download_extract(pa, settings)
    text = str(err.value)
    assert "checksum mismatch" in text and "deleted" in text and PA_MD5 in text
    folder = settings.cache_dir / "downloads"
    assert sorted(p.name for p in folder.iterdir()) == []


def test_server_errors_after_retries_say_the_download_resumes(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    stub.script(PA_PATH, Drop(after_bytes=80_000), *[Status(503)] * 3)
    with pytest.raises(NetworkError) as err:
        download_extract(pa, settings)
    assert "HTTP 503 after 3 tries" in str(err.value)
    assert "resumes where it stopped" in str(err.value)
    assert len(_gets(stub)) == 4  # the drop, then 1 + http_retries (2) failing tries
    part = settings.cache_dir / "downloads" / f"{PA_FILE}.part"
    assert part.stat().st_size == 80_000
    stub.reset()
    res = download_extract(pa, settings)  # running again finishes the job
    assert res.resumed_from_bytes == 80_000 and res.path.read_bytes() == PA_BYTES


def test_transient_503_is_retried(stub: GeofabrikStub, settings: Settings, pa: Extract) -> None:
    stub.script(PA_PATH, Status(503))
    res = download_extract(pa, settings)
    assert [g.status for g in _gets(stub)] == [503, 200]
    assert res.md5 == PA_MD5


def test_unreachable_server_is_a_network_error(settings: Settings, pa: Extract) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetworkError, match="could not be reached"):
        download_extract(pa, settings.with_(geofabrik_base_url=f"http://127.0.0.1:{port}"))


def test_missing_extract_points_to_build_from_file(
    stub: GeofabrikStub, settings: Settings, pa: Extract
) -> None:
    gone = Extract(
        "Atlantis",
        "99",
        "atlantis",
        "north-america/us/atlantis-latest.osm.pbf",
        (0.0, 0.0, 1.0, 1.0),
    )
    with pytest.raises(GraphBuildError, match=r"no extract at .*atlantis.*--pbf FILE"):
        download_extract(gone, settings)


def test_disk_full_is_reported_before_writing(
    stub: GeofabrikStub, settings: Settings, pa: Extract, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Usage:
        free = 1000

    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _: Usage)
    with pytest.raises(GraphBuildError, match=r"disk is full .*TRIALREACH_CACHE_DIR") as err:
        download_extract(pa, settings)
    assert f"{(len(PA_BYTES) - 1000) / 1e6:,.0f} MB more" in str(err.value)
    part = settings.cache_dir / "downloads" / f"{PA_FILE}.part"
    assert not part.exists() or part.stat().st_size == 0


def test_ohio_is_served_too(stub: GeofabrikStub, settings: Settings, fake_index_path: Path) -> None:
    index = load_extract_index(settings, fake_index_path)
    oh = extract_from_row(index[index["name"] == "Ohio"].iloc[0])
    res = download_extract(oh, settings)
    assert res.path.name == "ohio-latest.osm.pbf"
    assert res.size_bytes == (DATA / "osm" / "columbus.osm.pbf").stat().st_size
    assert stub.requests_for(OH_PATH)[0].status == 200
