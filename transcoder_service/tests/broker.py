"""A real RabbitMQ for tests: a throwaway vhost, a started worker, and the web's side.

`Caller` plays the web's part with nothing but the contract: a bare Celery
client sends tasks by name with `reply_to` set to a durable queue it
declared itself, and reads the states from that queue with kombu.

Each test module gets a throwaway RabbitMQ vhost (rabbitmqctl); without
rabbitmqctl it uses the broker in $BROKER_URL. With neither, the tests are
skipped, or fail when $CI is set, so CI cannot pass without running them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Consumer, Exchange, Producer, Queue

from .worker_process import WorkerProcess

FINAL_STATES = {"SUCCESS", "FAILURE", "REVOKED"}
TRANSCODE_QUEUE = Queue(
    "transcode_queue",
    Exchange("transcode_queue", type="direct", durable=True),
    routing_key="transcode_queue",
    durable=True,
)
# docs/messages.md, "Cancelling a job": what the web publishes to cancel.
CANCEL_EXCHANGE = Exchange("transcode_cancel", type="fanout", durable=True)


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"RabbitMQ is required in CI: {reason}")
    pytest.skip(reason)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def throwaway_vhost() -> Iterator[str]:
    """The URL of a fresh vhost on the local RabbitMQ, deleted afterwards."""
    vhost = f"transcoder-test-{uuid.uuid4().hex[:8]}"
    try:
        rabbitmqctl("add_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError):
        url = os.environ.get("BROKER_URL")
        if not url:
            unavailable("no usable rabbitmqctl and no BROKER_URL in the environment")
        yield url
        return
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def running_worker(*, broker_url: str, env: dict[str, str]) -> Iterator[WorkerProcess]:
    """`bin/start worker` with `env` on top of ours, ready to consume; stopped afterwards."""
    with Connection(broker_url, connect_timeout=5) as conn:
        try:
            conn.ensure_connection(max_retries=1)
        except Exception as exc:  # any transport error means "no broker here"
            unavailable(f"cannot connect to the broker: {exc}")
    process = WorkerProcess.start(
        broker_url=broker_url,
        env={
            # The venv running the tests provides `celery` for bin/start.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            **env,
        },
    )
    try:
        process.wait_for_log(r"celery@\S+ ready\.")
        yield process
    finally:
        process.stop()


class Caller:
    """The web's side of the contract, reduced to what the tests need."""

    def __init__(self, broker_url: str) -> None:
        self.client = Celery(broker=broker_url)
        self.client.conf.update(
            task_serializer="json",
            accept_content=["json"],
            task_queues=(TRANSCODE_QUEUE,),
            task_routes={"transcode.*": {"queue": "transcode_queue"}},
            task_create_missing_queues=False,
        )
        self.connection = Connection(broker_url)
        # Fixed and durable, declared before anything is sent (the contract).
        self.reply_queue = Queue(f"test.results.{uuid.uuid4().hex[:8]}", durable=True)
        self.reply_queue(self.connection.default_channel).declare()
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.consumer = Consumer(
            self.connection, queues=[self.reply_queue], accept=["json"], callbacks=[self._on]
        )
        self.consumer.consume()

    def _on(self, body: dict[str, Any], message: Any) -> None:
        assert message.content_type == "application/json"
        assert message.properties["correlation_id"] == body["task_id"]
        assert message.delivery_info["routing_key"] == self.reply_queue.name
        assert message.properties["delivery_mode"] == 2  # persistent
        self.replies.setdefault(body["task_id"], []).append(body)
        message.ack()

    def send(self, name: str, *args: Any, **kwargs: Any) -> str:
        return self.send_with_options(name, args=args, kwargs=kwargs)

    def send_with_options(
        self,
        name: str,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any],
        task_id: str | None = None,
        **options: Any,
    ) -> str:
        """Send with Celery options (countdown, time limits, ...) as any caller could."""
        task_id = task_id or uuid.uuid4().hex
        self.client.send_task(
            name,
            args=args,
            kwargs=kwargs,
            task_id=task_id,
            reply_to=self.reply_queue.name,
            **options,
        )
        return task_id

    def cancel(self, job_id: str) -> None:
        """The web's cancel: the contract's JSON body on the fanout exchange."""
        self.cancel_publish({"job_id": job_id, "contract_version": 2})

    def cancel_publish(self, body: Any, **options: Any) -> None:
        """Anything on the cancel exchange, as any publisher there could send it."""
        Producer(self.connection.default_channel).publish(
            body,
            exchange=CANCEL_EXCHANGE,
            routing_key="",
            declare=[CANCEL_EXCHANGE],
            **{"serializer": "json", **options},
        )

    def wait(
        self,
        task_id: str,
        *,
        until: set[str],
        timeout: float = 60,
        percent_above: int = -1,
    ) -> list[dict[str, Any]]:
        """Read replies until the task's latest state is in `until` (and past a percent)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.replies.get(task_id, [])
            if states and states[-1]["status"] in until:
                percent = states[-1]["result"].get("percent", 100)
                if percent > percent_above:
                    return states
            with contextlib.suppress(TimeoutError):
                self.connection.drain_events(timeout=0.5)
        raise AssertionError(
            f"no {until} for {task_id} within {timeout} s; got {self.replies.get(task_id)}"
        )

    def close(self) -> None:
        self.consumer.cancel()
        self.reply_queue(self.connection.default_channel).delete()
        self.connection.close()
