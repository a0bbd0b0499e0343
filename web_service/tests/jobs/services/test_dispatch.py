"""The outbox: a job is sent after the commit, and kept when the broker is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from kombu import Connection

from config.celery_app import app
from ingest.services.uploads import video_create
from jobs.messaging import contract
from jobs.models import DispatchState, JobStatus, TranscodeJob
from jobs.services.dispatch import job_dispatch, jobs_dispatch_pending

from ...conftest import transcode_queue_drain
from ...factories import video_with_job
from ..messaging.rabbitmq import (
    celery_app_using,
    guest_url,
    policy_set,
    rabbitmq_vhost,
    settings_transport_options,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return get_user_model().objects.create_user(username="uploader", password="not-used-1")


def _drain_task_ids(connection) -> list[str]:
    return [sent.id for sent in transcode_queue_drain(connection)]


def _use_broker(url: str) -> None:
    """Re-point the web's producer; Celery caches its pools, so drop them."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Point the producer at a port where nothing listens, for one test."""
    original = app.conf.broker_url
    _use_broker("amqp://guest:guest@127.0.0.1:1//")
    yield
    _use_broker(original)


def test_upload_is_sent_only_after_commit(memory_broker, django_capture_on_commit_callbacks, owner):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        video = video_create(
            owner=owner,
            source_key="sources/a",
            original_filename="clip.mp4",
            size_bytes=100,
            title="t",
        )
        job = video.current_job
        assert job.dispatch_state == DispatchState.PENDING
        assert _drain_task_ids(memory_broker) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.SENT
    assert job.sent_at is not None
    assert _drain_task_ids(memory_broker) == [str(job.id)]


def test_broker_down_keeps_the_job_in_the_outbox_and_the_relay_sends_it(
    memory_broker, broker_down, django_capture_on_commit_callbacks, owner
):
    with django_capture_on_commit_callbacks(execute=True):
        video = video_create(
            owner=owner,
            source_key="sources/b",
            original_filename="clip.mp4",
            size_bytes=100,
            title="",
        )
    job = video.current_job
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.PENDING
    assert job.status == JobStatus.QUEUED

    _use_broker("memory://")  # the broker is back
    TranscodeJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert jobs_dispatch_pending() == 1
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.SENT
    assert _drain_task_ids(memory_broker) == [str(job.id)]


def test_dispatch_skips_jobs_already_sent_or_cancelled(memory_broker):
    _, sent = video_with_job(dispatch_state=DispatchState.SENT)
    _, cancelled = video_with_job(status=JobStatus.CANCELLED, dispatch_state=DispatchState.PENDING)
    assert job_dispatch(job_id=sent.id) is False
    assert job_dispatch(job_id=cancelled.id) is False
    assert _drain_task_ids(memory_broker) == []


def test_relay_leaves_fresh_jobs_to_their_on_commit_hook(memory_broker):
    video_with_job(dispatch_state=DispatchState.PENDING)
    assert jobs_dispatch_pending(older_than=timedelta(minutes=5)) == 0
    assert jobs_dispatch_pending(older_than=timedelta(0)) == 1


# ---- Failures after the commit: the job stays pending, nothing escapes ----


def _upload(source_key: str):
    owner = get_user_model().objects.create_user(username=source_key, password="not-used-1")
    return video_create(
        owner=owner, source_key=source_key, original_filename="clip.mp4", size_bytes=100, title=""
    )


def test_a_broker_refusal_after_the_commit_keeps_the_job_pending(
    django_capture_on_commit_callbacks, caplog
):
    # A user without write permission: RabbitMQ answers ACCESS_REFUSED, an
    # AMQP channel error that is neither a KombuError nor an OSError.
    with rabbitmq_vhost(write="^$") as url:
        options = settings_transport_options(broker_url=url)
        with (
            celery_app_using(broker_url=url, transport_options=options),
            django_capture_on_commit_callbacks(execute=True),
        ):
            video = _upload("sources/refused")  # must not raise out of on_commit
    job = TranscodeJob.objects.get(pk=video.current_job_id)
    assert (job.dispatch_state, job.status) == (DispatchState.PENDING, JobStatus.QUEUED)
    (record,) = [r for r in caplog.records if "stays in the outbox" in r.getMessage()]
    assert "AccessRefused" in record.exc_text or "ACCESS_REFUSED" in record.exc_text


def test_a_nacked_publish_keeps_the_job_pending(django_capture_on_commit_callbacks):
    # A queue that refuses every message (a policy, so the queue's declared
    # arguments still match): RabbitMQ nacks it. Without publisher confirms
    # the publish "succeeds" and the job would be marked sent, yet be lost.
    with rabbitmq_vhost() as url:
        policy_set(
            url=url,
            name="full",
            pattern=f"^{contract.QUEUE}$",
            definition={"max-length": 0, "overflow": "reject-publish"},
        )
        options = settings_transport_options(broker_url=url)
        with (
            celery_app_using(broker_url=url, transport_options=options),
            django_capture_on_commit_callbacks(execute=True),
        ):
            video = _upload("sources/nacked")
    job = TranscodeJob.objects.get(pk=video.current_job_id)
    assert (job.dispatch_state, job.status) == (DispatchState.PENDING, JobStatus.QUEUED)


def test_a_confirmed_publish_marks_the_job_sent_on_a_real_broker(
    django_capture_on_commit_callbacks,
):
    with rabbitmq_vhost() as url:
        options = settings_transport_options(broker_url=url)
        assert options["confirm_publish"] is True
        with (
            celery_app_using(broker_url=url, transport_options=options),
            django_capture_on_commit_callbacks(execute=True),
        ):
            video = _upload("sources/confirmed")
        job = TranscodeJob.objects.get(pk=video.current_job_id)
        assert job.dispatch_state == DispatchState.SENT
        with Connection(guest_url(url)) as connection:
            assert _drain_task_ids(connection) == [str(job.id)]


def test_a_database_error_after_the_publish_keeps_the_job_pending(
    memory_broker, django_capture_on_commit_callbacks
):
    # A real database error at the worst moment: the message is out, and the
    # UPDATE that marks the row sent fails. The relay will send it again.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_sent() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'database blip'; END $$;"
            f" CREATE TRIGGER refuse_sent BEFORE UPDATE ON {TranscodeJob._meta.db_table}"
            " FOR EACH ROW WHEN (NEW.dispatch_state = 'sent') EXECUTE FUNCTION refuse_sent();"
        )
    with django_capture_on_commit_callbacks(execute=True):
        video = _upload("sources/blip")
    job = TranscodeJob.objects.get(pk=video.current_job_id)
    assert job.dispatch_state == DispatchState.PENDING
    assert _drain_task_ids(memory_broker) == [str(job.id)]  # at least once, not lost
