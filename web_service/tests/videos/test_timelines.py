"""The job's timeline, from states stored through the collector's own reply service."""

from __future__ import annotations

import itertools
import time
from datetime import datetime

import pytest
from django.utils import timezone

from jobs.messaging.reply_decoding import reply_decode
from jobs.models import TIMELINE_STARTED, TranscodeJob
from jobs.services.replies import reply_apply
from videos.timelines import job_timeline, result_encode_passes

from ..factories import success_result, video_with_job

pytestmark = pytest.mark.django_db

# Long enough that each bar is measurably longer than the next store takes.
STEP = 0.05


def _apply(job: TranscodeJob, status: str, result=None) -> None:
    reply_apply(
        reply=reply_decode(body={"task_id": str(job.id), "status": status, "result": result})
    )
    time.sleep(STEP)


def _attempt(job: TranscodeJob, *, host: str, pid: int, stages: list[str]) -> None:
    """The attempt's states: its STARTED, then two reports per stage."""
    started = {"pid": pid, "hostname": host}
    reply_apply(
        reply=reply_decode(body={"task_id": str(job.id), "status": "STARTED", "result": started})
    )
    time.sleep(STEP)
    for stage in stages:
        # Two reports per stage, as the worker sends while a stage runs.
        _apply(job, "PROGRESS", {"percent": 10, "stage": stage})
        _apply(job, "PROGRESS", {"percent": 20, "stage": stage})


def _succeed(job: TranscodeJob, *, timings=None) -> None:
    """SUCCESS with the worker's elapsed time: from its STARTED, to now.

    Counted from the STARTED as the collector stored it, on the collector's
    clock: a time the test took itself around storing it would be off by as
    long as that took, which under load is longer than a pause between reports.
    """
    job.refresh_from_db()
    started = [event for event in job.stage_events if event["stage"] == TIMELINE_STARTED][-1]
    elapsed = (timezone.now() - datetime.fromisoformat(started["at"])).total_seconds()
    result = {**success_result(job_id=str(job.id)), "elapsed_seconds": elapsed}
    if timings is not None:
        result["timings"] = timings
    _apply(job, "SUCCESS", result)


def _sent_job() -> TranscodeJob:
    _, job = video_with_job(sent_at=timezone.now())
    time.sleep(STEP)
    return job


def _assert_contiguous_over_the_span(job: TranscodeJob, bars) -> None:
    """One after the other from sent to stored, verify and upload apart, which run side by side."""
    side_by_side = [bar for bar in bars if bar.stage in ("verify", "upload")]
    if side_by_side:
        verify, upload = side_by_side
        assert verify.started_at == upload.started_at
        bars = [bar for bar in bars if bar is not min(side_by_side, key=lambda b: b.seconds)]
    for before, after in itertools.pairwise(bars):
        gap = (after.started_at - before.started_at).total_seconds() - before.seconds
        assert abs(gap) < 1e-6, (before, after)
    assert bars[0].started_at == job.sent_at
    span = (job.finished_at - job.sent_at).total_seconds()
    assert sum(bar.seconds for bar in bars) == pytest.approx(span, abs=1e-5)


def test_one_attempt_has_a_bar_per_stage_in_order_summing_to_the_span():
    job = _sent_job()
    stages = ["downloading", "probing", "transcoding", "uploading"]
    _attempt(job, host="worker-a", pid=11, stages=stages)
    # A result that breaks down none of the stages keeps the reported ones.
    _succeed(job, timings={"download": 0.01, "transcode": 0.1})
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
    _attempt(job, host="worker-b", pid=22, stages=["downloading", "transcoding", "uploading"])
    _succeed(job)
    job.refresh_from_db()

    bars = job_timeline(job=job)

    # The result's breakdown is the second attempt's: the first keeps its stages.
    assert [(bar.stage, bar.attempt, bar.host) for bar in bars] == [
        ("queued", 1, None),
        ("downloading", 1, "worker-a"),
        ("transcoding", 1, "worker-a"),
        ("queued", 2, None),
        ("downloading", 2, "worker-b"),
        ("encode:720p", 2, "worker-b"),
        ("verify", 2, "worker-b"),
        ("upload", 2, "worker-b"),
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


def _breakdown_job(timings) -> tuple[TranscodeJob, list]:
    """A one-attempt job whose SUCCESS has `timings`; its bars and the reported ones."""
    job = _sent_job()
    stages = ["downloading", "probing", "transcoding", "poster", "uploading"]
    _attempt(job, host="worker-a", pid=11, stages=stages)
    _succeed(job, timings=timings)
    job.refresh_from_db()
    reported = job_timeline(job=_without_breakdown(job))
    return job, reported


def _without_breakdown(job: TranscodeJob) -> TranscodeJob:
    # The same stored job, its result's timings emptied: the bars as reported.
    plain = TranscodeJob.objects.get(pk=job.pk)
    plain.result = {**job.result, "timings": {}}
    return plain


def _reported(reported, stage: str):
    (bar,) = [bar for bar in reported if bar.stage == stage]
    return bar


TIMINGS = {
    "download": 0.02,
    "probe": 0.05,
    "transcode": 4.2,
    # Stored as jsonb, which sorts keys shortest first: hls before 720p.
    "encode:1:720p": 1.0,
    "encode:2:hls": 3.0,
    "poster": 0.0,
    "verify": 0.06,
    "upload": 0.03,
}


def test_each_encode_pass_has_a_bar_in_the_order_it_ran_filling_the_transcoding_span():
    job, reported = _breakdown_job(TIMINGS)
    # What the collector stored has lost the order the worker sent.
    stored = list(job.result["timings"])
    assert stored.index("encode:2:hls") < stored.index("encode:1:720p")

    bars = job_timeline(job=job)

    assert [bar.stage for bar in bars] == [
        "queued",
        "downloading",
        "probing",
        "encode:720p",
        "encode:hls",
        "poster",
        "verify",
        "upload",
        "collected",
    ]
    first, second = bars[3], bars[4]
    assert [(first.host, first.attempt), (second.host, second.attempt)] == [("worker-a", 1)] * 2
    # The worker's 1:3, scaled to the transcoding stage's span on the collector's clock.
    transcoding = _reported(reported, "transcoding")
    assert first.started_at == transcoding.started_at
    assert first.seconds + second.seconds == pytest.approx(transcoding.seconds, abs=1e-5)
    assert second.seconds == pytest.approx(3 * first.seconds, rel=1e-3)
    _assert_contiguous_over_the_span(job, bars)


def test_verify_and_upload_start_together_and_the_longer_ends_the_stage():
    job, reported = _breakdown_job(TIMINGS)

    bars = job_timeline(job=job)

    verify, upload, collected = bars[-3:]
    uploading = _reported(reported, "uploading")
    assert (verify.stage, upload.stage) == ("verify", "upload")
    assert verify.started_at == upload.started_at == uploading.started_at
    assert verify.host == upload.host == "worker-a"
    # Verify took longest (0.06 against 0.03): it ends where the stage did.
    assert verify.seconds == pytest.approx(uploading.seconds, abs=1e-5)
    assert upload.seconds == pytest.approx(verify.seconds / 2, rel=1e-3)
    assert collected.stage == "collected"
    _assert_contiguous_over_the_span(job, bars)


def test_a_result_from_before_the_encode_timings_keeps_the_transcoding_bar():
    older = {key: value for key, value in TIMINGS.items() if not key.startswith("encode:")}
    job, _ = _breakdown_job(older)

    stages = [bar.stage for bar in job_timeline(job=job)]

    assert stages[3:] == ["transcoding", "poster", "verify", "upload", "collected"]


def test_timings_that_are_not_durations_break_nothing_down():
    broken = {
        "encode:1:720p": -1,
        "encode:2:hls": True,
        "encode:x:480p": 1.0,
        "encode:0:480p": 1.0,
        "verify": "soon",
        "upload": 0.03,
    }
    job, reported = _breakdown_job(broken)

    assert job_timeline(job=job) == reported
    assert result_encode_passes(result={"timings": {"encode:1:720p": float("nan")}}) == []
    assert result_encode_passes(result={"timings": ["encode:1:720p"]}) == []
    assert result_encode_passes(result=None) == []
