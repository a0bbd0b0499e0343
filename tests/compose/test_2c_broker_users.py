"""One broker user per service, least privilege (deploy/rabbitmq/entrypoint.sh).

Each probe logs in with the credentials a service's container really has
(its BROKER_URL, from `docker inspect`) and tries what that service must not
do. It runs py-amqp inside the web container: that is where Python, amqp and
the compose network are; only the credentials differ.

Runs before test_3_down.py, on the package's one stack.
"""

from __future__ import annotations

import pytest

from tests.support.docker import docker

pytestmark = pytest.mark.timeout(300)

# Prints ACCESS_REFUSED, or OK when the broker let the operation through.
PROBE = """
import os, urllib.parse, amqp
url = urllib.parse.urlsplit(os.environ["PROBE_URL"])
connection = amqp.Connection(
    f"{url.hostname}:{url.port}", userid=urllib.parse.unquote(url.username),
    password=urllib.parse.unquote(url.password), virtual_host="/",
)
connection.connect()
channel = connection.channel()
try:
    if os.environ["PROBE_OP"] == "consume":
        tag = channel.basic_consume(os.environ["PROBE_QUEUE"], callback=lambda message: None)
        channel.basic_cancel(tag)  # nothing taken: unacked deliveries go back
    else:
        channel.queue_declare(os.environ["PROBE_QUEUE"], durable=False, auto_delete=True)
    print("OK")
except amqp.exceptions.AccessRefused as exc:
    print("ACCESS_REFUSED", exc)
"""


def _broker_url(container: str) -> str:
    env = docker("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", container)
    (url,) = [line.split("=", 1)[1] for line in env.splitlines() if line.startswith("BROKER_URL=")]
    return url


def _probe(project, *, credentials_of: str, op: str, queue: str) -> str:
    url = _broker_url(project.containers(credentials_of)[0])
    return docker(
        "exec", "-e", f"PROBE_URL={url}", "-e", f"PROBE_OP={op}", "-e", f"PROBE_QUEUE={queue}",
        project.container("web"), "python", "-c", PROBE,
    )  # fmt: skip


def test_each_service_has_its_own_broker_user(compose_project):
    users = {
        service: _broker_url(compose_project.containers(service)[0]).split("//")[1].split(":")[0]
        for service in ("web", "collector", "transcoder")
    }
    assert users["web"] == users["collector"] != users["transcoder"], users
    assert compose_project.setting("RABBITMQ_USER") not in users.values(), users


def test_the_transcoder_cannot_read_the_web_results_queue(compose_project):
    out = _probe(compose_project, credentials_of="transcoder", op="consume",
                 queue="web.transcode_results")  # fmt: skip
    assert out.startswith("ACCESS_REFUSED"), out


def test_the_web_cannot_take_the_transcoders_jobs(compose_project):
    out = _probe(compose_project, credentials_of="web", op="consume", queue="transcode_queue")
    assert out.startswith("ACCESS_REFUSED"), out


def test_the_web_cannot_take_a_transcoders_control_queue(compose_project):
    # Each worker's remote-control queue: whoever reads it swallows the
    # revokes (cancel) and pings meant for that worker.
    queue = next(
        line.split("\t")[0]
        for line in docker(
            "exec",
            compose_project.container("rabbitmq"),
            "rabbitmqctl",
            "-q",
            "list_queues",
            "name",
        ).splitlines()
        if line.endswith(".celery.pidbox")
    )
    out = _probe(compose_project, credentials_of="web", op="consume", queue=queue)
    assert out.startswith("ACCESS_REFUSED"), out


def test_the_web_cannot_declare_queues_of_its_own_choosing(compose_project):
    out = _probe(compose_project, credentials_of="web", op="declare", queue="anything.else")
    assert out.startswith("ACCESS_REFUSED"), out
