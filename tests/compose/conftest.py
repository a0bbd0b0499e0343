"""The compose stack, as a user runs it, for tests/compose.

Package scope: one stack for the whole suite, and the Docker daemon (when
this suite started it) stopped, with the host's firewall put back, before
the next suite runs. The stack is this repository's docker-compose.yml,
built from local images (tests/support/docker.py), under a throwaway project
name, with TWO transcoders:

    docker-compose -p NAME --env-file FILE build
    docker-compose -p NAME --env-file FILE up -d --scale transcoder=2
    (then every service healthy: Compose v1 has no --wait)
    ...
    docker-compose -p NAME --env-file FILE down -v --remove-orphans
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.docker import REPO, ComposeProject, docker, local_images
from tests.support.docker_daemon import docker_daemon
from tests.support.media import clip_make
from tests.support.observe import STATES_RECORDER_SQL

TRANSCODERS = 2
HEALTHY = {"rabbitmq": 1, "postgres": 1, "seaweedfs": 1, "web": 1, "collector": 1, "nginx": 1}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env_file(
    path: Path, images: dict[str, str], web_port: int, s3_port: int, prometheus_port: int
) -> Path:
    """What a user puts in .env, with throwaway credentials and free ports."""
    values = {
        "RABBITMQ_USER": "pipeline",
        "RABBITMQ_PASSWORD": secrets.token_hex(16),
        # One broker user per service (deploy/rabbitmq/entrypoint.sh).
        "WEB_BROKER_USER": "web",
        "WEB_BROKER_PASSWORD": secrets.token_hex(16),
        "TRANSCODER_BROKER_USER": "transcoder",
        "TRANSCODER_BROKER_PASSWORD": secrets.token_hex(16),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "S3_BUCKET": "videos",
        "WEB_S3_ACCESS_KEY_ID": f"web-{secrets.token_hex(6)}",
        "WEB_S3_SECRET_ACCESS_KEY": secrets.token_hex(20),
        "TRANSCODER_S3_ACCESS_KEY_ID": f"transcoder-{secrets.token_hex(6)}",
        "TRANSCODER_S3_SECRET_ACCESS_KEY": secrets.token_hex(20),
        # Free ports, so a `make run` or another suite on 8000/8333 is no obstacle.
        "WEB_PORT": str(web_port),
        "S3_PUBLISHED_PORT": str(s3_port),
        "S3_PUBLIC_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "PROMETHEUS_PORT": str(prometheus_port),
        # What the monitoring profile's Prometheus shows the web's /metrics
        # (test_4_monitoring.py): the web answers only loopback without it.
        "METRICS_TOKEN": secrets.token_hex(16),
        # One job per transcoder, so "the other one" is free to take a job.
        "TRANSCODER_CONCURRENCY": "1",
        # The broker notices a transcoder cut off the network within seconds.
        "BROKER_HEARTBEAT": "2",
        # Each test signs up its own account, all from this machine's address.
        "SIGNUP_RATE": "10000/hour",
        **images,
    }
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="package")
def compose_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    """The stack up and healthy; always removed afterwards, by its project name."""
    scratch = tmp_path_factory.mktemp("compose")
    with docker_daemon(scratch / "dockerd.log"):
        images = local_images()
        project = ComposeProject(
            name=f"vptest{secrets.token_hex(4)}",
            env_file=_env_file(scratch / "env", images, _free_port(), _free_port(), _free_port()),
            log_dir=REPO / "artifacts" / "compose",
        )
        try:
            project.build()
            project.compose("up", "--detach", "--scale", f"transcoder={TRANSCODERS}", timeout=600)
            project.wait_healthy({**HEALTHY, "transcoder": TRANSCODERS})
            yield project
        finally:
            if project.containers(every=True):
                project.logs_keep()  # artifacts/compose/<project>.log, for a failed run
            project.compose("down", "--volumes", "--remove-orphans", check=False)
            project.remove_leftovers()


@pytest.fixture(scope="package")
def states_recorded(compose_project: ComposeProject) -> ComposeProject:
    """Every state and status written from now on is kept (observe.STATES_RECORDER_SQL)."""
    docker(
        *("exec", compose_project.container("postgres"), "psql", "--username", "video_pipeline"),
        *("--dbname", "video_pipeline", "--quiet", "--set", "ON_ERROR_STOP=1"),
        *("--command", STATES_RECORDER_SQL),
    )
    return compose_project


@pytest.fixture(scope="package")
def web_url(compose_project: ComposeProject) -> str:
    port = compose_project.setting("WEB_PORT")
    # localhost: DJANGO_ALLOWED_HOSTS is what a user sets, and 127.0.0.1 is
    # only added by compose for the container's own healthcheck.
    return f"http://localhost:{port}"


@pytest.fixture
def api(web_url: str) -> ApiClient:
    return ApiClient(web_url)


@pytest.fixture(scope="package")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Transcodes in a second or two: several jobs in little time."""
    return clip_make(tmp_path_factory.mktemp("clips") / "short.mp4", seconds=8)


@pytest.fixture(scope="package")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """720p for 30 s: still transcoding while a test breaks something."""
    return clip_make(
        tmp_path_factory.mktemp("clips") / "long.mp4", seconds=30, width=1280, height=720
    )
