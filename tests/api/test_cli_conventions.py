"""CLI conventions: lazy commands, --version, -v without addresses, the cache commands."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import numpy as np
import pytest
from typer.testing import CliRunner

from trialreach.cli import COMMANDS, app, load_command

runner = CliRunner()


def test_help_lists_every_command_without_importing_them():
    code = (
        "import sys\n"
        "sys.argv = ['trialreach', '--help']\n"
        "from trialreach.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'geopandas', 'streamlit', 'numpy', 'geo.routing',"
        " 'trialreach.commands.check', 'typer.rich_utils', 'rich.markdown')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert "HEAVY []" in out.stdout
    for name, spec in COMMANDS.items():
        assert name in out.stdout and spec.summary[:40] in out.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_summaries_are_the_commands_own_help(name):
    command = load_command(name)
    assert command.name == name
    assert " ".join(command.help.split()).startswith(" ".join(COMMANDS[name].summary.split()))


def test_version_comes_from_the_package_metadata():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"trialreach {version('trialreach')}"


def test_verbose_logs_steps_but_never_the_address(tmp_path):
    env = {"TRIALREACH_CACHE_DIR": str(tmp_path), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "trialreach.cli",
            "-vv",
            "check",
            "Hampton Inn, Rochester MN 55902",
            "--engine",
            "estimate",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "DEBUG" in out.stderr or "INFO" in out.stderr
    assert "Hampton" not in out.stderr and "55902" not in out.stderr


def test_engine_choices_are_listed_in_help():
    res = runner.invoke(app, ["coverage", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for engine in ("auto", "valhalla", "osrm", "ors", "estimate"):
        assert engine in res.output


def test_cache_info_and_clear(tmp_path, monkeypatch):
    from geo.routing.cache import CachedRouter, DiskCache
    from geo.routing.estimate import EstimateRouter

    monkeypatch.setenv("TRIALREACH_CACHE_DIR", str(tmp_path))
    disk = DiskCache(tmp_path / "routing")
    CachedRouter(EstimateRouter(), persist={"isochrones"}, disk=disk).isochrones(
        [(-83.0, 40.0)], [60]
    )
    disk.close()
    res = runner.invoke(app, ["cache", "info", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["entries"] == 1 and doc["size_bytes"] > 0
    res = runner.invoke(app, ["cache", "clear", "--json"])
    assert json.loads(res.output)["removed"] == 1
    assert json.loads(runner.invoke(app, ["cache", "info", "--json"]).output)["entries"] == 0


def test_disk_cache_is_bounded_least_recently_used_first(tmp_path):
    from geo.routing.cache import DiskCache

    limit = 500_000
    disk = DiskCache(tmp_path, size_limit_bytes=limit)
    rng = np.random.default_rng(0)
    blob = {"a": rng.random(5_000)}  # ~40 kB, incompressible
    disk.put_arrays("matrices", "first", **blob)
    for i in range(30):
        disk.get_arrays("matrices", "first")  # keep the first one in use
        disk.put_arrays("matrices", f"k{i}", **{"a": rng.random(5_000)})
    info = disk.info()
    assert info["size_bytes"] <= limit * 1.25
    assert info["entries"] < 31
    assert disk.get_arrays("matrices", "first") is not None  # recently used: kept
    assert disk.get_arrays("matrices", "k0") is None  # least recently used: evicted
