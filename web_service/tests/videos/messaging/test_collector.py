"""The collector consuming real kombu messages (in-memory transport)."""

from __future__ import annotations

import os
import pickle
import time

import pytest
from kombu import Connection, Producer

from videos.messaging import contract
from videos.messaging.collector import ResultCollector
from videos.models import JobStatus

from ...factories import success_result, video_with_job

# transaction=True: the collector manages connections and transactions as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def _publish(connection: Connection, body, serializer: str = "json") -> None:
    queue = contract.results_queue()
    producer = Producer(connection.default_channel)
    # Exactly how Celery's rpc backend publishes: default exchange, the reply
    # queue's name as routing key.
    producer.publish(
        body, exchange="", routing_key=queue.name, serializer=serializer, declare=[queue]
    )


def _run(connection: Connection, messages: int) -> None:
    collector = ResultCollector(connection=connection, relay_interval=3600)
    for _ in collector.consume(limit=messages, timeout=2):
        pass


def _queue_depth(connection: Connection, name: str) -> int:
    return connection.default_channel._size(name)


def test_applies_states_in_order_and_acks_them(memory_broker):
    _, job = video_with_job()
    task_id = str(job.id)
    for status, result in [
        ("STARTED", {"pid": 1, "hostname": "w"}),
        ("PROGRESS", {"percent": 50, "stage": "transcoding"}),
        ("SUCCESS", success_result(job_id=task_id)),
    ]:
        _publish(memory_broker, {"task_id": task_id, "status": status, "result": result})

    _run(memory_broker, messages=3)

    job.refresh_from_db()
    assert job.status == JobStatus.READY
    assert _queue_depth(memory_broker, contract.results_queue().name) == 0


def test_pickle_is_never_decoded(memory_broker):
    _, job = video_with_job()

    class Boom:
        def __reduce__(self):  # would run on unpickling
            return (pytest.fail, ("pickle was decoded",))

    memory_broker.default_channel  # noqa: B018 - open the channel before publishing
    queue = contract.results_queue()
    Producer(memory_broker.default_channel).publish(
        pickle.dumps(Boom()),
        exchange="",
        routing_key=queue.name,
        content_type="application/x-python-serialize",
        content_encoding="binary",
        declare=[queue],
    )
    _run(memory_broker, messages=1)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert _queue_depth(memory_broker, queue.name) == 0  # rejected, not requeued


def test_malformed_reply_is_rejected_and_the_next_one_applied(memory_broker):
    _, job = video_with_job()
    _publish(memory_broker, {"status": "SUCCESS"})
    _publish(memory_broker, {"task_id": str(job.id), "status": "STARTED", "result": {}})
    _run(memory_broker, messages=2)
    job.refresh_from_db()
    assert job.status == JobStatus.PROCESSING


def test_housekeeping_removes_abandoned_uploads(memory_broker, media_root, settings):
    settings.UPLOAD_ABANDONED_AFTER = 60
    abandoned = media_root / "incoming" / "tmpabc.upload.mp4"
    abandoned.write_bytes(b"half a video")
    then = time.time() - 120
    os.utime(abandoned, (then, then))

    ResultCollector(connection=memory_broker, relay_interval=3600).on_iteration()

    assert not abandoned.exists()


def test_a_stop_asked_for_while_the_broker_is_unreachable_ends_the_run():
    # Nothing listens on port 1: every connection attempt is refused at once,
    # and kombu keeps retrying forever unless the collector steps in.
    collector = ResultCollector(
        connection=Connection("amqp://guest:guest@127.0.0.1:1//"), relay_interval=3600
    )

    def stop_while_waiting(exc: Exception, interval: float) -> None:
        collector.should_stop = True  # what the SIGTERM handler does

    collector.on_connection_error = stop_while_waiting
    started = time.monotonic()
    collector.run()
    assert time.monotonic() - started < 5
