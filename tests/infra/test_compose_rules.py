"""Project rules for docker-compose.yml that no schema can express.

`compose_problems` lists every broken rule; the real file must have none, and
deliberately broken copies (written to tmp_path) must each be caught.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
RABBITMQ_CONF = REPO_ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"

REQUIRED_SERVICES = {"rabbitmq", "postgres", "migrate", "web", "collector", "transcoder", "flower"}
MEDIA_SERVICES = ("web", "collector", "transcoder")
HEALTHCHECKED = ("rabbitmq", "postgres", "web", "transcoder")
SCALED = "transcoder"

# Compose interpolation: https://docs.docker.com/reference/compose-file/interpolation/
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
# ${VAR}, ${VAR?msg}, ${VAR:?msg}: no default, so nothing secret can be baked in.
NO_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}")
SECRET_NAME = re.compile(r"PASS|SECRET|KEY|TOKEN|AUTH", re.IGNORECASE)
URL_PASSWORD = re.compile(r"://[^:/@]*:([^@/]*)@")


# ---- reading -------------------------------------------------------------------


def environment(service: dict) -> dict[str, str | None]:
    """A service's environment as a dict, whichever syntax it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def named_mounts(service: dict) -> dict[str, str]:
    """{volume or source: target} for a service's mounts, short or long syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[source] = target
    return mounts


def procfile_types(folder: Path) -> set[str]:
    """Process types declared in a Procfile (`type: command` lines)."""
    text = (folder / "Procfile").read_text()
    return set(re.findall(r"(?m)^([A-Za-z0-9_-]+):", text))


def build_context(service: dict) -> str | None:
    build = service.get("build")
    return build.get("context", ".") if isinstance(build, dict) else build


def _masked(value: str) -> str:
    """Each no-default interpolation becomes \\0, any other one \\1; `$$` is a literal $."""
    value = value.replace("$$", "")
    return INTERPOLATION.sub(lambda m: "\0" if NO_DEFAULT.fullmatch(m.group()) else "\1", value)


# ---- the rules -----------------------------------------------------------------


def compose_problems(compose_file: Path, repo_root: Path = REPO_ROOT) -> list[str]:
    compose = yaml.safe_load(compose_file.read_text())
    services: dict[str, dict] = compose.get("services") or {}
    problems = [f"missing service {name!r}" for name in sorted(REQUIRED_SERVICES - services.keys())]

    # Secrets come from the environment only, never as literals.
    for name, service in services.items():
        for key, value in environment(service).items():
            masked = _masked(value or "")
            if SECRET_NAME.search(key) and not re.fullmatch("\0+", masked):
                problems.append(
                    f"{name}: {key} must be a ${{VAR:?message}} interpolation, got {value!r}"
                )
            for password in URL_PASSWORD.findall(masked):
                if password != "\0":
                    problems.append(
                        f"{name}: {key} has a URL password that isn't ${{VAR:?message}}: {value!r}"
                    )

    # Our images run exactly what `make run` runs: `bin/start TYPE` of their Procfile.
    for name, service in services.items():
        context = build_context(service)
        if context is None:
            continue
        command = service.get("command")
        types = procfile_types(repo_root / context)
        if not (isinstance(command, list) and len(command) == 2 and command[0] == "bin/start"):
            problems.append(f"{name}: command must be ['bin/start', TYPE], got {command!r}")
        elif command[1] not in types:
            problems.append(
                f"{name}: {command[1]!r} is not a process type in {context}/Procfile ({sorted(types)})"
            )

    # One media volume, at the same path everywhere, which is also MEDIA_ROOT.
    targets = {}
    for name in MEDIA_SERVICES:
        service = services.get(name, {})
        targets[name] = named_mounts(service).get("media")
        if targets[name] is None:
            problems.append(f"{name}: does not mount the 'media' volume")
        elif environment(service).get("MEDIA_ROOT") != targets[name]:
            problems.append(f"{name}: MEDIA_ROOT is not the media mount path {targets[name]!r}")
    if len(set(targets.values())) > 1:
        problems.append(f"the media volume is mounted at different paths: {targets}")
    if "media" not in (compose.get("volumes") or {}):
        problems.append("no top-level named volume 'media'")

    # `--scale transcoder=N` needs containers without fixed names or host ports.
    scaled = services.get(SCALED, {})
    for key in ("container_name", "ports"):
        if key in scaled:
            problems.append(f"{SCALED}: has {key}, which breaks --scale")

    if not services.get("flower", {}).get("profiles"):
        problems.append("flower: must be behind a profile")

    for name in HEALTHCHECKED:
        check = services.get(name, {}).get("healthcheck") or {}
        if not check.get("test") or check.get("disable"):
            problems.append(f"{name}: needs a healthcheck")
    for name in ("web", "collector"):
        depends = services.get(name, {}).get("depends_on") or {}
        condition = (
            depends.get("migrate", {}).get("condition") if isinstance(depends, dict) else None
        )
        if condition != "service_completed_successfully":
            problems.append(
                f"{name}: must wait for migrate with condition service_completed_successfully"
            )
    return problems


def _strings(node):
    """Every string in a loaded YAML document (keys and values; comments are gone)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


# ---- the real file ---------------------------------------------------------------


def test_compose_file_keeps_the_project_rules():
    assert compose_problems(COMPOSE) == []


def test_every_variable_compose_reads_is_in_env_example():
    documented = set(re.findall(r"(?m)^([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text()))
    compose = yaml.safe_load(COMPOSE.read_text())
    used = {
        name
        for text in _strings(compose)
        for name, _ in INTERPOLATION.findall(text.replace("$$", ""))
    }
    # Keys without a value are passed through from the shell or .env.
    for service in compose["services"].values():
        used |= {key for key, value in environment(service).items() if value is None}
    assert used - documented == set(), "add these to .env.example"


def test_rabbitmq_consumer_timeout_outlasts_the_longest_transcode():
    conf = RABBITMQ_CONF.read_text()
    timeout_ms = int(re.search(r"(?m)^consumer_timeout\s*=\s*(\d+)\s*$", conf).group(1))
    hard_limit_s = int(
        re.search(r"(?m)^TRANSCODE_TIME_LIMIT=(\d+)", ENV_EXAMPLE.read_text()).group(1)
    )
    # A job is unacknowledged while it runs, and a prefetched one already
    # while it waits for the job ahead: leave room for both.
    assert timeout_ms >= 2 * hard_limit_s * 1000

    rabbitmq = yaml.safe_load(COMPOSE.read_text())["services"]["rabbitmq"]
    assert any(
        volume.startswith("./deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/")
        for volume in rabbitmq["volumes"]
    ), "docker-compose.yml must mount deploy/rabbitmq/rabbitmq.conf into conf.d"


# ---- broken copies are caught ------------------------------------------------------


def _set_env(service: str, key: str, value):
    def mutate(compose):
        compose["services"][service]["environment"][key] = value

    return mutate


def _set(service: str, key: str, value):
    def mutate(compose):
        compose["services"][service][key] = value

    return mutate


def _drop(service: str, key: str):
    def mutate(compose):
        compose["services"][service].pop(key)

    return mutate


BROKEN = {
    "literal-secret": (_set_env("web", "DJANGO_SECRET_KEY", "hunter2"), "DJANGO_SECRET_KEY"),
    "secret-with-default": (
        _set_env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-postgres}"),
        "POSTGRES_PASSWORD",
    ),
    "passthrough-secret": (_set_env("flower", "FLOWER_BASIC_AUTH", None), "FLOWER_BASIC_AUTH"),
    "password-in-url": (
        _set_env("transcoder", "BROKER_URL", "amqp://video:guest@rabbitmq:5672//"),
        "URL password",
    ),
    "not-bin-start": (_set("web", "command", ["gunicorn", "config.wsgi"]), "command must be"),
    "unknown-process-type": (
        _set("collector", "command", ["bin/start", "collect"]),
        "not a process type",
    ),
    "media-elsewhere": (_set("transcoder", "volumes", ["media:/media"]), "different paths"),
    "no-media": (_set("collector", "volumes", []), "does not mount"),
    "container-name": (_set("transcoder", "container_name", "transcoder"), "breaks --scale"),
    "host-port": (_set("transcoder", "ports", ["9000:9000"]), "breaks --scale"),
    "flower-always-on": (_drop("flower", "profiles"), "profile"),
    "no-healthcheck": (_drop("web", "healthcheck"), "needs a healthcheck"),
    "no-migrate-wait": (
        _set("web", "depends_on", {"rabbitmq": {"condition": "service_healthy"}}),
        "wait for migrate",
    ),
    "missing-service": (lambda compose: compose["services"].pop("collector"), "missing service"),
}


@pytest.mark.parametrize("case", BROKEN.keys())
def test_rules_catch_a_broken_copy(tmp_path, case):
    mutate, expected = BROKEN[case]
    compose = copy.deepcopy(yaml.safe_load(COMPOSE.read_text()))
    mutate(compose)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose, sort_keys=False))
    problems = compose_problems(broken)
    assert any(expected in problem for problem in problems), problems
