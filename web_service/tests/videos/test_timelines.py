"""The job's timeline, from states stored through the collector's own reply service."""

from __future__ import annotations

import itertools
import time

import pytest
from django.utils import timezone

from videos.messaging.reply_decoding import reply_decode
from videos.models import TranscodeJob
from videos.services.replies import reply_apply
from videos.timelines import job_timeline

from ..factories import success_result, video_with_job

pytestmark = pytest.mark.django_db

# Long enough that each bar is measurably longer than the next store takes.
STEP = 0.05


def _apply(job: TranscodeJob, status: str, result=None) -> None:
    reply_apply(
        reply=reply_decode(body={"task_id": str(job.id), "status": status, "result": result})
    )
    time.sleep(STEP)


def _attempt(job: TranscodeJob, *, host: str, pid: int, stages: list[str]) -> float:
    """The attempt's states; returns when (monotonic) the worker began, after its STARTED."""
    started = {"pid": pid, "hostname": host}
    reply_apply(
        reply=reply_decode(body={"task_id": str(job.id), "status": "STARTED", "result": started})
    )
    first_report = time.monotonic()
    time.sleep(STEP)
    for stage in stages:
        # Two reports per stage, as the worker sends while a stage runs.
        _apply(job, "PROGRESS", {"percent": 10, "stage": stage})
        _apply(job, "PROGRESS", {"percent": 20, "stage": stage})
    return first_report


def _succeed(job: TranscodeJob, *, first_report: float) -> None:
    """SUCCESS with the worker's own elapsed time, as the worker measures it."""
    elapsed = time.monotonic() - first_report
    _apply(job, "SUCCESS", {**success_result(job_id=str(job.id)), "elapsed_seconds": elapsed})


def _sent_job() -> TranscodeJob:
    _, job = video_with_job(sent_at=timezone.now())
    time.sleep(STEP)
    return job


def _assert_contiguous_over_the_span(job: TranscodeJob, bars) -> None:
    for before, after in itertools.pairwise(bars):
        gap = (after.started_at - before.started_at).total_seconds() - before.seconds
        assert abs(gap) < 1e-6, (before, after)
    assert bars[0].started_at == job.sent_at
    span = (job.finished_at - job.sent_at).total_seconds()
    assert sum(bar.seconds for bar in bars) == pytest.approx(span, abs=1e-5)


def test_one_attempt_has_a_bar_per_stage_in_order_summing_to_the_span():
    job = _sent_job()
    stages = ["downloading", "probing", "transcoding", "uploading"]
    first_report = _attempt(job, host="worker-a", pid=11, stages=stages)
    _succeed(job, first_report=first_report)
    job.refresh_from_db()

    bars = job_timeline(job=job)

    assert [bar.stage for bar in bars] == ["queued", *stages, "collected"]
    assert {bar.attempt for bar in bars} == {1}
    assert [bar.host for bar in bars] == [None, *["worker-a"] * len(stages), None]
    # Each bar spans at least the pauses between the states that bound it.
    assert bars[0].seconds >= STEP  # sent -> STARTED
    # Two reports per stage; the last one ends where the worker says it finished.
    assert all(bar.seconds >= 2 * STEP for bar in bars[1:-1])
    # From there to SUCCESS stored: the time the result took to be collected.
    assert 0 < bars[-1].seconds < STEP
    _assert_contiguous_over_the_span(job, bars)


def test_a_redelivered_job_shows_both_attempts_and_the_wait_between():
    job = _sent_job()
    _attempt(job, host="worker-a", pid=11, stages=["downloading", "transcoding"])
    # worker-a dies here; the broker delivers the job again to worker-b.
    first_report = _attempt(
        job, host="worker-b", pid=22, stages=["downloading", "transcoding", "uploading"]
    )
    _succeed(job, first_report=first_report)
    job.refresh_from_db()

    bars = job_timeline(job=job)

    assert [(bar.stage, bar.attempt, bar.host) for bar in bars] == [
        ("queued", 1, None),
        ("downloading", 1, "worker-a"),
        ("transcoding", 1, "worker-a"),
        ("queued", 2, None),
        ("downloading", 2, "worker-b"),
        ("transcoding", 2, "worker-b"),
        ("uploading", 2, "worker-b"),
        ("collected", 2, None),
    ]
    # The first attempt's last stage ends at its last report; the wait for
    # the redelivery runs from there to the second STARTED.
    assert bars[3].seconds >= STEP
    _assert_contiguous_over_the_span(job, bars)


def test_the_same_started_stored_twice_is_not_a_second_attempt():
    job = _sent_job()
    _attempt(job, host="worker-a", pid=11, stages=["downloading"])
    _apply(job, "STARTED", {"pid": 11, "hostname": "worker-a"})
    _apply(job, "PROGRESS", {"percent": 50, "stage": "transcoding"})
    job.refresh_from_db()

    bars = job_timeline(job=job)

    assert [(bar.stage, bar.attempt) for bar in bars] == [
        ("queued", 1),
        ("downloading", 1),
        ("transcoding", 1),
    ]


def test_a_failed_job_ends_with_the_failure_collected():
    job = _sent_job()
    _attempt(job, host="worker-a", pid=11, stages=["downloading", "probing"])
    failure = {"exc_type": "NotAVideo", "exc_message": ["The file is not a video."]}
    _apply(job, "FAILURE", failure)
    job.refresh_from_db()

    bars = job_timeline(job=job)

    assert [bar.stage for bar in bars] == ["queued", "downloading", "probing", "collected"]
    # No elapsed time in a failure: the worker's part ends at its last report.
    assert bars[-2].seconds >= STEP
    assert bars[-1].seconds >= STEP
    _assert_contiguous_over_the_span(job, bars)


def test_a_job_no_worker_has_reported_on_has_no_timeline():
    job = _sent_job()
    assert job_timeline(job=job) == []
