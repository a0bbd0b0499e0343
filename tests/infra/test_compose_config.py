"""Compose itself reads docker-compose.yml: `config` without and with each
profile, with a user's .env that fills in only the required values.

Run with every Compose found: v1 (`docker-compose`, installed here) and v2
(`docker compose`, on GitHub's runners). No Docker daemon is needed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.infra.compose_rules import COMPOSE, REPO_ROOT

# What a user fills in after `cp .env.example .env`; FLOWER_BASIC_AUTH left
# blank, as everyone who never runs Flower leaves it.
USER_ENV = {
    "RABBITMQ_USER": "pipeline",
    "RABBITMQ_PASSWORD": "rabbit-password",
    "WEB_BROKER_USER": "web",
    "WEB_BROKER_PASSWORD": "web-broker-password",
    "TRANSCODER_BROKER_USER": "transcoder",
    "TRANSCODER_BROKER_PASSWORD": "transcoder-broker-password",
    "POSTGRES_PASSWORD": "postgres-password",
    "DJANGO_SECRET_KEY": "a-secret-key",
    "DJANGO_ALLOWED_HOSTS": "localhost",
    "S3_BUCKET": "videos",
    "WEB_S3_ACCESS_KEY_ID": "web-key",
    "WEB_S3_SECRET_ACCESS_KEY": "web-secret",
    "TRANSCODER_S3_ACCESS_KEY_ID": "transcoder-key",
    "TRANSCODER_S3_SECRET_ACCESS_KEY": "transcoder-secret",
    "FLOWER_BASIC_AUTH": "",
}
PROFILES = sorted(
    {
        p
        for s in yaml.safe_load(COMPOSE.read_text())["services"].values()
        for p in s.get("profiles", [])
    }
)


def _composes() -> list[list[str]]:
    found = []
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            found.append(["docker", "compose"])
    return found


COMPOSES = _composes()


def test_a_compose_is_installed():
    # The checks below must not pass by finding nothing to run.
    assert COMPOSES, "install Docker Compose (apt-get install docker-compose, or the v2 plugin)"


def _config(compose, tmp_path, *args, env=USER_ENV, file=COMPOSE):
    env_file = tmp_path / "user.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    # A clean environment: only the env file speaks, not the caller's shell.
    argv = [*compose, "--project-directory", str(REPO_ROOT), "--env-file", str(env_file)]
    return subprocess.run(
        [*argv, "--file", str(file), *args, "config", "--services"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        check=False,
    )


@pytest.mark.parametrize("compose", COMPOSES, ids=" ".join)
@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_config_is_valid_without_and_with_each_profile(compose, profile, tmp_path):
    result = _config(compose, tmp_path, *(["--profile", profile] if profile else []))
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"web", "collector", "transcoder", "rabbitmq", "postgres", "seaweedfs"} <= services
    if profile == "monitoring":
        assert "flower" in services, services
    elif compose != ["docker-compose"]:  # v1's `config` lists every service, profile or not
        assert "flower" not in services, services


@pytest.mark.parametrize("compose", COMPOSES, ids=" ".join)
def test_a_missing_required_value_stops_compose_with_its_message(compose, tmp_path):
    env = {k: v for k, v in USER_ENV.items() if k != "RABBITMQ_PASSWORD"}
    result = _config(compose, tmp_path, env=env)
    assert result.returncode != 0
    assert "set RABBITMQ_PASSWORD in .env" in result.stdout + result.stderr


@pytest.mark.parametrize("compose", COMPOSES, ids=" ".join)
def test_a_required_variable_in_a_profiled_service_would_stop_everyone(compose, tmp_path):
    # The file as it was before issue 10: this is what the check above catches.
    text = COMPOSE.read_text()
    old = "FLOWER_BASIC_AUTH: ${FLOWER_BASIC_AUTH:-}"
    assert old in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, "FLOWER_BASIC_AUTH: ${FLOWER_BASIC_AUTH:?set it}"))
    result = _config(compose, tmp_path, file=broken)
    assert result.returncode != 0, "a blank FLOWER_BASIC_AUTH no longer stops the old file?"
    assert "FLOWER_BASIC_AUTH" in result.stdout + result.stderr


@pytest.mark.parametrize(("auth", "code"), [("", 64), ("admin:secret", 127)])
def test_flower_refuses_to_start_without_basic_auth(auth, code, tmp_path):
    # The entrypoint's own check, run by a real sh: blank stops it with the
    # message; set, it goes on to `exec celery flower` (absent here: 127).
    entrypoint = yaml.safe_load(COMPOSE.read_text())["services"]["flower"]["entrypoint"]
    argv = [word.replace("$$", "$") for word in entrypoint]  # Compose's escaping
    assert argv[:2] == ["/bin/sh", "-c"]
    result = subprocess.run(
        ["/bin/sh", "-c", argv[2]],
        env={"PATH": str(tmp_path), "FLOWER_BASIC_AUTH": auth},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == code, result.stderr
    assert ("set FLOWER_BASIC_AUTH" in result.stderr) == (auth == "")
