"""docker-compose.yml against the code it runs: every variable the services'
settings read reaches their containers, or is listed as unset on purpose;
and the build arguments' defaults are the Dockerfiles' own.

The variables are found in the settings modules themselves (their AST), so a
new setting that compose does not pass fails here, as WEB_THREADS once did.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.infra.compose_reading import DEFAULTED, build_context, environment
from tests.infra.compose_rules import COMPOSE, REPO_ROOT

# Each settings module, and the compose services whose image runs it.
SETTINGS = {
    "web_service/config/settings.py": ("migrate", "web", "collector"),
    "web_service/config/gunicorn.py": ("web",),
    "transcoder_service/transcoder/settings.py": ("transcoder",),
}
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}")
UNSET_KEY = "x-unset-on-purpose"


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "environ") or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


def variables_read(source: str) -> set[str]:
    """Names passed as string constants to any call (os.environ.get, _env, _int(environ, ...))."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            constants = [arg.value for arg in node.args[:2] if isinstance(arg, ast.Constant)]
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and _is_environ(node.value)
        ):
            constants = [node.slice.value]  # os.environ["NAME"], not DATABASES["default"]
        else:
            continue
        names |= {c for c in constants if isinstance(c, str) and ENV_NAME.fullmatch(c)}
    return names


def image_env(service_dir: Path) -> set[str]:
    """Variables the Dockerfile sets with ENV (KEY=value pairs, continuation lines joined)."""
    text = re.sub(r"\\\n", " ", (service_dir / "Dockerfile").read_text())
    names = set()
    for line in text.splitlines():
        if line.strip().upper().startswith("ENV "):
            names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", line))
    return names


def env_problems(compose: dict, repo_root: Path = REPO_ROOT) -> list[str]:
    services = compose["services"]
    unset = set(compose.get(UNSET_KEY) or {})
    problems = []
    for module, names in SETTINGS.items():
        read = variables_read((repo_root / module).read_text())
        assert len(read) >= 4, f"found too few variables in {module}: {read}"
        for name in names:
            service = services[name]
            given = set(environment(service)) | image_env(repo_root / build_context(service))
            for variable in sorted(read - given - unset):
                problems.append(
                    f"{name}: {module} reads {variable}, which compose neither passes nor "
                    f"lists under {UNSET_KEY}"
                )
    for variable in sorted(unset):
        if not any(variable in variables_read((repo_root / m).read_text()) for m in SETTINGS):
            problems.append(f"{UNSET_KEY}: no settings module reads {variable}; remove it")
    return problems


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_variable_the_settings_read_is_passed_or_deliberately_unset():
    assert env_problems(_compose()) == []


def test_the_settings_modules_read_what_we_expect():
    # The AST scan finds the reads of every style used: os.environ.get,
    # _env(...), and _int(environ, ...).
    assert {"WEB_CONCURRENCY", "WEB_THREADS", "WEB_HOST"} <= variables_read(
        (REPO_ROOT / "web_service/config/gunicorn.py").read_text()
    )
    assert {"DJANGO_SECRET_KEY", "S3_PRESIGN_SECONDS"} <= variables_read(
        (REPO_ROOT / "web_service/config/settings.py").read_text()
    )
    assert {"BROKER_HEARTBEAT", "TRANSCODER_CONCURRENCY"} <= variables_read(
        (REPO_ROOT / "transcoder_service/transcoder/settings.py").read_text()
    )


@pytest.mark.parametrize(
    ("service", "variable"),
    [("web", "WEB_THREADS"), ("collector", "OUTBOX_RELAY_INTERVAL"), ("transcoder", "MAX_PIXELS")],
)
def test_a_setting_compose_does_not_pass_is_caught(service, variable):
    compose = _compose()
    env = compose["services"][service]["environment"]
    compose["services"][service]["environment"] = {k: v for k, v in env.items() if k != variable}
    problems = env_problems(compose)
    assert any(f"{service}: " in p and variable in p for p in problems), problems


def test_a_stale_unset_entry_is_caught():
    compose = _compose()
    compose[UNSET_KEY] = {**compose[UNSET_KEY], "NO_SUCH_SETTING": "why"}
    assert any("NO_SUCH_SETTING" in p for p in env_problems(compose))


def _arg_default(dockerfile: Path, name: str) -> str | None:
    match = re.search(rf"(?m)^ARG {name}=(\S*)\s*$", dockerfile.read_text())
    return match.group(1) if match else None


@pytest.mark.parametrize("service", ["web", "transcoder"])
def test_build_arguments_default_to_the_dockerfiles_own(service):
    # The official base by default: compose must not pick another image than
    # a plain `docker build` would.
    build = _compose()["services"][service]["build"]
    dockerfile = REPO_ROOT / build["context"] / "Dockerfile"
    for arg, value in build["args"].items():
        match = DEFAULTED.fullmatch(str(value))
        assert match, f"{arg}: {value!r} is not ${{{arg}:-...}}"
        assert match.group(1) == arg, f"{arg}: {value!r} is not ${{{arg}:-...}}"
        assert _arg_default(dockerfile, arg) == match.group(2), (arg, value)
    assert _arg_default(dockerfile, "PYTHON_IMAGE").startswith("python:3.11.")
