"""The environment as the two ways of running the system hand it over.

- Compose passes `KEY=` from a .env as an EMPTY value, not an unset one: every
  optional setting must then take its default (a blank WEB_CONCURRENCY once
  crash-looped gunicorn).
- `make run` must not read that .env: honcho loads `.env` by default and lets
  it override the environment, so after `cp .env.example .env` for compose,
  `make run` would pick up compose's WEB_PORT and DJANGO_ALLOWED_HOSTS.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = REPO_ROOT / "web_service" / "config" / "gunicorn.py"
READS = "import runpy; c = runpy.run_path({path!r}); print(c['bind'], c['workers'], c['threads'])"


def _gunicorn_settings(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", READS.format(path=str(GUNICORN_CONFIG))],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_blank_gunicorn_settings_take_their_defaults():
    blank = dict.fromkeys(("WEB_HOST", "WEB_PORT", "WEB_CONCURRENCY", "WEB_THREADS"), "")
    assert _gunicorn_settings(blank) == "127.0.0.1:8000 2 4"


def test_gunicorn_settings_that_are_set_are_used():
    given = {"WEB_HOST": "0.0.0.0", "WEB_PORT": "9000", "WEB_CONCURRENCY": "3", "WEB_THREADS": "8"}
    assert _gunicorn_settings(given) == "0.0.0.0:9000 3 8"


def _make_run_module():
    """bin/run (no .py suffix) loaded as a module; its imports come from bin/."""
    sys.path.insert(0, str(REPO_ROOT / "bin"))
    try:
        loader = importlib.machinery.SourceFileLoader("make_run", str(REPO_ROOT / "bin" / "run"))
        spec = importlib.util.spec_from_loader("make_run", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO_ROOT / "bin"))


def _honcho_binary() -> str:
    """honcho from this Python's environment: the repository's .venv locally,
    the runner's Python in CI (where bin/run's own .venv path does not exist)."""
    return str(Path(sys.executable).parent / "honcho")


def _honcho(argv: list[str], app: Path) -> str:
    result = subprocess.run(
        [_honcho_binary(), *argv[1:]],
        cwd=app,
        env={**os.environ, "WEB_PORT": "1234"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.fixture
def app_with_compose_dotenv(tmp_path: Path) -> Path:
    # A .env as compose users write it, and a process that prints what it got.
    (tmp_path / ".env").write_text("WEB_PORT=8000\nDJANGO_ALLOWED_HOSTS=compose.example\n")
    (tmp_path / "Procfile").write_text(
        'probe: echo "port=$WEB_PORT hosts=${DJANGO_ALLOWED_HOSTS:-none}"\n'
    )
    return tmp_path


def test_make_run_starts_honcho_without_reading_a_dotenv(app_with_compose_dotenv):
    argv = _make_run_module().honcho_argv(
        procfile=app_with_compose_dotenv / "Procfile", app_root=app_with_compose_dotenv
    )
    output = _honcho(argv, app_with_compose_dotenv)
    assert "port=1234 hosts=none" in output, output


def test_honcho_by_default_lets_a_dotenv_override_the_environment(app_with_compose_dotenv):
    # Why the option above is needed: this is honcho's default behaviour.
    argv = ["honcho", "--procfile", "Procfile", "--app-root", ".", "start"]
    output = _honcho(argv, app_with_compose_dotenv)
    assert "port=8000 hosts=compose.example" in output, output
