"""The test harness itself: a developer's exported settings never leak into a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_cache_dir_is_the_runs_own() -> None:
    """Inner half of the test below (also true on its own: the cache is a fresh temp folder)."""
    cache = os.environ["TRIALREACH_CACHE_DIR"]
    report = os.environ.get("TRIALREACH_TEST_REPORT")
    from geo.settings import get_settings

    assert str(get_settings().cache_dir) == cache
    if report:
        Path(report).write_text(cache)
    if not os.environ.get("TRIALREACH_TEST_CACHE_DIR"):
        assert Path(cache).name.startswith("trialreach-test-cache-")


def test_exported_cache_dir_does_not_leak_and_temp_cache_is_removed(tmp_path: Path) -> None:
    dev_cache = tmp_path / "developer-cache"
    dev_cache.mkdir()
    report = tmp_path / "report.txt"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TRIALREACH_TEST_CACHE_DIR", "TRIALREACH_CACHE_DIR")
    }
    env.update(
        TRIALREACH_CACHE_DIR=str(dev_cache),
        TRIALREACH_HTTP_RETRIES="-1",  # a broken developer setting must not reach the tests
        TRIALREACH_TEST_REPORT=str(report),
    )
    node = f"{Path(__file__).relative_to(ROOT)}::test_cache_dir_is_the_runs_own"
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    used = Path(report.read_text())
    assert used != dev_cache and not any(dev_cache.iterdir())
    assert not used.exists()  # removed at the end of the run


@pytest.mark.parametrize("name", ["TRIALREACH_HTTP_RETRIES", "TRIALREACH_ENGINE", "ORS_BASE_URL"])
def test_no_product_setting_from_the_environment(name: str) -> None:
    assert name not in os.environ
