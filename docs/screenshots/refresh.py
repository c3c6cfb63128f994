"""Refresh the README's screenshots: run the browser tests with their pictures sent here.

    .venv/bin/python docs/screenshots/refresh.py

The browser tests write their screenshots to a temporary folder on every ordinary run, so a test
run never changes tracked files; this script points them at ``docs/screenshots/`` instead
(``TRIALREACH_SCREENSHOT_DIR``). Needs Debian's Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main() -> int:
    env = {**os.environ, "TRIALREACH_SCREENSHOT_DIR": str(HERE)}
    names = ("test_app_browser.py", "test_tasks_browser.py")
    tests = [ROOT / "tests" / "browser" / n for n in names]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, tests)]
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
