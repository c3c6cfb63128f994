"""Packaging: a wheel (not an editable install) carries the data and the app, and works.

The slow test builds a wheel from a copy of the work tree (offline: no build isolation), installs
it into a fresh virtual environment whose dependencies come from this one, and runs the README's
commands from outside the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_typed_licensed_and_versioned_from_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    for package in ("geo", "sites", "trialreach", "appkit"):
        assert (ROOT / package / "py.typed").is_file()
    from importlib.metadata import version

    import trialreach

    assert trialreach.__version__ == version("trialreach") == meta["project"]["version"]


def _work_tree_copy(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in files:
        src = ROOT / name
        if src.is_file() and not name.startswith(("tests/", "benchmarks/", "docs/")):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


@pytest.mark.slow
def test_wheel_carries_data_and_app_and_runs_outside_the_checkout(tmp_path):
    pytest.importorskip("setuptools")
    src = _work_tree_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("trialreach-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "geo/_data/sites/demo.csv",
        "geo/_data/osm/columbus.osm.pbf",
        "geo/_data/population/zcta_2020.csv",
        "trialreach/_app/app.py",
        "trialreach/_app/pages/coordinator.py",
        "trialreach/_app/.streamlit/config.toml",
        "trialreach/py.typed",
        "geo/py.typed",
    ):
        assert needed in names, needed
    assert not any(n.endswith("secrets.toml") for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    # The wheel goes in with pip (from this environment), dependencies come from this one.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    (site / "zz_dependencies.pth").write_text(f"{deps}\n")
    env = {
        "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
        "TRIALREACH_CACHE_DIR": str(tmp_path / "cache"),
        "TRIALREACH_ENGINE": "estimate",
        "COLUMNS": "200",
        "HOME": str(tmp_path),
    }
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "check": True}
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import geo, trialreach.api; from geo.settings import get_settings;"
            " print(geo.__file__); print(get_settings().data_dir)",
        ],
        **run,
    ).stdout.splitlines()
    assert where[0].startswith(str(site)) and where[1] == str(site / "geo" / "_data")
    version = subprocess.run([str(python), "-m", "trialreach.cli", "--version"], **run).stdout
    assert version.strip() == "trialreach 0.1.0"
    out = subprocess.run(
        [str(python), "-m", "trialreach.cli", "check", "39.99, -83.0", "--sites", "demo"], **run
    ).stdout
    assert "WITHIN" in out and "OSU Arthur G. James Cancer Hospital" in out
    # The app the wheel carries runs (Streamlit's own test runner, no browser).
    script = (
        "import pathlib, trialreach\n"
        "from streamlit.testing.v1 import AppTest\n"
        "app = pathlib.Path(trialreach.__file__).parent / '_app' / 'app.py'\n"
        "at = AppTest.from_file(str(app), default_timeout=120).run()\n"
        "assert not at.exception, [e.value for e in at.exception]\n"
        "print([t.value for t in at.title])\n"
    )
    titles = subprocess.run([str(python), "-c", script], **run).stdout
    assert "Lodging check" in titles
