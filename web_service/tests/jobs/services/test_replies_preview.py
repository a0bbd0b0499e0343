"""The collector keeps the newest attempt's playable ladder (PROGRESS `preview`), never a forgery.

docs/messages.md: once every rung's first segment is stored, each PROGRESS
of that attempt carries {"master_key", "encoded_seconds", "duration"}. The
web later serves that attempt's objects from the store on the strength of
this key alone, so anything but this job's own master in an attempt folder
is ignored, with a log line.
"""

from __future__ import annotations

import logging

import pytest

from jobs.messaging.reply_decoding import reply_decode
from jobs.models import JobStatus, TranscodeJob
from jobs.services.replies import reply_apply

from ...factories import hls_result, progress_with_preview, video_with_job

pytestmark = pytest.mark.django_db

ATTEMPT_A = "9f2c4e1a7b3d5f60"
ATTEMPT_B = "0123456789abcdef"


def _apply(job: TranscodeJob, status: str, result=None) -> TranscodeJob:
    reply_apply(
        reply=reply_decode(body={"task_id": str(job.id), "status": status, "result": result})
    )
    job.refresh_from_db()
    return job


def _started(job: TranscodeJob, *, pid: int) -> TranscodeJob:
    return _apply(job, "STARTED", {"pid": pid, "hostname": f"worker-{pid}"})


def _preview(job: TranscodeJob) -> tuple[str, float | None, float | None]:
    return (job.preview_master_key, job.preview_encoded_seconds, job.preview_duration)


def _master(job: TranscodeJob, attempt: str) -> str:
    return f"outputs/{job.id}/{attempt}/hls/master.m3u8"


@pytest.fixture
def running_job() -> TranscodeJob:
    _, job = video_with_job()
    return _started(job, pid=1)


def test_a_valid_preview_is_stored_and_grows(running_job):
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=str(running_job.id)))
    assert _preview(job) == (_master(job, ATTEMPT_A), 4.0, 120.0)
    assert (job.status, job.progress) == (JobStatus.PROCESSING, 10)
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=str(job.id), encoded_seconds=12.5))
    assert _preview(job) == (_master(job, ATTEMPT_A), 12.5, 120.0)
    # Integers are numbers too (a whole number of seconds, JSON has one kind).
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=str(job.id), encoded_seconds=16))
    assert job.preview_encoded_seconds == 16.0


def test_a_progress_without_preview_keeps_it_and_the_encoded_edge_never_goes_back(running_job):
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id, encoded_seconds=8))
    # A requeued reply of the same attempt, stored after a newer one.
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, encoded_seconds=4))
    job = _apply(job, "PROGRESS", {"percent": 30, "stage": "transcoding"})
    assert _preview(job) == (_master(job, ATTEMPT_A), 8.0, 120.0)


def _forged(job_id: str) -> list:
    good = progress_with_preview(job_id=job_id)["preview"]
    other_job = "5d1f9a0c-2c7e-4f7b-8d55-0c1e2b3a4d5f"
    keys = [
        f"outputs/{other_job}/{ATTEMPT_B}/hls/master.m3u8",  # another job's
        f"sources/{job_id}/{ATTEMPT_B}/hls/master.m3u8",  # another prefix
        f"outputs/{job_id}/{ATTEMPT_B}/../{ATTEMPT_A}/hls/master.m3u8",
        f"outputs/{job_id}/../{other_job}/{ATTEMPT_B}/hls/master.m3u8",
        f"outputs/{job_id}/{ATTEMPT_B}/hls/720p/index.m3u8",  # not the master
        f"outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8/x",
        f"outputs/{job_id}/{ATTEMPT_B.upper()}/hls/master.m3u8",
        f"outputs/{job_id}/{ATTEMPT_B[:15]}/hls/master.m3u8",
        f"outputs/{job_id.upper()}/{ATTEMPT_B}/hls/master.m3u8",
        f"/outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8",
        f"https://evil.example/outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8",
        f"outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8\n",
        "",
        None,
        42,
        [f"outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8"],
    ]
    numbers = [1e300, 10**400, float("inf"), float("nan"), -1, -0.5, True, "4.0", None, [4]]
    mine = f"outputs/{job_id}/{ATTEMPT_B}/hls/master.m3u8"
    return [
        *({**good, "master_key": key} for key in keys),
        *({**good, "master_key": mine, "encoded_seconds": n} for n in numbers),
        *({**good, "master_key": mine, "duration": n} for n in numbers),
        {"master_key": mine, "duration": 120.0},  # a field missing
        {"master_key": mine, "encoded_seconds": 4.0},
        "a string",
        [mine, 4.0, 120.0],
    ]


def test_forged_previews_are_ignored_with_a_log_line(running_job, caplog):
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id))
    stored = _preview(job)
    forged = _forged(job_id)
    with caplog.at_level(logging.WARNING, logger="jobs.services.replies"):
        for preview in forged:
            job = _apply(
                job, "PROGRESS", {"percent": 50, "stage": "transcoding", "preview": preview}
            )
            assert _preview(job) == stored, preview
    ignored = [r for r in caplog.records if "PROGRESS preview ignored" in r.getMessage()]
    assert len(ignored) == len(forged)
    # The rest of the message still counts.
    assert job.progress == 50


def test_a_forged_preview_is_not_stored_on_a_job_without_one(running_job):
    job_id = str(running_job.id)
    for preview in _forged(job_id):
        job = _apply(
            running_job, "PROGRESS", {"percent": 5, "stage": "transcoding", "preview": preview}
        )
        assert _preview(job) == ("", None, None), preview


def test_a_redeliverys_started_clears_it_and_the_old_attempt_never_comes_back(running_job):
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id))
    # The same STARTED stored twice is not a new attempt.
    job = _started(job, pid=1)
    assert job.preview_master_key == _master(job, ATTEMPT_A)
    # A redelivery (another process) starts: nothing of attempt A is served.
    job = _started(job, pid=2)
    assert _preview(job) == ("", None, None)
    # A late PROGRESS of attempt A, stored after that STARTED, does not bring it back.
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, encoded_seconds=30))
    assert _preview(job) == ("", None, None)
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, attempt=ATTEMPT_B))
    assert _preview(job) == (_master(job, ATTEMPT_B), 4.0, 120.0)


def test_the_newest_attempt_wins_when_two_run_at_once(running_job):
    job_id = str(running_job.id)
    # B's STARTED came before A was playable: A is not retired by it.
    job = _started(running_job, pid=2)
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, encoded_seconds=8))
    assert job.preview_master_key == _master(job, ATTEMPT_A)
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, attempt=ATTEMPT_B))
    assert job.preview_master_key == _master(job, ATTEMPT_B)
    # A's next report does not flip the page back to A.
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, encoded_seconds=12))
    assert _preview(job) == (_master(job, ATTEMPT_B), 4.0, 120.0)


def test_a_retry_ends_the_attempt(running_job):
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id))
    job = _apply(job, "RETRY", {"exc_type": "StorageError", "exc_message": ["The store is away."]})
    assert (_preview(job), job.stage) == (("", None, None), "retrying")


def test_a_revoked_the_web_did_not_ask_for_ends_the_attempt_not_the_job(running_job):
    # Celery sends one by itself when a lost broker link stops a running job
    # and the RETRY saying so cannot be sent: the job is delivered again.
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id))
    job = _apply(job, "REVOKED", None)
    assert (job.status, job.stage, job.finished_at) == (JobStatus.PROCESSING, "retrying", None)
    assert _preview(job) == ("", None, None)
    job = _apply(job, "SUCCESS", hls_result(job_id=job_id))
    assert job.status == JobStatus.READY


@pytest.mark.parametrize(
    ("status", "result", "final"),
    [
        ("SUCCESS", "hls", JobStatus.READY),
        ("FAILURE", {"exc_type": "TranscodeFailed", "exc_message": ["x"]}, JobStatus.FAILED),
    ],
)
def test_a_final_state_clears_it_and_nothing_moves_it_back(running_job, status, result, final):
    job_id = str(running_job.id)
    job = _apply(running_job, "PROGRESS", progress_with_preview(job_id=job_id))
    job = _apply(job, status, hls_result(job_id=job_id) if result == "hls" else result)
    assert (job.status, _preview(job)) == (final, ("", None, None))
    job = _apply(job, "PROGRESS", progress_with_preview(job_id=job_id, attempt=ATTEMPT_B))
    assert (job.status, _preview(job)) == (final, ("", None, None))
