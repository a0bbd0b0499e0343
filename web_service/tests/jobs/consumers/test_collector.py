"""The collector consuming real kombu messages (in-memory transport)."""

from __future__ import annotations

import logging
import pickle
import time
from datetime import timedelta

import pytest
from django.db import DataError, IntegrityError, OperationalError
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from kombu import Connection, Producer

from core import objectstore
from jobs.consumers.collector import ResultCollector, _database_down
from jobs.messaging import contract
from jobs.models import JobStatus, TranscodeJob

from ...conftest import multipart_keys, source_keys
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


@pytest.mark.usefixtures("empty_sources")
def test_housekeeping_aborts_multipart_uploads_older_than_the_limit(
    memory_broker, settings, object_store, transcoder_s3
):
    # What a web process killed mid-upload leaves: a started multipart
    # upload with a part in it, which nobody will complete or abort.
    key = objectstore.source_key_new()
    upload_id = objectstore.multipart_create(key=key)
    objectstore.multipart_part_upload(key=key, upload_id=upload_id, number=1, body=b"half")

    settings.UPLOAD_ABANDONED_AFTER = 3600
    ResultCollector(connection=memory_broker, relay_interval=3600).on_iteration()
    assert multipart_keys(transcoder_s3, object_store.bucket) == [key]  # still young

    time.sleep(1.1)  # the store's clock counts whole seconds
    settings.UPLOAD_ABANDONED_AFTER = 1
    ResultCollector(connection=memory_broker, relay_interval=3600).on_iteration()
    assert multipart_keys(transcoder_s3, object_store.bucket) == []
    assert source_keys(transcoder_s3, object_store.bucket) == []


def test_housekeeping_survives_an_unreachable_store(memory_broker, settings, caplog):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"
    collector = ResultCollector(connection=memory_broker, relay_interval=3600)
    with caplog.at_level(logging.WARNING, logger="jobs.consumers.chores"):
        collector.on_iteration()  # logs, does not raise into kombu's loop
        collector.on_iteration()  # the sweep waits its interval before trying again
    skipped = [r for r in caplog.records if r.getMessage().startswith("uploads_sweep skipped")]
    assert len(skipped) == 1
    assert "ObjectStoreUnavailable" in skipped[0].getMessage()


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


def test_stuck_jobs_are_reaped_only_once_the_replies_are_read(memory_broker, settings):
    # A job that looks stalled in the database while its state still waits
    # in the reply queue (the collector was down) must not be given up.
    settings.JOB_STALLED_AFTER = 60
    _, job = video_with_job(status=JobStatus.PROCESSING)
    TranscodeJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    task_id = str(job.id)
    _publish(memory_broker, {"task_id": task_id, "status": "PROGRESS", "result": {"percent": 5}})

    # relay_interval 0: the reaper looks at every iteration.
    collector = ResultCollector(connection=memory_broker, relay_interval=0)
    for _ in collector.consume(limit=1, timeout=2):
        pass  # its first iteration saw one reply waiting: no reaping
    job.refresh_from_db()
    assert (job.status, job.progress) == (JobStatus.PROCESSING, 5)

    TranscodeJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    for _ in collector.consume(limit=1, timeout=2):
        pass  # the queue is empty now: the job is given up
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "Stalled")


def _raised_while_handling(first: Exception, then: Exception) -> Exception:
    try:
        try:
            raise first
        except Exception:
            raise then  # noqa: B904 - the implicit __context__ is the point
    except Exception as exc:
        return exc


def test_a_locked_database_behind_a_transaction_error_is_retried_not_dead_lettered():
    # django-celery-results retries inside the atomic block, so SQLite's
    # "database is locked" reaches the collector as a TransactionManagementError.
    locked = _raised_while_handling(
        OperationalError("database is locked"),
        TransactionManagementError("An error occurred in the current transaction."),
    )
    assert _database_down(locked)
    assert not _database_down(DataError("A string literal cannot contain NUL"))
    assert not _database_down(_raised_while_handling(ValueError("x"), IntegrityError("dup")))
