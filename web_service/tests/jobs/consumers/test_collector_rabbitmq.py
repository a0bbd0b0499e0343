"""The collector against a real RabbitMQ and PostgreSQL: every reply settles.

A reply the collector cannot store must land in the dead-letter queue
(`<RESULTS_QUEUE>.dead`, by RabbitMQ's own dead-lettering), never be
requeued forever. The memory transport has no dead-lettering, so these
tests use a vhost of their own.
"""

from __future__ import annotations

import json
import resource
import zlib
from collections.abc import Iterator

import pytest
from kombu import Connection, Producer

from jobs.consumers.collector import ResultCollector
from jobs.messaging import contract
from jobs.models import JobStatus

from ...factories import video_with_job
from ..messaging.rabbitmq import rabbitmq_vhost

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker() -> Iterator[Connection]:
    with rabbitmq_vhost() as url, Connection(url) as connection:
        yield connection


def _publish_raw(connection: Connection, body: bytes, *, task_id: str, headers=None) -> None:
    """As Celery's rpc backend publishes a state: default exchange, the reply
    queue's name as routing key, correlation_id = task_id."""
    queue = contract.results_queue()
    Producer(connection.default_channel).publish(
        body,
        exchange="",
        routing_key=queue.name,
        content_type="application/json",
        content_encoding="utf-8",
        correlation_id=task_id,
        headers=headers or {},
        declare=[contract.dead_letter_queue(), queue],
    )


def _reply(task_id: str, status: str, result, traceback=None) -> bytes:
    body = {
        "task_id": task_id,
        "status": status,
        "result": result,
        "traceback": traceback,
        "children": [],
        "date_done": None,
    }
    return json.dumps(body).encode()


def _run(connection: Connection, messages: int) -> None:
    collector = ResultCollector(connection=connection, relay_interval=3600)
    for _ in collector.consume(limit=messages, timeout=5):
        pass


def _depth(connection: Connection, name: str) -> int:
    with connection.channel() as channel:
        return channel.queue_declare(queue=name, passive=True).message_count


def _dead_bodies(connection: Connection) -> list[bytes]:
    bodies = []
    with connection.channel() as channel:
        while (message := channel.basic_get(queue=contract.dead_letter_queue().name)) is not None:
            bodies.append(message.body)
            channel.basic_ack(message.delivery_tag)
    return bodies


def _assert_dead_lettered(connection: Connection, count: int = 1) -> list[bytes]:
    assert _depth(connection, contract.results_queue().name) == 0
    bodies = _dead_bodies(connection)
    assert len(bodies) == count
    return bodies


def test_a_nul_byte_in_the_traceback_is_dead_lettered(broker, caplog):
    _, job = video_with_job(status=JobStatus.PROCESSING)
    task_id = str(job.id)
    traceback = "Traceback (most recent call last):\n  File \x00 evil\nKeyError: 'x'\n"
    failure = {"exc_type": "KeyError", "exc_message": ["x"], "exc_module": "builtins"}
    _publish_raw(broker, _reply(task_id, "FAILURE", failure, traceback), task_id=task_id)

    _run(broker, messages=1)

    _assert_dead_lettered(broker)
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING  # the reaper settles it later
    assert any(
        r.levelname == "ERROR" and task_id in r.getMessage() and "FAILURE" in r.getMessage()
        for r in caplog.records
    )


def test_data_the_database_refuses_is_dead_lettered_not_requeued(broker, caplog):
    # A NUL inside the reason reaches PostgreSQL, which refuses it: a data
    # error, not an outage, so a retry would fail the same way forever.
    _, job = video_with_job(status=JobStatus.PROCESSING)
    task_id = str(job.id)
    failure = {"exc_type": "InvalidMedia", "exc_message": ["bad\x00file"], "exc_module": "x"}
    _publish_raw(broker, _reply(task_id, "FAILURE", failure), task_id=task_id)
    # The next reply is still applied: the collector did not stop.
    _publish_raw(broker, _reply(task_id, "PROGRESS", {"percent": 30}), task_id=task_id)

    _run(broker, messages=2)

    _assert_dead_lettered(broker)
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.PROCESSING, 30)
    assert any(
        r.levelname == "ERROR" and f"rejecting reply {task_id} FAILURE" in r.getMessage()
        for r in caplog.records
    )


@pytest.mark.parametrize("compression", ["application/x-gzip", "application/x-bz2", "x-unknown"])
def test_a_compressed_reply_is_dead_lettered_as_it_came(broker, compression):
    _, job = video_with_job()
    task_id = str(job.id)
    body = zlib.compress(_reply(task_id, "STARTED", {}))
    _publish_raw(broker, body, task_id=task_id, headers={"compression": compression})

    _run(broker, messages=1)

    assert _assert_dead_lettered(broker) == [body]  # never decompressed nor re-encoded
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_a_zlib_bomb_is_refused_without_inflating_it(broker):
    # 256 MiB of JSON in about 256 KiB of zlib, built in pieces so that the
    # test itself never holds it whole.
    _, job = video_with_job()
    task_id = str(job.id)
    packer = zlib.compressobj(9)
    pieces = [
        packer.compress(
            b'{"task_id": "%s", "status": "STARTED", "result": {"pad": "' % task_id.encode()
        )
    ]
    chunk = b"a" * (1 << 20)
    pieces += [packer.compress(chunk) for _ in range(256)]
    pieces += [packer.compress(b'"}}'), packer.flush()]
    bomb = b"".join(pieces)
    del chunk, pieces
    _publish_raw(broker, bomb, task_id=task_id, headers={"compression": "application/x-gzip"})

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    _run(broker, messages=1)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    assert peak_after - peak_before < 64 * 1024  # far below the 256 MiB it inflates to
    assert _assert_dead_lettered(broker) == [bomb]
