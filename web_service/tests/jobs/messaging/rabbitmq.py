"""A real RabbitMQ for the tests that need what the memory transport lacks:
permissions, publisher confirms, dead-lettering.

Each use gets its own vhost (and, if asked, its own user), created with
rabbitmqctl and deleted afterwards, so parallel runs never share a queue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config.celery_app import app

HOST = "127.0.0.1:5672"
WEB_SERVICE = Path(__file__).resolve().parents[3]


# The web's broker user in docker-compose.yml (deploy/rabbitmq/entrypoint.sh):
# it publishes jobs and cancels, declares and reads its reply queues, and has
# no right on transcode_queue beyond publishing, nor any on Celery's remote
# control (celery.pidbox). tests/compose/test_2c_broker_users.py checks the
# real one.
COMPOSE_WEB_USER = {
    "configure": r"^(web\.transcode_results|web\.transcode_results\.dead)$",
    "write": r"^(transcode_queue|transcode_cancel|amq\.default)$",
    "read": r"^(web\.transcode_results|web\.transcode_results\.dead)$",
}


def _ctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)


@contextmanager
def rabbitmq_vhost(*, configure: str = ".*", write: str = ".*", read: str = ".*") -> Iterator[str]:
    """Yield an amqp URL on a fresh vhost, for a fresh user with these permissions."""
    name = f"web-test-{uuid.uuid4().hex[:12]}"
    _ctl("add_vhost", name)
    try:
        _ctl("add_user", name, name)
        _ctl("set_permissions", "-p", name, name, configure, write, read)
        _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")  # for inspection
        yield f"amqp://{name}:{name}@{HOST}/{name}"
    finally:
        _ctl("delete_user", name, check=False)
        _ctl("delete_vhost", name, check=False)


def vhost_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def guest_url(url: str) -> str:
    """The same vhost as the guest user, who may do everything there."""
    return f"amqp://guest:guest@{HOST}/{vhost_of(url)}"


def policy_set(*, url: str, name: str, pattern: str, definition: dict) -> None:
    _ctl(
        "set_policy", "-p", vhost_of(url), "--apply-to", "queues",
        name, pattern, json.dumps(definition),
    )  # fmt: skip


def settings_transport_options(*, broker_url: str) -> dict:
    """BROKER_TRANSPORT_OPTIONS as config/settings.py computes them for `broker_url`.

    In a process of its own: the settings are read once, at start-up, with
    the test suite's BROKER_URL (memory://).
    """
    code = (
        "import json, django; django.setup(); from django.conf import settings;"
        " print(json.dumps(settings.BROKER_TRANSPORT_OPTIONS))"
    )
    env = {**os.environ, "BROKER_URL": broker_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=WEB_SERVICE, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def celery_app_using(*, broker_url: str, transport_options: dict) -> Iterator[None]:
    """Point the web's producer at `broker_url`; Celery caches its pools, so drop them."""
    original = (app.conf.broker_url, app.conf.broker_transport_options)

    def use(url: str, options: dict) -> None:
        app.conf.broker_url = url
        app.conf.broker_transport_options = options
        app._pool = None
        app.amqp._producer_pool = None

    use(broker_url, transport_options)
    try:
        yield
    finally:
        use(*original)
