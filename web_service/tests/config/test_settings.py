"""Production settings come from the environment; required values have no default.

Each case imports the settings in a fresh interpreter, because Django reads
them once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "DJANGO_ALLOWED_HOSTS": "videos.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/web_service",
}


def _settings(env: dict[str, str], expression: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-c", f"from config import settings; print({expression})"],
        cwd=SERVICE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_defaults_are_safe():
    result = _settings(PRODUCTION, "settings.DEBUG, settings.ALLOWED_HOSTS")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['videos.example.com']"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_a_missing_required_value_stops_start_up_with_its_name(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = _settings(env, "settings.DEBUG")
    assert result.returncode != 0
    assert f"The environment variable {missing} is required (see .env.example)." in result.stderr


def test_debug_falls_back_to_local_hosts_only():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = _settings({**env, "DJANGO_DEBUG": "1"}, "settings.ALLOWED_HOSTS")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['localhost', '127.0.0.1', '[::1]']"
