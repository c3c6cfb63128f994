"""Streamlit secrets reach the settings without the CLI paying for importing Streamlit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from geo.settings import Settings


def test_secrets_file_is_read_as_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        'ORS_API_KEY = "key-from-secrets"\nTRIALREACH_ENGINE = "estimate"\n'
    )
    monkeypatch.chdir(tmp_path)
    # Outside the app the file is read as TOML. (Streamlit's own reader, used when the app has
    # imported it, also copies root-level secrets into os.environ: it must not run in a test.)
    monkeypatch.delitem(sys.modules, "streamlit", raising=False)
    settings = Settings.from_env(env={})
    assert settings.ors_api_key == "key-from-secrets"
    assert settings.engine == "estimate"
    # The environment wins over the secrets file.
    assert Settings.from_env(env={"TRIALREACH_ENGINE": "auto"}).engine == "auto"


def test_reading_settings_does_not_import_streamlit(tmp_path: Path) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('ORS_API_KEY = "k"\n')
    code = (
        "import sys; from geo.settings import Settings; s = Settings.from_env(env={}); "
        "print(s.ors_api_key, 'streamlit' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["k", "False"]
