"""Packaging: the sdist carries the source, the data and the app; a wheel built from that sdist
alone (not an editable install) carries the data and the app, and works.

The sdist is built from a copy of the work tree with setuptools' own backend (offline: no build
isolation) and checked against ``git ls-files``. The slow test builds the wheel from the unpacked
sdist (so a missing file in ``MANIFEST.in`` fails it), installs it into a fresh virtual
environment whose dependencies come from this one, and runs the README's commands (the
``trialreach`` entry point too) from outside the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
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


def _git_files(*args: str) -> list[str]:
    return subprocess.run(
        ["git", "ls-files", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


def _work_tree_copy(dest: Path) -> Path:
    files = _git_files("-co", "--exclude-standard")
    for name in files:
        src = ROOT / name
        if src.is_file() and not name.startswith(("tests/", "benchmarks/", "docs/")):
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def _build_sdist(tmp_path: Path) -> Path:
    """Build the sdist of a work-tree copy with setuptools' backend, offline; return its path."""
    src = _work_tree_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})",
        ],
        cwd=src,
        check=True,
        capture_output=True,
    )
    (sdist,) = dist.glob("trialreach-*.tar.gz")
    return sdist


def test_sdist_carries_source_data_app_and_licence(tmp_path):
    pytest.importorskip("setuptools")
    sdist = _build_sdist(tmp_path)
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    # The reference is git: every tracked file of the data, the pages and the packages.
    tracked = set(_git_files())
    wanted = {
        n
        for n in tracked
        if n.startswith(("data/", "pages/"))
        or (n.startswith(("geo/", "sites/", "trialreach/", "appkit/")) and n.endswith(".py"))
    }
    assert len(wanted) > 100  # the reference is not empty
    assert sorted(n for n in wanted if (ROOT / n).is_file() and n not in names) == []
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "setup.py",
        "MANIFEST.in",
        "app.py",
        ".streamlit/config.toml",
        "data/osm/columbus.osm.pbf",
        "data/sites/demo.csv",
        "geo/py.typed",
        "sites/py.typed",
        "trialreach/py.typed",
        "appkit/py.typed",
    ):
        assert needed in names, needed
    assert not any(n.endswith("secrets.toml") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_wheel_carries_data_and_app_and_runs_outside_the_checkout(tmp_path):
    pytest.importorskip("setuptools")
    # The wheel is built from the unpacked sdist: what the sdist lacks, the wheel lacks.
    with tarfile.open(_build_sdist(tmp_path)) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (src,) = (tmp_path / "unpacked").glob("trialreach-*")
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
    # The `trialreach` command: the wheel's console-script entry point, loaded as pip's script
    # does (the script pip writes under --target would run this environment's interpreter).
    entry = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "(ep,) = entry_points(group='console_scripts', name='trialreach')\n"
        "assert ep.dist is not None and str(ep.dist.locate_file('')).startswith(sys.argv[1])\n"
        "sys.argv = ['trialreach', '--version']\n"
        "sys.exit(ep.load()())\n"
    )
    script_version = subprocess.run([str(python), "-c", entry, str(site)], **run).stdout
    assert script_version.strip() == "trialreach 0.1.0"
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
