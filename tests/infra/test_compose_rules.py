"""docker-compose.yml keeps the project rules (tests/infra/compose_rules.py).

The real file must break none; deliberately broken copies (written to
tmp_path) must each be caught.
"""

from __future__ import annotations

import copy
import re
import shutil

import pytest
import yaml

from tests.infra.compose_reading import INTERPOLATION, environment, strings
from tests.infra.compose_rules import (
    COMPOSE,
    ENV_EXAMPLE,
    RABBITMQ_CONF,
    REPO_ROOT,
    compose_problems,
)

# ---- the real file ---------------------------------------------------------------


def test_compose_file_keeps_the_project_rules():
    assert compose_problems(COMPOSE) == []


def test_every_variable_compose_reads_is_in_env_example():
    documented = set(re.findall(r"(?m)^([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text()))
    compose = yaml.safe_load(COMPOSE.read_text())
    used = {
        name
        for text in strings(compose)
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


def _drop_env(service: str, key: str):
    def mutate(compose):
        compose["services"][service]["environment"].pop(key)

    return mutate


def _add_volume(volume: str, services: list[str]):
    def mutate(compose):
        compose["volumes"][volume] = None
        for service in services:
            compose["services"][service].setdefault("volumes", []).append(f"{volume}:/srv/{volume}")

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
    "media-volume-back": (_add_volume("media", ["web", "transcoder"]), "shared by"),
    "store-data-mounted": (
        _set("transcoder", "volumes", ["seaweedfs-data:/srv/store"]),
        "'seaweedfs-data' is shared",
    ),
    "media-root": (_set_env("transcoder", "MEDIA_ROOT", "/srv/media"), "MEDIA_ROOT"),
    "store-unpinned": (_set("seaweedfs", "image", "chrislusf/seaweedfs:latest"), "pinned"),
    "store-on-every-address": (_set("seaweedfs", "ports", ["8333:8333"]), "127.0.0.1 only"),
    "filer-published": (
        _set("seaweedfs", "ports", ["127.0.0.1:8333:8333", "127.0.0.1:8888:8888"]),
        "only its S3 port",
    ),
    "store-telemetry-on": (
        _set("seaweedfs", "command", ["-master.telemetry=true"]),
        "telemetry=false",
    ),
    "store-entrypoint-unmounted": (_set("seaweedfs", "volumes", []), "telemetry=false"),
    "other-endpoint": (
        _set_env("collector", "S3_ENDPOINT_URL", "http://elsewhere:9000"),
        "S3_ENDPOINT_URL",
    ),
    "transcoder-gets-web-key": (
        _set_env("transcoder", "WEB_S3_SECRET_ACCESS_KEY", "${WEB_S3_SECRET_ACCESS_KEY:?x}"),
        "only its own role's",
    ),
    "transcoder-borrows-web-key": (
        _set_env("transcoder", "TRANSCODER_S3_ACCESS_KEY_ID", "${WEB_S3_ACCESS_KEY_ID:?x}"),
        "only its own role's",
    ),
    "web-without-its-key": (_drop_env("collector", "WEB_S3_SECRET_ACCESS_KEY"), "needs"),
    "flower-gets-a-key": (
        _set_env("flower", "WEB_S3_ACCESS_KEY_ID", "${WEB_S3_ACCESS_KEY_ID:?x}"),
        "only its own role's",
    ),
    "container-name": (_set("transcoder", "container_name", "transcoder"), "breaks --scale"),
    "host-port": (_set("transcoder", "ports", ["9000:9000"]), "breaks --scale"),
    "flower-always-on": (_drop("flower", "profiles"), "profile"),
    "no-healthcheck": (_drop("web", "healthcheck"), "needs a healthcheck"),
    "no-migrate-wait": (
        _set("web", "depends_on", {"rabbitmq": {"condition": "service_healthy"}}),
        "wait for migrate",
    ),
    "missing-service": (lambda compose: compose["services"].pop("collector"), "missing service"),
    # Issue 10's defects, as they were in the file.
    "profile-variable-required": (
        _set_env("flower", "FLOWER_BASIC_AUTH", "${FLOWER_BASIC_AUTH:?set it}"),
        "stops every `up`",
    ),
    "web-on-every-interface": (
        _set("web", "ports", ["${WEB_PORT:-8000}:${WEB_PORT:-8000}"]),
        "on 127.0.0.1 by default",
    ),
    "no-init": (_drop("transcoder", "init"), "init: true"),
    "writable-bind-mount": (_set("seaweedfs", "volumes", ["./var/store:/data"]), "read-only"),
    "writable-bind-mount-long": (
        _set("web", "volumes", [{"type": "bind", "source": "./media", "target": "/app/media"}]),
        "read-only",
    ),
    "web-published-again": (
        _set("web", "ports", ["127.0.0.1:8000:8000"]),
        "only nginx may",
    ),
    "transcoder-as-the-web": (
        _set_env(
            "transcoder",
            "BROKER_URL",
            "amqp://${WEB_BROKER_USER:?x}:${WEB_BROKER_PASSWORD:?x}@rabbitmq:5672//",
        ),
        "TRANSCODER_BROKER_USER",
    ),
    "web-as-the-admin": (
        _set_env(
            "collector",
            "BROKER_URL",
            "amqp://${RABBITMQ_USER:?x}:${RABBITMQ_PASSWORD:?x}@rabbitmq:5672//",
        ),
        "WEB_BROKER_USER",
    ),
    "image-not-a-variable": (
        _set("rabbitmq", "image", "rabbitmq:4.2-management"),
        "RABBITMQ_IMAGE",
    ),
}


@pytest.mark.parametrize("case", BROKEN.keys())
def test_rules_catch_a_broken_copy(tmp_path, case):
    mutate, expected = BROKEN[case]
    compose = copy.deepcopy(yaml.safe_load(COMPOSE.read_text()))
    mutate(compose)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose, sort_keys=False))
    # Compose finds ./deploy next to the file: the copy gets the real one.
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    problems = compose_problems(broken)
    assert any(expected in problem for problem in problems), problems
