"""One broker user per service, least privilege (deploy/rabbitmq/entrypoint.sh).

Each probe logs in with the credentials a service's container really has
(its BROKER_URL, from `docker inspect`) and tries what that service must not
do. It runs py-amqp inside the web container: that is where Python, amqp and
the compose network are; only the credentials differ.

Runs before test_3_down.py, on the package's one stack.
"""

from __future__ import annotations

import time

import pytest

from tests.compose.conftest import TRANSCODERS
from tests.compose.helpers import consumers_ready, post, upload, wait_for
from tests.support.docker import docker, queue_consumers, run

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


# Celery's remote control commands that stop a worker's work, sent two ways
# with the web's credentials: as Celery sends them (`app.control.broadcast`,
# which declares celery.pidbox first), and as a bare publish that declares
# nothing, with publisher confirms so that a refusal is seen. Prints one line
# per command and way: ACCESS_REFUSED, or SENT when the broker took it.
REMOTE_CONTROL_PROBE = """
import json, os, urllib.parse, amqp
from celery import Celery
commands = [("cancel_consumer", {"queue": "transcode_queue"}), ("pool_shrink", {"n": 1}),
            ("shutdown", {})]
url = os.environ["PROBE_URL"]
app = Celery(broker=url)
for command, arguments in commands:
    try:
        app.control.broadcast(command, arguments=arguments)
        print("celery", command, "SENT")
    except amqp.exceptions.AccessRefused:
        print("celery", command, "ACCESS_REFUSED")
parts = urllib.parse.urlsplit(url)
connection = amqp.Connection(
    f"{parts.hostname}:{parts.port}", userid=urllib.parse.unquote(parts.username),
    password=urllib.parse.unquote(parts.password),
    virtual_host=urllib.parse.unquote(parts.path[1:]) or "/", confirm_publish=True,
)
connection.connect()
for command, arguments in commands:
    body = {"method": command, "arguments": arguments, "destination": None,
            "pattern": None, "matcher": None}
    channel = connection.channel()
    try:
        channel.basic_publish(
            amqp.Message(json.dumps(body), content_type="application/json",
                         content_encoding="utf-8"),
            exchange="celery.pidbox", routing_key="",
        )
        print("amqp", command, "SENT")
    except amqp.exceptions.AccessRefused:
        print("amqp", command, "ACCESS_REFUSED")
"""


def test_the_web_cannot_stop_the_transcoders_through_celerys_remote_control(
    compose_project, api, short_clip
):
    consumers_ready(compose_project, TRANSCODERS)
    out = docker(
        "exec", "-e", f"PROBE_URL={_broker_url(compose_project.containers('web')[0])}",
        compose_project.container("web"), "python", "-c", REMOTE_CONTROL_PROBE,
    )  # fmt: skip
    refused = [
        f"{way} {command} ACCESS_REFUSED"
        for way in ("celery", "amqp")
        for command in ("cancel_consumer", "pool_shrink", "shutdown")
    ]
    assert out.splitlines() == refused, out
    time.sleep(3)  # long enough for a worker to act on a command it received
    assert queue_consumers(compose_project.container("rabbitmq"), "transcode_queue") == (
        TRANSCODERS
    )
    video_id = upload(api, short_clip, "after the broadcast")
    final, _ = api.wait_final(video_id, timeout=180)
    assert final["status"] == "ready", final


def _log_of(container: str) -> str:
    """A container's recent output; Celery logs to stderr."""
    done = run(["docker", "logs", "--since", "10m", container], check=False)
    return done.stdout + done.stderr


def _job_of(compose_project, video_id: str) -> str:
    return docker(
        "exec", compose_project.container("postgres"), "psql", "-U", "video_pipeline",
        "-d", "video_pipeline", "-tAc",
        f"SELECT current_job_id FROM videos_video WHERE id = '{video_id}'",
    ).strip()  # fmt: skip


def test_the_web_cancels_through_its_own_exchange_and_every_transcoder_hears_it(
    compose_project, api, long_clip
):
    # docs/messages.md, "Cancelling a job": each worker, busy or not, keeps the
    # job id, so a queued job is dropped wherever it is delivered.
    consumers_ready(compose_project, TRANSCODERS)
    video_id = upload(api, long_clip, "cancelled at once")
    job_id = _job_of(compose_project, video_id)
    response = post(api, f"/api/videos/{video_id}/cancel/")
    assert response.status_code == 200, response.text
    for transcoder in compose_project.containers("transcoder"):
        wait_for(
            lambda container=transcoder: f"Cancel of job {job_id}" in _log_of(container),
            f"the cancel of job {job_id} in transcoder {transcoder[:12]}",
            timeout=30,
        )
    final, _ = api.wait_final(video_id, timeout=60)
    assert (final["status"], final["outputs"]) == ("cancelled", []), final
