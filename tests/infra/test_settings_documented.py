"""Every setting is described once, in .env.example, and every one described there is read.

"Read" means read by one of the programs this repository ships: the two
services' settings and start scripts, `make run` (bin/), the compose file's
interpolation, and the stand-in services' entrypoints in deploy/. A name a
program reads that .env.example does not describe is a setting a person
cannot find; a name .env.example describes that nothing reads is a setting
that silently does nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = REPO_ROOT / ".env.example"

PYTHON_SOURCES = [
    *sorted((REPO_ROOT / "web_service").glob("[a-z]*/**/*.py")),
    *sorted((REPO_ROOT / "transcoder_service" / "transcoder").glob("**/*.py")),
    REPO_ROOT / "bin" / "run",
    REPO_ROOT / "bin" / "embedded_store.py",
]
SHELL_SOURCES = [
    REPO_ROOT / "web_service" / "bin" / "start",
    REPO_ROOT / "transcoder_service" / "bin" / "start",
    *sorted((REPO_ROOT / "deploy").glob("[a-z]*/entrypoint.sh")),
]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

# How the code reads a variable: the settings helpers of each service
# (`_env("X")`, `_setting("X")`, `_int(environ, "X")`) and os.environ itself.
_PYTHON_READ = re.compile(
    r"""(?:_env\w*\(|_setting\(|environ\.get\(|getenv\(|environ\[|\(environ,\s*)\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# `$X` or `${X`, but not compose's `$${X}` (the container's shell reads that).
_SHELL_READ = re.compile(r"(?<!\$)\$\{?([A-Z][A-Z0-9_]+)")
_SHELL_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]+)=", re.MULTILINE)
_DOCUMENTED = re.compile(r"^#?\s?([A-Z][A-Z0-9_]+)=", re.MULTILINE)

# Read, but not settings of ours: the process's own environment;
# prometheus_client's directory, which our processes set for themselves; and
# the store image's own paths, which its entrypoint's header documents and
# compose never sets.
NOT_SETTINGS = {
    *("HOME", "HOSTNAME", "PATH", "TMPDIR"),
    "PROMETHEUS_MULTIPROC_DIR",
    *("SEAWEEDFS_DIR", "WEED"),
}
# Described, and read by a library rather than by our code: Compose reads
# COMPOSE_PROJECT_NAME, and the OpenTelemetry SDK every OTEL_* variable
# (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
READ_BY_LIBRARIES = re.compile(r"COMPOSE_PROJECT_NAME|OTEL_[A-Z0-9_]+")


def _uncommented(text: str, *, marker: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(marker))


def _names_read() -> dict[str, Path]:
    read: dict[str, Path] = {}
    for path in PYTHON_SOURCES:
        for name in _PYTHON_READ.findall(path.read_text()):
            read.setdefault(name, path)
    for path in [*SHELL_SOURCES, COMPOSE_FILE]:
        text = _uncommented(path.read_text(), marker="#")
        own = set(_SHELL_ASSIGN.findall(text)) if path != COMPOSE_FILE else set()
        for name in set(_SHELL_READ.findall(text)) - own:
            read.setdefault(name, path)
    return {name: path for name, path in read.items() if name not in NOT_SETTINGS}


def _names_documented() -> set[str]:
    return set(_DOCUMENTED.findall(ENV_EXAMPLE.read_text()))


def test_the_scan_finds_each_kind_of_read():
    # Guards the regexes: if one stopped matching, the tests below would pass on nothing.
    read = _names_read()
    assert read["DJANGO_SECRET_KEY"].name == "settings.py"  # web: _env("...")
    assert read["TRANSCODE_TIME_LIMIT"].name == "settings.py"  # transcoder: _int(environ, "...")
    assert read["WEB_CONCURRENCY"].name == "gunicorn.py"  # _setting("...")
    assert read["EMBEDDED_S3_PORT"].name == "run"  # os.environ.get("...")
    assert read["S3_ALLOWED_ORIGINS"].name == "entrypoint.sh"  # ${...:-*}
    assert "VAR" not in read  # a compose comment's `${VAR:?message}` is no read


def test_every_variable_read_is_described_in_env_example():
    missing = {
        name: str(path.relative_to(REPO_ROOT))
        for name, path in _names_read().items()
        if name not in _names_documented()
    }
    assert not missing, f"read but not described in .env.example: {missing}"


def test_every_variable_in_env_example_is_read():
    unread = sorted(
        name
        for name in _names_documented() - set(_names_read())
        if not READ_BY_LIBRARIES.fullmatch(name)
    )
    assert not unread, f"described in .env.example but read by nothing: {unread}"
