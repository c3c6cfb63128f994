"""Build hook: the wheel carries the shipped data and the web app.

Everything else is declared in ``pyproject.toml``. In a checkout (and an editable install) the
code reads ``data/``, ``app.py`` and ``pages/`` where they are; a wheel has no checkout, so the
build copies them into the packages that read them:

* ``data/``                          → ``geo/_data/``    (``geo.settings`` finds it there)
* ``app.py``, ``pages/``, ``.streamlit/config.toml`` → ``trialreach/_app/`` (``trialreach app``)
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")


class BuildWithDataAndApp(build_py):
    """``build_py`` that also copies the shipped data and the app into the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        build = Path(self.build_lib)
        shutil.copytree(ROOT / "data", build / "geo" / "_data", dirs_exist_ok=True, ignore=SKIP)
        app = build / "trialreach" / "_app"
        app.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "app.py", app / "app.py")
        shutil.copytree(ROOT / "pages", app / "pages", dirs_exist_ok=True, ignore=SKIP)
        shutil.copytree(ROOT / ".streamlit", app / ".streamlit", dirs_exist_ok=True, ignore=SKIP)
        for secret in (app / ".streamlit").glob("secrets.toml"):
            secret.unlink()  # never ship a developer's keys


setup(cmdclass={"build_py": BuildWithDataAndApp})
